// What the server needs on top of the firmware's CoAP codec (host/lib.mjs), which it speaks through: the numbers
// and codec functions come from there, these are the server's own conveniences (UTF-8 text, option lists).
import { coap } from "../lib.mjs";

export { coap };
export const { Type, Code, Opt, ContentFormat, codeString, getOption, getOptions, uintValue, blockValue } = coap;

/** Options a server must understand; any other critical (odd-numbered) option makes a request unacceptable. */
export const KNOWN_OPTIONS = new Set(Object.values(coap.Opt).filter((v) => typeof v === "number"));

/** An option's unsigned value, or undefined when the message does not carry it (0 would be a value). */
export function uintOption(msg, number) {
  const v = coap.getOption(msg, number);
  return v === undefined ? undefined : coap.readUint(v);
}

/** A Block1/Block2 option value with the block size in bytes. */
export function readBlockSized(value) {
  const b = coap.readBlock(value);
  return { ...b, size: 1 << (b.szx + 4) };
}

const utf8 = new TextDecoder("utf-8", { fatal: false });
export const text = (bytes) => utf8.decode(bytes);
export const bytes = (s) => new Uint8Array(Buffer.from(s, "utf8"));

/** Options sorted by number, stable for repeated options, as the codec expects. */
export function sortOptions(list) {
  return list.map((o, i) => [o, i]).sort((a, b) => a[0].number - b[0].number || a[1] - b[1]).map(([o]) => o);
}

export function tokenHex(token) {
  return Buffer.from(token).toString("hex");
}
