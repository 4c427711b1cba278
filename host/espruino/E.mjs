// Espruino's `E` object on Node: the parts that do not depend on a simulated device (the simulator adds boot code,
// memory figures and events on top).
import crypto from "node:crypto";

/** CRC-32 (IEEE 802.3, reflected, as Espruino's E.CRC32 computes it). */
export function crc32(bytes) {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    crc ^= bytes[i];
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function asBytes(data) {
  if (typeof data === "string") return Uint8Array.from(data, (c) => c.charCodeAt(0) & 255);
  // Checked by tag, not instanceof: a simulated device's values come from another realm.
  if (Object.prototype.toString.call(data) === "[object ArrayBuffer]") return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (Array.isArray(data)) return Uint8Array.from(data, (v) => v & 255);
  throw new TypeError("E: expected a string, array or typed array");
}

/** `realm` supplies the Uint8Array constructor results are made with (a simulated device passes its own). */
export function createE(realm = globalThis) {
  return {
    /** Bytes to an 8-bit string (each byte one char 0-255). */
    toString: (...args) => {
      const parts = args.map(asBytes);
      return parts.map((b) => Buffer.from(b).toString("latin1")).join("");
    },
    toUint8Array: (...args) => {
      const parts = args.map(asBytes);
      const out = new realm.Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    },
    hwRand: () => crypto.randomBytes(4).readInt32LE(0),
    CRC32: (data) => crc32(asBytes(data)),
  };
}

/** Puts `E` on Node's global object for code (such as dist/lib bundles) that expects Espruino's globals. */
export function installE() {
  if (!globalThis.E) globalThis.E = createE();
  return globalThis.E;
}
