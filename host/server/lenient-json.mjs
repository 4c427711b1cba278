// A JSON reader with the leniency of Gson's JsonParser.parseString, which ThingsBoard uses for device payloads:
// unquoted and single-quoted names and strings, "=" or "=>" between name and value, ";" between elements,
// #, // and /* */ comments, empty array elements read as null. Anything after the first value is an error.
// The result is a tree that keeps each number's source text, because ThingsBoard types a value by how it was
// written ("25" vs "25.0").
//
// The tree: {t:"obj", entries: Map<string, tree>} | {t:"arr", items: tree[]} | {t:"str", v} | {t:"num", raw}
//        | {t:"bool", v} | {t:"null"}

export class JsonSyntaxError extends Error {}

const MAX_DEPTH = 255;
const LITERAL_END = new Set(["/", "\\", ";", "#", "=", "{", "}", "[", "]", ":", ",", " ", "\t", "\f", "\r", "\n"]);
const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

/** Parses `text` into the tree described above; throws JsonSyntaxError naming the line and column. */
export function parseLenient(text) {
  const reader = new LenientReader(text);
  const root = reader.value(0);
  if (reader.skipBlank() !== undefined) reader.fail("Did not consume the entire document");
  return root;
}

class LenientReader {
  constructor(text) {
    this.text = text;
    this.pos = 0;
  }

  fail(what) {
    const before = this.text.slice(0, this.pos);
    const line = before.split("\n").length;
    throw new JsonSyntaxError(`${what} at line ${line} column ${this.pos - before.lastIndexOf("\n")}`);
  }

  skipBlank() {
    for (;;) {
      const c = this.text[this.pos];
      if (c === " " || c === "\t" || c === "\n" || c === "\r") this.pos++;
      else if (c === "#" || (c === "/" && this.text[this.pos + 1] === "/")) {
        while (this.pos < this.text.length && this.text[this.pos] !== "\n" && this.text[this.pos] !== "\r") this.pos++;
      } else if (c === "/" && this.text[this.pos + 1] === "*") {
        const end = this.text.indexOf("*/", this.pos + 2);
        if (end < 0) this.fail("Unterminated comment");
        this.pos = end + 2;
      } else return this.pos < this.text.length ? c : undefined;
    }
  }

  quoted(q) {
    this.pos++;
    let out = "";
    for (;;) {
      if (this.pos >= this.text.length) this.fail("Unterminated string");
      const c = this.text[this.pos++];
      if (c === q) return out;
      if (c !== "\\") { out += c; continue; }
      if (this.pos >= this.text.length) this.fail("Unterminated escape sequence");
      const e = this.text[this.pos++];
      if (e === "u") {
        const hex = this.text.slice(this.pos, this.pos + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("Malformed Unicode escape");
        out += String.fromCharCode(parseInt(hex, 16));
        this.pos += 4;
      } else if (e in ESCAPES) out += ESCAPES[e];
      else this.fail("Invalid escape sequence");
    }
  }

  unquoted() {
    const start = this.pos;
    while (this.pos < this.text.length && !LITERAL_END.has(this.text[this.pos])) this.pos++;
    return this.text.slice(start, this.pos);
  }

  literalValue() {
    const word = this.unquoted();
    if (word === "") this.fail("Expected value");
    const lower = word.toLowerCase();
    const caseOk = word === lower || word === word.toUpperCase();
    if (caseOk && (lower === "true" || lower === "false")) return { t: "bool", v: lower === "true" };
    if (caseOk && lower === "null") return { t: "null" };
    if (NUMBER.test(word)) return { t: "num", raw: word };
    return { t: "str", v: word };
  }

  value(depth) {
    const c = this.skipBlank();
    if (c === undefined) this.fail("End of input");
    if (c === "{" || c === "[") {
      if (depth >= MAX_DEPTH) this.fail("Nesting too deep");
      this.pos++;
      return c === "{" ? this.object(depth + 1) : this.array(depth + 1);
    }
    if (c === '"' || c === "'") return { t: "str", v: this.quoted(c) };
    return this.literalValue();
  }

  object(depth) {
    const entries = new Map();
    if (this.skipBlank() === "}") { this.pos++; return { t: "obj", entries }; }
    for (;;) {
      const c = this.skipBlank();
      let name;
      if (c === '"' || c === "'") name = this.quoted(c);
      else {
        name = this.unquoted();
        if (name === "") this.fail("Expected name");
      }
      const sep = this.skipBlank();
      if (sep === ":") this.pos++;
      else if (sep === "=") { this.pos++; if (this.text[this.pos] === ">") this.pos++; }
      else this.fail("Expected ':'");
      entries.set(name, this.value(depth));
      const next = this.skipBlank();
      this.pos++;
      if (next === "}") return { t: "obj", entries };
      if (next !== "," && next !== ";") { this.pos--; this.fail("Unterminated object"); }
    }
  }

  array(depth) {
    const items = [];
    if (this.skipBlank() === "]") { this.pos++; return { t: "arr", items }; }
    for (;;) {
      const c = this.skipBlank();
      if (c === "," || c === ";" || c === "]") items.push({ t: "null" });
      else items.push(this.value(depth));
      const next = this.skipBlank();
      this.pos++;
      if (next === "]") return { t: "arr", items };
      if (next !== "," && next !== ";") { this.pos--; this.fail("Unterminated array"); }
    }
  }
}

const ESCAPES = { t: "\t", b: "\b", n: "\n", r: "\r", f: "\f", "\n": "\n", "'": "'", '"': '"', "\\": "\\", "/": "/" };

/** Compact JSON text of a tree, numbers exactly as written. */
export function treeToJson(n) {
  switch (n.t) {
    case "obj": return "{" + [...n.entries].map(([k, v]) => JSON.stringify(k) + ":" + treeToJson(v)).join(",") + "}";
    case "arr": return "[" + n.items.map(treeToJson).join(",") + "]";
    case "str": return JSON.stringify(n.v);
    case "num": return n.raw;
    case "bool": return String(n.v);
    default: return "null";
  }
}

/** Plain JavaScript value of a tree (numbers as JS numbers), for the HTTP side. */
export function treeToValue(n) {
  switch (n.t) {
    case "obj": return Object.fromEntries([...n.entries].map(([k, v]) => [k, treeToValue(v)]));
    case "arr": return n.items.map(treeToValue);
    case "num": return Number(n.raw);
    case "null": return null;
    default: return n.v;
  }
}
