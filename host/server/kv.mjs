// ThingsBoard's typing of device-sent values (JsonConverter): how a JSON value becomes a stored key-value entry,
// and how stored entries are written back as JSON the way Gson writes them.
//
// Entry: {key, type: "BOOLEAN"|"LONG"|"DOUBLE"|"STRING"|"JSON", value}. LONG values are decimal strings so that
// 64-bit integers survive; JSON values are compact JSON text.

import { treeToJson } from "./lenient-json.mjs";

/** The payload is wrong in a way ThingsBoard reports as 4.00 Bad Request (its AdaptorException). */
export class PayloadError extends Error {}

/** What ThingsBoard's runtime exceptions become: 5.00 on the token path. */
export class ProcessingError extends Error {}

const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;
const DECIMAL = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$/;

/** java.math.BigDecimal essentials: unscaled value and scale. */
function bigDecimal(text) {
  const m = DECIMAL.exec(text);
  if (!m || (m[2] === "" && (m[3] ?? "") === "")) throw new ProcessingError(`Character array is missing "exponent" mark 'e' or 'E' in "${text}"`);
  const frac = m[3] ?? "";
  return { unscaled: BigInt(m[1] + (m[2] + frac || "0")), scale: frac.length - Number(m[4] ?? 0) };
}

function strippedScale({ unscaled, scale }) {
  if (unscaled === 0n) return 0;
  const digits = (unscaled < 0n ? -unscaled : unscaled).toString();
  return scale - (digits.length - digits.replace(/0+$/, "").length);
}

/** commons-lang3 NumberUtils.isParsable: optional "-", digits with at most one ".", not ending in ".". */
function isParsable(s) {
  return /^-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/.test(s) && !s.endsWith(".");
}

function numericEntry(key, text, typeCast) {
  const bd = bigDecimal(text);
  const simpleDouble = text.includes(".") && !/[eE]/.test(text);
  if (strippedScale(bd) <= 0 && !simpleDouble) {
    const v = bd.scale <= 0 ? bd.unscaled * 10n ** BigInt(-bd.scale) : bd.unscaled / 10n ** BigInt(bd.scale);
    if (v >= LONG_MIN && v <= LONG_MAX) return { key, type: "LONG", value: v.toString() };
    if (typeCast) return { key, type: "STRING", value: v.toString() };
    throw new PayloadError("Big integer values are not supported!");
  }
  if (bd.scale <= 16) return { key, type: "DOUBLE", value: Number(text) };
  if (typeCast) return { key, type: "STRING", value: plainString(bd) };
  throw new PayloadError("Big integer values are not supported!");
}

function plainString({ unscaled, scale }) {
  const neg = unscaled < 0n;
  let digits = (neg ? -unscaled : unscaled).toString();
  if (scale <= 0) return (neg ? "-" : "") + digits + "0".repeat(-scale);
  digits = digits.padStart(scale + 1, "0");
  return (neg ? "-" : "") + digits.slice(0, -scale) + "." + digits.slice(-scale);
}

/**
 * Entries of a JSON object node, ThingsBoard's parseValues: nulls skipped, objects/arrays kept as JSON,
 * numeric strings typed as numbers when type casting is on.
 */
export function entriesOf(objectNode, { typeCast = true, maxStringValueLength = 0 } = {}) {
  const out = [];
  for (const [key, node] of objectNode.entries) {
    switch (node.t) {
      case "null": break;
      case "bool": out.push({ key, type: "BOOLEAN", value: node.v }); break;
      case "num": out.push(numericEntry(key, node.raw, typeCast)); break;
      case "obj": case "arr": out.push({ key, type: "JSON", value: treeToJson(node) }); break;
      case "str":
        if (maxStringValueLength > 0 && node.v.length > maxStringValueLength) {
          throw new PayloadError(`String value length [${node.v.length}] for key [${key}] is greater than maximum allowed [${maxStringValueLength}]`);
        }
        if (typeCast && isParsable(node.v)) {
          try { out.push(numericEntry(key, node.v, typeCast)); } catch { out.push({ key, type: "STRING", value: node.v }); }
        } else out.push({ key, type: "STRING", value: node.v });
        break;
    }
  }
  return out;
}

/** Gson's JsonElement.getAsLong on the node that holds "ts". */
function asLong(node) {
  if (node.t === "num") {
    const bd = bigDecimal(node.raw);
    const v = bd.scale <= 0 ? bd.unscaled * 10n ** BigInt(-bd.scale) : bd.unscaled / 10n ** BigInt(bd.scale);
    return Number(BigInt.asIntN(64, v));
  }
  if (node.t === "str" && /^[+-]?[0-9]+$/.test(node.v)) {
    const v = BigInt(node.v);
    if (v >= LONG_MIN && v <= LONG_MAX) return Number(v);
  }
  throw new ProcessingError(`ts is not a number: ${treeToJson(node)}`);
}

/**
 * Telemetry payload -> [{ts, entries}]: an object (server time unless it has both "ts" and "values"), or an
 * array of such objects.
 */
export function telemetryOf(root, now, opts) {
  const objects = root.t === "arr" ? root.items : [root];
  if (root.t !== "arr" && root.t !== "obj") throw new PayloadError("Can't parse value: " + treeToJson(root));
  return objects.map((o) => {
    if (o.t !== "obj") throw new PayloadError("Can't parse value: " + treeToJson(o));
    if (o.entries.has("ts") && o.entries.has("values")) {
      const ts = asLong(o.entries.get("ts"));
      const values = o.entries.get("values");
      if (values.t !== "obj") throw new PayloadError("Not a JSON Object: " + treeToJson(values));
      return { ts, entries: entriesOf(values, opts) };
    }
    return { ts: now, entries: entriesOf(o, opts) };
  });
}

/** Java's Double.toString, which Gson uses for double values. */
export function javaDouble(d) {
  if (Number.isNaN(d)) return "NaN";
  if (!Number.isFinite(d)) return d > 0 ? "Infinity" : "-Infinity";
  const a = Math.abs(d);
  if (d === 0 || (a >= 1e-3 && a < 1e7)) {
    const s = String(d);
    return s.includes(".") ? s : s + ".0";
  }
  const [mant, exp] = d.toExponential().split("e");
  return (mant.includes(".") ? mant : mant + ".0") + "E" + Number(exp);
}

/** JSON text of one stored value as ThingsBoard sends it to a device. */
export function entryJson(e) {
  switch (e.type) {
    case "BOOLEAN": return e.value ? "true" : "false";
    case "LONG": return e.value;
    case "DOUBLE": return javaDouble(e.value);
    case "STRING": return JSON.stringify(e.value);
    default: return e.value;
  }
}

/** {"k":v,...} from entries, in order, as device-facing JSON text. */
export function entriesJson(entries) {
  return "{" + entries.map((e) => JSON.stringify(e.key) + ":" + entryJson(e)).join(",") + "}";
}

/** The entry's value for the HTTP API: typed (strict) or, as ThingsBoard's REST API does by default, a string. */
export function entryValue(e, strict) {
  if (!strict) return e.type === "STRING" || e.type === "JSON" ? e.value : e.type === "DOUBLE" ? javaDouble(e.value) : String(e.value);
  switch (e.type) {
    case "LONG": { const n = Number(e.value); return Number.isSafeInteger(n) ? n : e.value; }
    case "JSON": return JSON.parse(e.value);
    default: return e.value;
  }
}
