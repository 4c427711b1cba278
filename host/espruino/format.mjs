// How Espruino prints values: console.log/print arguments and the REPL's "=value" line (jsfPrintJSON with
// JSON_PRETTY; the REPL also drops quotes around keys that are identifiers). Output is one line per value.

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const MAX_DEPTH = 8;

function quote(s) {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c === 10) out += "\\n";
    else if (c === 13) out += "\\r";
    else if (c === 9) out += "\\t";
    else if (c < 32 || (c >= 0x7f && c < 0x100)) out += "\\x" + c.toString(16).padStart(2, "0");
    else if (c >= 0x100) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += s[i];
  }
  return out + '"';
}

function tag(v) {
  return Object.prototype.toString.call(v).slice(8, -1);
}

function isErrorLike(v) {
  return tag(v) === "Error" || (v && typeof v.toString === "function" && typeof v.message === "string" && v.stack !== undefined);
}

export function formatValue(v, { dropQuotes = false } = {}, depth = 0, seen = new Set()) {
  if (v === undefined) return "undefined";
  if (v === null) return "null";
  const t = typeof v;
  if (t === "string") return quote(v);
  if (t === "number" || t === "boolean") return String(v);
  if (t === "function") return v.toString();
  if (t !== "object") return String(v);
  if (seen.has(v) || depth > MAX_DEPTH) return "...";
  if (typeof v.getMode === "function" && typeof v.toString === "function" && /^D\d+$/.test(v.toString())) return v.toString();
  if (isErrorLike(v)) return v.toString();
  seen.add(v);
  try {
    const k = tag(v);
    if (ArrayBuffer.isView(v)) return `new ${k}([${Array.prototype.join.call(v, ", ")}])`;
    if (k === "ArrayBuffer") return `new Uint8Array([${Array.prototype.join.call(new Uint8Array(v), ", ")}]).buffer`;
    if (Array.isArray(v)) {
      if (!v.length) return "[ ]";
      return "[ " + v.map((x) => formatValue(x, { dropQuotes }, depth + 1, seen)).join(", ") + " ]";
    }
    if (k === "Date") return v.toString();
    const keys = Object.keys(v);
    if (!keys.length) return "{ }";
    const parts = keys.map((key) => `${dropQuotes && IDENT.test(key) ? key : quote(key)}: ${formatValue(v[key], { dropQuotes }, depth + 1, seen)}`);
    return "{ " + parts.join(", ") + " }";
  } finally {
    seen.delete(v);
  }
}

/** console.log / print: strings as they are, anything else formatted, joined by spaces. */
export function formatArgs(args) {
  return args.map((a) => (typeof a === "string" ? a : formatValue(a))).join(" ");
}

/** The REPL's result line without its leading "=". */
export function formatResult(v) {
  return formatValue(v, { dropQuotes: true });
}
