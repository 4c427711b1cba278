// Approximate JsVar accounting for E.getSizeOf() and process.memory(). Espruino stores every value, property name
// and ~12-character piece of a string in one fixed-size JsVar block; this counts blocks the same way for what the
// simulator can see. It cannot see closure variables, so it under-counts state kept inside closures.

const CHARS_PER_BLOCK = 12;
/** Blocks the interpreter itself uses after boot (root, built-in objects, the input line), roughly. */
export const BASE_USAGE = 130;

function stringBlocks(length) {
  return 1 + Math.ceil(Math.max(0, length - 4) / CHARS_PER_BLOCK);
}

/** Blocks used by `value`, following objects `depth` levels deep (all levels if undefined). */
export function jsVarsOf(value, depth = Infinity, seen = new Set()) {
  if (value === null || value === undefined) return 1;
  const t = typeof value;
  if (t === "string") return stringBlocks(value.length);
  if (t !== "object" && t !== "function") return 1;
  if (seen.has(value)) return 0;
  seen.add(value);
  let n = 1;
  if (t === "function") n += stringBlocks(Function.prototype.toString.call(value).length);
  if (ArrayBuffer.isView(value)) return n + 1 + Math.ceil(value.byteLength / CHARS_PER_BLOCK);
  if (Object.prototype.toString.call(value) === "[object ArrayBuffer]") return n + Math.ceil(value.byteLength / CHARS_PER_BLOCK);
  let keys;
  try {
    keys = Object.keys(value);
  } catch {
    return n;
  }
  for (const k of keys) {
    n += 1;
    if (depth > 0) {
      let v;
      try {
        v = value[k];
      } catch {
        continue;
      }
      n += jsVarsOf(v, depth - 1, seen);
    }
  }
  return n;
}

/** Blocks in use: the interpreter's base, every global the firmware added, and code typed or uploaded to RAM. */
export function estimateUsage(context, builtinGlobals, ramCodeBytes = 0) {
  const seen = new Set();
  let n = BASE_USAGE + Math.ceil(ramCodeBytes / CHARS_PER_BLOCK);
  for (const name of Object.getOwnPropertyNames(context)) {
    if (builtinGlobals.has(name)) continue;
    n += 1 + jsVarsOf(context[name], Infinity, seen);
  }
  return n;
}
