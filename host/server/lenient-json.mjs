// A JSON reader with the leniency of Gson's JsonParser.parseString, which ThingsBoard uses for device payloads:
// unquoted and single-quoted names and strings, "=" or "=>" between name and value, ";" between elements,
// #, // and /* */ comments, empty array elements read as null. Anything after the first value is an error.
// The result is a tree that keeps each number's source text, because ThingsBoard types a value by how it was
// written ("25" vs "25.0").
//
// Nodes: {t:"obj", entries: Map<string, node>} | {t:"arr", items: node[]} | {t:"str", v} | {t:"num", raw}
//        | {t:"bool", v} | {t:"null"}

export class JsonSyntaxError extends Error {}

const MAX_DEPTH = 255;
const LITERAL_END = new Set(["/", "\\", ";", "#", "=", "{", "}", "[", "]", ":", ",", " ", "\t", "\f", "\r", "\n"]);
const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

export function parseLenient(text) {
  let pos = 0;
  const fail = (what) => {
    const before = text.slice(0, pos);
    const line = before.split("\n").length;
    throw new JsonSyntaxError(`${what} at line ${line} column ${pos - before.lastIndexOf("\n")}`);
  };

  function skipBlank() {
    for (;;) {
      const c = text[pos];
      if (c === " " || c === "\t" || c === "\n" || c === "\r") pos++;
      else if (c === "#" || (c === "/" && text[pos + 1] === "/")) {
        while (pos < text.length && text[pos] !== "\n" && text[pos] !== "\r") pos++;
      } else if (c === "/" && text[pos + 1] === "*") {
        const end = text.indexOf("*/", pos + 2);
        if (end < 0) fail("Unterminated comment");
        pos = end + 2;
      } else return pos < text.length ? c : undefined;
    }
  }

  function quoted(q) {
    pos++;
    let out = "";
    for (;;) {
      if (pos >= text.length) fail("Unterminated string");
      const c = text[pos++];
      if (c === q) return out;
      if (c !== "\\") { out += c; continue; }
      if (pos >= text.length) fail("Unterminated escape sequence");
      const e = text[pos++];
      if (e === "u") {
        const hex = text.slice(pos, pos + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("Malformed Unicode escape");
        out += String.fromCharCode(parseInt(hex, 16));
        pos += 4;
      } else if (e in ESCAPES) out += ESCAPES[e];
      else fail("Invalid escape sequence");
    }
  }

  function unquoted() {
    const start = pos;
    while (pos < text.length && !LITERAL_END.has(text[pos])) pos++;
    return text.slice(start, pos);
  }

  function literalValue() {
    const word = unquoted();
    if (word === "") fail("Expected value");
    const lower = word.toLowerCase();
    const caseOk = word === lower || word === word.toUpperCase();
    if (caseOk && (lower === "true" || lower === "false")) return { t: "bool", v: lower === "true" };
    if (caseOk && lower === "null") return { t: "null" };
    if (NUMBER.test(word)) return { t: "num", raw: word };
    return { t: "str", v: word };
  }

  function value(depth) {
    const c = skipBlank();
    if (c === undefined) fail("End of input");
    if (c === "{" || c === "[") {
      if (depth >= MAX_DEPTH) fail("Nesting too deep");
      pos++;
      return c === "{" ? object(depth + 1) : array(depth + 1);
    }
    if (c === '"' || c === "'") return { t: "str", v: quoted(c) };
    return literalValue();
  }

  function object(depth) {
    const entries = new Map();
    if (skipBlank() === "}") { pos++; return { t: "obj", entries }; }
    for (;;) {
      const c = skipBlank();
      let name;
      if (c === '"' || c === "'") name = quoted(c);
      else {
        name = unquoted();
        if (name === "") fail("Expected name");
      }
      const sep = skipBlank();
      if (sep === ":") pos++;
      else if (sep === "=") { pos++; if (text[pos] === ">") pos++; }
      else fail("Expected ':'");
      entries.set(name, value(depth));
      const next = skipBlank();
      pos++;
      if (next === "}") return { t: "obj", entries };
      if (next !== "," && next !== ";") { pos--; fail("Unterminated object"); }
    }
  }

  function array(depth) {
    const items = [];
    if (skipBlank() === "]") { pos++; return { t: "arr", items }; }
    for (;;) {
      const c = skipBlank();
      if (c === "," || c === ";" || c === "]") items.push({ t: "null" });
      else items.push(value(depth));
      const next = skipBlank();
      pos++;
      if (next === "]") return { t: "arr", items };
      if (next !== "," && next !== ";") { pos--; fail("Unterminated array"); }
    }
  }

  const root = value(0);
  if (skipBlank() !== undefined) fail("Did not consume the entire document");
  return root;
}

const ESCAPES = { t: "\t", b: "\b", n: "\n", r: "\r", f: "\f", "\n": "\n", "'": "'", '"': '"', "\\": "\\", "/": "/" };

/** Compact JSON text of a node, numbers exactly as written. */
export function nodeToJson(n) {
  switch (n.t) {
    case "obj": return "{" + [...n.entries].map(([k, v]) => JSON.stringify(k) + ":" + nodeToJson(v)).join(",") + "}";
    case "arr": return "[" + n.items.map(nodeToJson).join(",") + "]";
    case "str": return JSON.stringify(n.v);
    case "num": return n.raw;
    case "bool": return String(n.v);
    default: return "null";
  }
}

/** Plain JavaScript value of a node (numbers as JS numbers), for the HTTP side. */
export function nodeToValue(n) {
  switch (n.t) {
    case "obj": return Object.fromEntries([...n.entries].map(([k, v]) => [k, nodeToValue(v)]));
    case "arr": return n.items.map(nodeToValue);
    case "num": return Number(n.raw);
    case "null": return null;
    default: return n.v;
  }
}
