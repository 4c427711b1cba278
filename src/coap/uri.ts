// coap:// and coaps:// URIs to and from Uri-Host, Uri-Port, Uri-Path and Uri-Query options (RFC 7252 section 6).
// Percent-escapes decode to single bytes: option strings are 8-bit here (see stringValue in codec.ts).
import { CoapError, CoapOption, Opt } from "./message";
import { readString, readUint, stringValue, uintValue } from "./codec";

export interface CoapUri {
  secure: boolean;
  host: string;
  port: number;
  /** The path and query as Uri-Path and Uri-Query options, percent-decoded. */
  options: CoapOption[];
}

function badUri(uri: string, why: string): never {
  throw new CoapError("bad-uri", "bad CoAP URI \"" + uri + "\": " + why);
}

function unescape(s: string, uri: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charAt(i);
    if (c != "%") out += c;
    else {
      const hex = s.substr(i + 1, 2);
      if (!/^[0-9a-fA-F][0-9a-fA-F]$/.test(hex)) badUri(uri, "bad percent-escape");
      out += String.fromCharCode(parseInt(hex, 16));
      i += 2;
    }
  }
  return out;
}

/**
 * Uri-Path and Uri-Query options for "/a/b?c=1&d" (the leading slash is optional; "/" alone has no path). `uri` is
 * what an error names, when `ref` is part of a longer URI.
 */
export function pathOptions(ref: string, uri?: string): CoapOption[] {
  const q = ref.indexOf("?");
  let path = q < 0 ? ref : ref.slice(0, q);
  const out: CoapOption[] = [];
  const add = (number: number, parts: string[]) => {
    for (let i = 0; i < parts.length; i++) out.push({ number: number, value: stringValue(unescape(parts[i], uri || ref)) });
  };
  if (path.charAt(0) == "/") path = path.slice(1);
  if (path) add(Opt.URI_PATH, path.split("/"));
  if (q >= 0) add(Opt.URI_QUERY, ref.slice(q + 1).split("&"));
  return out;
}

function isIpv4(h: string): boolean {
  const parts = h.split(".");
  if (parts.length != 4) return false;
  for (let i = 0; i < 4; i++) if (!/^[0-9]+$/.test(parts[i]) || parts[i].length > 3 || +parts[i] > 255) return false;
  return true;
}

/** Eight groups of 1-4 hex digits, one "::" standing for the missing ones, an IPv4 address as the last two. */
function isIpv6(h: string): boolean {
  const halves = h.split("::");
  if (halves.length > 2) return false;
  let groups = 0;
  for (let k = 0; k < halves.length; k++) {
    if (!halves[k]) continue;
    const parts = halves[k].split(":");
    for (let i = 0; i < parts.length; i++) {
      const last = k == halves.length - 1 && i == parts.length - 1;
      if (last && isIpv4(parts[i])) groups += 2;
      else if (/^[0-9a-fA-F]+$/.test(parts[i]) && parts[i].length <= 4) groups++;
      else return false;
    }
  }
  return halves.length == 2 ? groups < 8 : groups == 8;
}

/** A DNS name: dot-separated labels of 1-63 letters, digits and inner hyphens, 253 characters at most. */
function isHostName(h: string): boolean {
  if (h.length > 253 || /^[0-9.]+$/.test(h)) return false;
  const labels = h.split(".");
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!/^[A-Za-z0-9-]+$/.test(l) || l.length > 63 || l.charAt(0) == "-" || l.charAt(l.length - 1) == "-") return false;
  }
  return true;
}

/** Splits a coap:// or coaps:// URI; throws CoapError "bad-uri" for anything else (fragments included). */
export function parseUri(uri: string): CoapUri {
  const lower = uri.toLowerCase();
  const secure = lower.indexOf("coaps://") == 0;
  if (!secure && lower.indexOf("coap://") != 0) badUri(uri, "scheme must be coap or coaps");
  if (uri.indexOf("#") >= 0) badUri(uri, "fragments are not allowed");
  const rest = uri.slice(secure ? 8 : 7);
  let end = rest.length;
  for (let i = rest.length; i--; ) if (rest.charAt(i) == "/" || rest.charAt(i) == "?") end = i;
  const authority = rest.slice(0, end);
  const close = authority.lastIndexOf("]");
  const colon = authority.lastIndexOf(":");
  const hasPort = colon > close && (close >= 0 || authority.indexOf(":") == colon);
  let host = hasPort ? authority.slice(0, colon) : authority;
  const portText = hasPort ? authority.slice(colon + 1) : "";
  const bracketed = host.charAt(0) == "[";
  if (bracketed) {
    if (close != host.length - 1) badUri(uri, "unclosed [");
    host = host.slice(1, -1);
  }
  host = unescape(host, uri).toLowerCase();
  const port = portText ? parseInt(portText, 10) : secure ? 5684 : 5683;
  if (!host) badUri(uri, "no host");
  if (bracketed ? !isIpv6(host) : !isIpv4(host) && !isHostName(host)) badUri(uri, "bad host");
  if (!/^[0-9]*$/.test(portText) || port < 1 || port > 65535) badUri(uri, "bad port");
  return { secure: secure, host: host, port: port, options: pathOptions(rest.slice(end), uri) };
}

function isIpLiteral(host: string): boolean {
  return host.indexOf(":") >= 0 || /^[0-9.]+$/.test(host);
}

/**
 * All request options for a URI: Uri-Host unless the host is an IP literal, Uri-Port unless it is the scheme's
 * default, then Uri-Path and Uri-Query (RFC 7252 section 6.4).
 */
export function uriOptions(uri: string): CoapOption[] {
  const u = parseUri(uri);
  const out: CoapOption[] = [];
  if (!isIpLiteral(u.host)) out.push({ number: Opt.URI_HOST, value: stringValue(u.host) });
  if (u.port != (u.secure ? 5684 : 5683)) out.push({ number: Opt.URI_PORT, value: uintValue(u.port) });
  return out.concat(u.options);
}

function escape(s: string, keep: RegExp): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charAt(i);
    const v = s.charCodeAt(i) & 255;
    out += keep.test(c) ? c : "%" + (v < 16 ? "0" : "") + v.toString(16).toUpperCase();
  }
  return out;
}

/**
 * The URI that options describe (RFC 7252 section 6.5). `host` and `port` are the destination, used when the
 * options have no Uri-Host or Uri-Port.
 */
export function formatUri(options: CoapOption[], secure: boolean, host: string, port: number): string {
  let path = "";
  let query = "";
  for (let k = 0; k < options.length; k++) {
    const o = options[k];
    const s = readString(o.value);
    if (o.number == Opt.URI_HOST) host = s;
    else if (o.number == Opt.URI_PORT) port = readUint(o.value);
    else if (o.number == Opt.URI_PATH) path += "/" + escape(s, /[A-Za-z0-9._~!$&'()*+,;=:@-]/);
    else if (o.number == Opt.URI_QUERY) query += (query ? "&" : "?") + escape(s, /[A-Za-z0-9._~!$'()*+,;=:@\/?-]/);
  }
  const h = host.indexOf(":") >= 0 ? "[" + host + "]" : escape(host, /[A-Za-z0-9._~!$&'()*+,;=-]/);
  return "coap" + (secure ? "s" : "") + "://" + h + (port == (secure ? 5684 : 5683) ? "" : ":" + port) + (path || "/") + query;
}
