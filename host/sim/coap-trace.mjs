// One-line summaries of datagrams for the simulator's output: CoAP ("CON POST /api/v1/<token>/telemetry mid=7") and
// DTLS records ("DTLS ClientHello", "DTLS application data"). Only headers are read; anything else is its size.
import { coapHead } from "../engine/io-watch.mjs";
import { coap } from "../lib.mjs";

const { Type, Opt } = coap;
const METHODS = ["EMPTY", "GET", "POST", "PUT", "DELETE", "FETCH", "PATCH", "iPATCH"];

const DTLS_CONTENT = { 20: "ChangeCipherSpec", 21: "alert", 22: "handshake", 23: "application data", 25: "application data (CID)" };
const DTLS_HANDSHAKE = { 1: "ClientHello", 2: "ServerHello", 3: "HelloVerifyRequest", 4: "NewSessionTicket", 11: "Certificate",
  12: "ServerKeyExchange", 13: "CertificateRequest", 14: "ServerHelloDone", 15: "CertificateVerify", 16: "ClientKeyExchange",
  20: "Finished" };

/** "DTLS ClientHello", "DTLS Certificate+ServerKeyExchange+ServerHelloDone", or null if these are not DTLS records. */
export function describeDtls(bytes) {
  const parts = [];
  let at = 0;
  while (at + 13 <= bytes.length) {
    const type = bytes[at];
    if (!DTLS_CONTENT[type] || bytes[at + 1] !== 0xfe) return null;
    const epoch = (bytes[at + 3] << 8) | bytes[at + 4];
    // An RFC 9146 record carries the Connection ID before its length; its size is the peer's choice, so take the one
    // that makes the record end where the datagram does.
    let cid = 0;
    if (type === 25) {
      while (cid <= 32 && at + 13 + cid + ((bytes[at + 11 + cid] << 8) | bytes[at + 12 + cid]) !== bytes.length) cid++;
      if (cid > 32) return null;
    }
    const len = (bytes[at + 11 + cid] << 8) | bytes[at + 12 + cid];
    if (at + 13 + cid + len > bytes.length) return null;
    if (type === 22 && epoch === 0 && len > 0) parts.push(DTLS_HANDSHAKE[bytes[at + 13]] || `handshake ${bytes[at + 13]}`);
    else if (type === 22) parts.push("encrypted handshake");
    else parts.push(DTLS_CONTENT[type]);
    at += 13 + cid + len;
  }
  return at === bytes.length && parts.length ? `DTLS ${parts.join("+")} (${bytes.length} B)` : null;
}

/** A datagram as CoAP, DTLS or its size. */
export function describeDatagram(bytes, options) {
  return describeDtls(bytes) || describeCoap(bytes, options);
}

export function describeCoap(bytes, { secrets = [] } = {}) {
  if (!coapHead(bytes)) return `${bytes.length} B`;
  const type = Type[(bytes[0] >> 4) & 3];
  const tkl = bytes[0] & 15;
  const code = bytes[1];
  const mid = (bytes[2] << 8) | bytes[3];
  const cls = code >> 5;
  const codeText = cls === 0 ? METHODS[code & 31] || `0.${String(code & 31).padStart(2, "0")}` : `${cls}.${String(code & 31).padStart(2, "0")}`;
  const path = [];
  const query = [];
  let observe = null;
  let i = 4 + tkl;
  let number = 0;
  while (i < bytes.length && bytes[i] !== 0xff) {
    let delta = bytes[i] >> 4;
    let len = bytes[i] & 15;
    i++;
    if (delta === 13) delta = 13 + bytes[i++];
    else if (delta === 14) delta = 269 + ((bytes[i++] << 8) | bytes[i++]);
    if (len === 13) len = 13 + bytes[i++];
    else if (len === 14) len = 269 + ((bytes[i++] << 8) | bytes[i++]);
    number += delta;
    const value = Buffer.from(bytes.subarray(i, i + len)).toString("latin1");
    if (number === Opt.URI_PATH) path.push(value);
    if (number === Opt.URI_QUERY) query.push(value);
    if (number === Opt.OBSERVE) observe = [...value].reduce((n, c) => n * 256 + c.charCodeAt(0), 0);
    i += len;
  }
  const payload = i < bytes.length ? bytes.length - i - 1 : 0;
  const hide = (s) => (secrets.includes(s) ? "<token>" : s);
  const uri = path.length ? " /" + path.map(hide).join("/") + (query.length ? "?" + query.join("&") : "") : "";
  const obs = observe === null ? "" : ` observe=${observe}`;
  return `${type} ${codeText}${uri} mid=${mid}${obs}${payload ? ` payload ${payload} B` : ""}`;
}
