// The node's configuration lives in Storage (file CONFIG_FILE), written by `npm run configure` or the simulator,
// never in the bundle. It is validated at boot; a problem is reported naming the field, and secret values
// (token, provisioning secret, Wi-Fi password) are never echoed.

import { parseUri, CoapUri } from "../coap/uri";
import { CoapError } from "../coap/message";

export const CONFIG_FILE = "node.cfg";

export interface ProvisionConfig {
  key: string;
  secret: string;
  deviceName?: string;
}

export interface NodeConfig {
  /** coap://host[:port] or coaps://host[:port] */
  server: string;
  /** ThingsBoard access token; absent when the node provisions itself or uses an X.509 client certificate. */
  token?: string;
  provision?: ProvisionConfig;
  /** Storage file names holding PEM text. */
  ca?: string;
  cert?: string;
  key?: string;
  /** Skip server-certificate verification (coaps only); warned about at every connection. */
  insecure: boolean;
  wifi?: { ssid: string; password?: string };
  /** Seconds between readings. */
  intervalS: number;
  /** Deep-sleep between readings instead of staying awake. */
  sleep: boolean;
  /** Readings kept in flash while the server cannot be reached; the oldest go first. */
  queueMax: number;
  /** Send the node's own timestamps ({"ts","values"}) so a reading sent twice is stored once. */
  clientTs: boolean;
  /** Boots a new firmware may take to come up and report before the previous one is restored. */
  otaMaxTrials: number;
}

export interface ConfigResult {
  config?: NodeConfig;
  /** Every problem found, each naming its field. */
  errors: string[];
}

function isString(v: any): boolean {
  return typeof v === "string" && v.length > 0;
}

/** 1-128 printable ASCII characters, no "/" (the token is one Uri-Path segment). */
function isTokenText(v: any): boolean {
  if (!isString(v) || v.length > 128) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === 0x2f) return false;
  }
  return true;
}

function kind(v: any): string {
  return v === null ? "null" : Array.isArray(v) ? "a list" : typeof v;
}

/** Validates a parsed configuration object. Secret fields are described, never quoted. */
export function validateConfig(raw: any): ConfigResult {
  const errors: string[] = [];
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return { errors: ["configuration must be a JSON object"] };
  }
  const known = ["server", "token", "provision", "ca", "cert", "key", "insecure", "wifi", "intervalS", "sleep",
    "queueMax", "clientTs", "otaMaxTrials"];
  for (const k in raw) {
    if (known.indexOf(k) < 0) errors.push('"' + k + '" is not a configuration field');
  }
  const server = raw.server;
  // The parser the node connects with checks the URI too, so what passes here is what the node can use.
  let uri: CoapUri | undefined;
  let why = "";
  try {
    if (isString(server)) uri = parseUri(server);
  } catch (e) {
    why = (e as CoapError).message;
  }
  if (/bad port$/.test(why)) errors.push('"server" has a port outside 1-65535');
  else if (!uri) {
    errors.push('"server" must be a coap:// or coaps:// URI such as coaps://thingsboard.example.com (got ' +
      (isString(server) ? JSON.stringify(server) + (/bad host$/.test(why) ? ", not a host name or IP address" : "") : kind(server)) + ")");
  } else if (uri.options.length) {
    errors.push('"server" must be just coap[s]://host[:port]: ThingsBoard\'s paths are fixed (got a path or query in ' + JSON.stringify(server) + ")");
  }
  const secure = isString(server) && server.indexOf("coaps://") === 0;
  if (raw.token !== undefined && !isTokenText(raw.token)) {
    errors.push('"token" must be 1-128 printable characters without "/" or spaces (value not shown)');
  }
  const p = raw.provision;
  if (p !== undefined) {
    if (p === null || typeof p !== "object") errors.push('"provision" must be an object with "key" and "secret"');
    else {
      if (!isString(p.key)) errors.push('"provision.key" must be the provisioning key of the device profile');
      if (!isString(p.secret)) errors.push('"provision.secret" must be the provisioning secret (value not shown)');
      if (p.deviceName !== undefined && !isString(p.deviceName)) errors.push('"provision.deviceName" must be a non-empty string');
    }
  }
  if (raw.token === undefined && p === undefined && !(secure && raw.cert !== undefined)) {
    errors.push('one of "token", "provision" or (with coaps) "cert" and "key" is needed to identify the device');
  }
  const files = ["ca", "cert", "key"];
  for (let i = 0; i < files.length; i++) {
    const f = raw[files[i]];
    if (f !== undefined && (!isString(f) || f.length > 28)) {
      errors.push('"' + files[i] + '" must be the name of a Storage file (at most 28 characters) holding PEM text');
    }
  }
  if ((raw.cert === undefined) !== (raw.key === undefined)) errors.push('"cert" and "key" must be given together');
  if (!secure && (raw.ca !== undefined || raw.cert !== undefined || raw.insecure !== undefined)) {
    errors.push('"ca", "cert", "key" and "insecure" need a coaps:// server');
  }
  if (raw.insecure !== undefined && typeof raw.insecure !== "boolean") errors.push('"insecure" must be true or false');
  if (secure && raw.ca === undefined && raw.insecure !== true) {
    errors.push('"ca" is needed for a coaps:// server: the CA certificate that signed the server\'s certificate ' +
      '(or set "insecure": true to skip verification, which is unsafe)');
  }
  const w = raw.wifi;
  if (w !== undefined && (w === null || typeof w !== "object" || Array.isArray(w))) {
    errors.push('"wifi" must be {"ssid": "1-32 characters", "password": "8-63 characters, or none for an open network"}');
  } else if (w !== undefined) {
    if (!isString(w.ssid) || w.ssid.length > 32) errors.push('"wifi.ssid" must be 1-32 characters (bytes of UTF-8)');
    const pw = w.password;
    if (pw !== undefined && (typeof pw !== "string" || (pw.length > 0 && (pw.length < 8 || pw.length > 63)))) {
      errors.push('"wifi.password" must be 8-63 characters (WPA2), or empty or left out for an open network (value not shown)');
    }
  }
  const numbers: [string, number, number, number][] = [["intervalS", 5, 86400, 60], ["queueMax", 1, 5000, 200],
    ["otaMaxTrials", 1, 10, 3]];
  const out: any = {};
  for (let i = 0; i < numbers.length; i++) {
    const n = numbers[i];
    const v = raw[n[0]];
    if (v === undefined) out[n[0]] = n[3];
    else if (typeof v !== "number" || v !== Math.floor(v) || v < n[1] || v > n[2]) {
      errors.push('"' + n[0] + '" must be a whole number from ' + n[1] + " to " + n[2] + " (got " + JSON.stringify(v) + ")");
    } else out[n[0]] = v;
  }
  const flags = ["sleep", "clientTs"];
  for (let i = 0; i < flags.length; i++) {
    const v = raw[flags[i]];
    if (v !== undefined && typeof v !== "boolean") errors.push('"' + flags[i] + '" must be true or false');
    out[flags[i]] = v === true || (v === undefined && flags[i] === "clientTs");
  }
  if (errors.length) return { errors: errors };
  out.server = server;
  out.insecure = raw.insecure === true;
  const optional = ["token", "provision", "ca", "cert", "key", "wifi"];
  for (let i = 0; i < optional.length; i++) if (raw[optional[i]] !== undefined) out[optional[i]] = raw[optional[i]];
  return { config: out as NodeConfig, errors: [] };
}

/** Reads and validates the configuration from Storage. */
export function loadConfig(storage: StorageModule): ConfigResult {
  const text = storage.read(CONFIG_FILE);
  if (text === undefined) {
    return { errors: ["no configuration: Storage file \"" + CONFIG_FILE + "\" is missing (write it with npm run configure)"] };
  }
  let raw: any;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { errors: ["configuration in \"" + CONFIG_FILE + "\" is not valid JSON"] };
  }
  return validateConfig(raw);
}
