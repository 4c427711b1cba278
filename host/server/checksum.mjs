// OTA package checksums written the way ThingsBoard writes fw_checksum: lower-case hex; CRC32 and MURMUR3_32 as
// the little-endian bytes of the 32-bit value (Guava's HashCode.fromInt).

import { createHash } from "node:crypto";
import zlib from "node:zlib";

function leHex(u32) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(u32 >>> 0);
  return b.toString("hex");
}

/** MurmurHash3 x86 32-bit, seed 0. */
function murmur3_32(data) {
  const c1 = 0xcc9e2d51, c2 = 0x1b873593;
  let h = 0;
  const n = data.length - (data.length % 4);
  for (let i = 0; i < n; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    k = Math.imul(k, c1); k = (k << 15) | (k >>> 17); k = Math.imul(k, c2);
    h ^= k; h = (h << 13) | (h >>> 19); h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  switch (data.length & 3) {
    case 3: k ^= data[n + 2] << 16; // falls through
    case 2: k ^= data[n + 1] << 8; // falls through
    case 1: k ^= data[n]; k = Math.imul(k, c1); k = (k << 15) | (k >>> 17); k = Math.imul(k, c2); h ^= k;
  }
  h ^= data.length;
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16;
  return h >>> 0;
}

const ALGORITHMS = {
  MD5: (d) => createHash("md5").update(d).digest("hex"),
  SHA256: (d) => createHash("sha256").update(d).digest("hex"),
  SHA384: (d) => createHash("sha384").update(d).digest("hex"),
  SHA512: (d) => createHash("sha512").update(d).digest("hex"),
  CRC32: (d) => leHex(zlib.crc32(d)),
  MURMUR3_32: (d) => leHex(murmur3_32(d)),
};

export const CHECKSUM_ALGORITHMS = Object.keys(ALGORITHMS);

export function checksum(algorithm, data) {
  const f = ALGORITHMS[algorithm];
  if (!f) throw new Error(`unsupported checksum algorithm "${algorithm}" (use one of ${CHECKSUM_ALGORITHMS.join(", ")})`);
  return f(data);
}
