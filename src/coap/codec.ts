// The CoAP wire format (RFC 7252 section 3) on byte arrays, and helpers for option values. Decoded tokens, option
// values and payloads are views into the datagram (no copies): keep the datagram unchanged while they are in use.
import { CoapError, CoapMessage, CoapOption } from "./message";

/**
 * The only thing decodeMessage throws. A plain class because `extends Error` is broken on Espruino. `reason` is one
 * of: truncated-header, bad-version, token-length, empty-with-data, reserved-nibble, truncated-option,
 * bad-option-number, empty-payload; the message names it and the byte offset where the datagram stopped making sense.
 */
export class CoapDecodeError {
  message: string;
  constructor(public reason: string, at: number) {
    this.message = "malformed CoAP message: " + reason + " at byte " + at;
  }
}

export const EMPTY = new Uint8Array(0);

/** A message with ID 0 (the sender numbers it) and, unless given, no token, options or payload. */
export function createMessage(type: number, code: number, token?: Uint8Array, options?: CoapOption[], payload?: Uint8Array): CoapMessage {
  return { type: type, code: code, messageId: 0, token: token || EMPTY, options: options || [], payload: payload || EMPTY };
}

function need(ok: any, reason: string, at: number) {
  if (!ok) throw new CoapDecodeError(reason, at);
}

export function decodeMessage(b: Uint8Array): CoapMessage {
  const n = b.length;
  const tkl = b[0] & 15;
  let i = 4 + tkl;
  let number = 0;
  let payload = EMPTY;
  const options: CoapOption[] = [];
  need(n > 3, "truncated-header", n);
  need(b[0] >> 6 == 1, "bad-version", 0);
  need(tkl < 9, "token-length", 0);
  need(b[1] || n == 4, "empty-with-data", 4);
  need(i <= n, "truncated-header", n);
  // An extended delta or length: nibble 13 adds one byte (+13), 14 adds two (+269), 15 is reserved.
  const extended = (v: number): number => {
    need(v < 15, "reserved-nibble", i - 1);
    need(v < 13 || i + v - 12 <= n, "truncated-option", n);
    return v < 13 ? v : v < 14 ? b[i++] + 13 : ((b[i++] << 8) | b[i++]) + 269;
  };
  while (i < n) {
    const h = b[i++];
    if (h == 255) {
      need(i < n, "empty-payload", i);
      payload = b.subarray(i);
      break;
    }
    number += extended(h >> 4);
    const len = extended(h & 15);
    need(number < 65536, "bad-option-number", i);
    need(i + len <= n, "truncated-option", n);
    options.push({ number: number, value: b.subarray(i, (i += len)) });
  }
  return { type: (b[0] >> 4) & 3, code: b[1], messageId: (b[2] << 8) | b[3], token: b.subarray(4, 4 + tkl), options: options, payload: payload };
}

/**
 * Throws CoapError "bad-message" for what the wire cannot carry: options out of order, a 9-byte token, ... The
 * bytes are a view of a buffer sized for the longest option headers.
 */
export function encodeMessage(m: CoapMessage): Uint8Array {
  const token = m.token || EMPTY;
  const options = m.options || [];
  const payload = m.payload || EMPTY;
  let bad = token.length > 8 || m.type > 3 || m.code > 255;
  let size = 5 + token.length + payload.length;
  for (let k = 0; k < options.length; k++) size += 5 + options[k].value.length;
  const b = new Uint8Array(size);
  let i = 4 + token.length;
  let last = 0;
  /** Writes the extension bytes of a delta or length and returns its nibble. */
  const extended = (v: number): number => {
    if (v < 13) return v;
    if (v < 269) {
      b[i++] = v - 13;
      return 13;
    }
    b[i++] = (v - 269) >> 8;
    b[i++] = v - 269;
    return 14;
  };
  b[0] = 64 | (m.type << 4) | token.length;
  b[1] = m.code;
  b[2] = m.messageId >> 8;
  b[3] = m.messageId;
  b.set(token, 4);
  for (let k = 0; k < options.length; k++) {
    const o = options[k];
    const len = o.value.length;
    const at = i++;
    bad = bad || o.number < last || o.number > 65535 || len > 65804;
    b[at] = extended(o.number - last) << 4;
    b[at] |= extended(len);
    b.set(o.value, i);
    i += len;
    last = o.number;
  }
  if (bad) throw new CoapError("bad-message", "cannot encode: bad token, type or code, or options out of order or too long");
  if (payload.length) {
    b[i++] = 255;
    b.set(payload, i);
  }
  return b.subarray(0, i + payload.length);
}

/** What option values may be given as: bytes, an 8-bit string (see stringValue) or an unsigned integer. */
export type OptionValue = Uint8Array | string | number;

/** The shortest big-endian form of an unsigned integer (0 is the empty value), as RFC 7252 section 3.2 wants. */
export function uintValue(n: number): Uint8Array {
  if (!(n >= 0 && n <= 0xffffffff && n === Math.floor(n))) throw new CoapError("bad-value", "option value " + n + " is not a whole number from 0 to 2^32-1");
  const b = new Uint8Array(n > 0xffffff ? 4 : n > 0xffff ? 3 : n > 0xff ? 2 : n > 0 ? 1 : 0);
  for (let i = b.length; i--; n = Math.floor(n / 256)) b[i] = n;
  return b;
}

/** The unsigned integer in `b`; 0 for an empty or absent value (`readUint(getOption(m, n))`). */
export function readUint(b?: Uint8Array): number {
  let v = 0;
  for (let i = 0; b && i < b.length; i++) v = v * 256 + b[i];
  return v;
}

/**
 * A string as option bytes, one byte per character (code & 255). Strings on the ESP32 build of Espruino are 8-bit,
 * so UTF-8 text in the source is already its bytes there; on Node pass ASCII, or UTF-8 encoded as 8-bit characters.
 */
export function stringValue(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

/** Bytes as an 8-bit string: the inverse of stringValue. An absent value reads as "". */
export function readString(b?: Uint8Array): string {
  let s = "";
  for (let i = 0; b && i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

export function optionBytes(v: OptionValue): Uint8Array {
  return typeof v == "number" ? uintValue(v) : typeof v == "string" ? stringValue(v) : v;
}

/** The first value of option `number`, or undefined. */
export function getOption(m: CoapMessage, number: number): Uint8Array | undefined {
  for (let k = 0; k < m.options.length; k++) if (m.options[k].number == number) return m.options[k].value;
  return undefined;
}

export function getOptions(m: CoapMessage, number: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let k = 0; k < m.options.length; k++) if (m.options[k].number == number) out.push(m.options[k].value);
  return out;
}

/** Adds one option after those with a number up to `number`, keeping the order the encoder needs. */
export function addOption(m: CoapMessage, number: number, value: OptionValue): CoapMessage {
  let k = m.options.length;
  while (k && m.options[k - 1].number > number) k--;
  m.options.splice(k, 0, { number: number, value: optionBytes(value) });
  return m;
}

/** Replaces every option `number` by one with `value`, or removes them when `value` is undefined. */
export function setOption(m: CoapMessage, number: number, value?: OptionValue): CoapMessage {
  m.options = m.options.filter((o) => o.number != number);
  return value === undefined ? m : addOption(m, number, value);
}

/**
 * A Block1/Block2 value (RFC 7959 section 2.2): block number, more flag and size exponent (size = 2^(szx+4)).
 * @firmwareOnly
 */
export interface Block {
  num: number;
  more: boolean;
  szx: number;
}

export function blockValue(b: Block): Uint8Array {
  return uintValue(b.num * 16 + (b.more ? 8 : 0) + b.szx);
}

export function readBlock(bytes?: Uint8Array): Block {
  const v = readUint(bytes);
  return { num: Math.floor(v / 16), more: (v & 8) > 0, szx: v & 7 };
}
