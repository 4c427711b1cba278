// Firmware checksums as ThingsBoard announces them in fw_checksum / fw_checksum_algorithm. ThingsBoard prints
// hashes with Guava's HashCode.toString(), which writes the hash's bytes in order - so a CRC32 appears as its four
// bytes little-endian ("2639f4cb" for 0xCBF43926).

function hex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
  return s;
}

export function crc32Hex(data: string): string {
  const c = E.CRC32(data) >>> 0;
  return hex(new Uint8Array([c & 255, (c >>> 8) & 255, (c >>> 16) & 255, c >>> 24]));
}

/**
 * Checks `data` (an 8-bit string) against the announced checksum. Returns null when it matches, otherwise the
 * reason in words, suitable for fw_error.
 */
export function verifyChecksum(crypto: CryptoModule, data: string, algorithm: string, expected: string): string | null {
  const algo = ("" + algorithm).toUpperCase();
  let actual: string;
  if (algo === "CRC32") actual = crc32Hex(data);
  else if (algo === "SHA256") actual = hex(new Uint8Array(crypto.SHA256(data)));
  else if (algo === "SHA384" && crypto.SHA384) actual = hex(new Uint8Array(crypto.SHA384(data)));
  else if (algo === "SHA512" && crypto.SHA512) actual = hex(new Uint8Array(crypto.SHA512(data)));
  else return "checksum algorithm " + algorithm + " is not supported by this node (use SHA256 or CRC32)";
  return actual === ("" + expected).toLowerCase() ? null : "checksum mismatch: " + algo + " of the download is " + actual +
    ", expected " + expected;
}
