// CoAP wire vocabulary the server needs on top of the project's codec (dist/lib/coap.cjs, built from
// src/lib/coap.ts, so the server speaks through the same codec the firmware uses).

import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const codecPath = fileURLToPath(new URL("../../dist/lib/coap.cjs", import.meta.url));

function loadCodec() {
  if (!existsSync(codecPath)) throw new Error(`the CoAP codec bundle ${codecPath} is missing: run "npm run build" first`);
  return createRequire(import.meta.url)(codecPath);
}

export const codec = loadCodec();

export const T = { CON: 0, NON: 1, ACK: 2, RST: 3 };
export const TYPE_NAMES = ["CON", "NON", "ACK", "RST"];

export const C = {
  EMPTY: 0x00, GET: 0x01, POST: 0x02, PUT: 0x03, DELETE: 0x04,
  CREATED: 0x41, DELETED: 0x42, VALID: 0x43, CHANGED: 0x44, CONTENT: 0x45, CONTINUE: 0x5f,
  BAD_REQUEST: 0x80, UNAUTHORIZED: 0x81, BAD_OPTION: 0x82, NOT_FOUND: 0x84, METHOD_NOT_ALLOWED: 0x85,
  REQUEST_ENTITY_INCOMPLETE: 0x88, REQUEST_ENTITY_TOO_LARGE: 0x8d, INTERNAL_SERVER_ERROR: 0xa0,
};

export const O = {
  IF_MATCH: 1, URI_HOST: 3, ETAG: 4, IF_NONE_MATCH: 5, OBSERVE: 6, URI_PORT: 7, LOCATION_PATH: 8,
  URI_PATH: 11, CONTENT_FORMAT: 12, MAX_AGE: 14, URI_QUERY: 15, ACCEPT: 17, LOCATION_QUERY: 20,
  BLOCK2: 23, BLOCK1: 27, SIZE2: 28, PROXY_URI: 35, PROXY_SCHEME: 39, SIZE1: 60, NO_RESPONSE: 258,
};

/** Options a server must understand; any other critical (odd-numbered) option makes a request unacceptable. */
export const KNOWN_OPTIONS = new Set(Object.values(O));

export const CF = { TEXT: 0, LINK_FORMAT: 40, OCTET: 42, JSON: 50 };

export function codeName(code) {
  return `${code >> 5}.${String(code & 31).padStart(2, "0")}`;
}

export function readUint(bytes) {
  let v = 0;
  for (const b of bytes) v = v * 256 + b;
  return v;
}

export function uintBytes(v) {
  const out = [];
  while (v > 0) { out.unshift(v & 255); v = Math.floor(v / 256); }
  return Uint8Array.from(out);
}

export function option(msg, number) {
  return msg.options.find((o) => o.number === number)?.value;
}

export function options(msg, number) {
  return msg.options.filter((o) => o.number === number).map((o) => o.value);
}

export function uintOption(msg, number) {
  const v = option(msg, number);
  return v === undefined ? undefined : readUint(v);
}

/** Block1/Block2 option value -> {num, more, szx, size}. */
export function decodeBlock(value) {
  const v = readUint(value);
  const szx = v & 7;
  return { num: Math.floor(v / 16), more: (v & 8) !== 0, szx, size: 1 << (szx + 4) };
}

export function blockBytes(num, more, szx) {
  const v = num * 16 + (more ? 8 : 0) + szx;
  return v === 0 ? new Uint8Array([0]) : uintBytes(v);
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
