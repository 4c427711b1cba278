// Espruino's `crypto` module on Node: digests of 8-bit strings (or typed arrays) returned as ArrayBuffers of the
// firmware's own realm, as on the board. SHA384/SHA512 exist on ESP32 builds (USE_SHA512).
import nodeCrypto from "node:crypto";

function bytesOf(data) {
  if (typeof data === "string") return Buffer.from(data, "latin1");
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer || (data && data.constructor && data.constructor.name === "ArrayBuffer")) return Buffer.from(new Uint8Array(data));
  return Buffer.from(String(data), "latin1");
}

export function createCryptoModule(realm = globalThis) {
  const digest = (algo) => (data) => {
    const d = nodeCrypto.createHash(algo).update(bytesOf(data)).digest();
    const out = new realm.ArrayBuffer(d.length);
    new realm.Uint8Array(out).set(d);
    return out;
  };
  return Object.assign(new realm.Object(), {
    SHA1: digest("sha1"),
    SHA224: digest("sha224"),
    SHA256: digest("sha256"),
    SHA384: digest("sha384"),
    SHA512: digest("sha512"),
  });
}
