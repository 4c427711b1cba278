// The local server's HTTP API, as the page uses it: JSON in and out, the server's own error message on failure.

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

/**
 * @param {string} method
 * @param {string} path
 * @param {{ json?: unknown, body?: BodyInit, contentType?: string }} [options]
 */
async function call(method, path, { json = undefined, body = undefined, contentType = undefined } = {}) {
  /** @type {Record<string, string>} */
  const headers = {};
  if (json !== undefined) { body = JSON.stringify(json); headers["content-type"] = "application/json"; }
  else if (contentType) headers["content-type"] = contentType;
  const res = await fetch(path, { method, headers, body });
  const text = await res.text();
  let data;
  try { data = text ? JSON.parse(text) : undefined; } catch { data = text; }
  if (!res.ok) throw new ApiError(res.status, (data && data.message) || `${method} ${path}: HTTP ${res.status}`);
  return data;
}

export const get = (path) => call("GET", path);
export const post = (path, json) => call("POST", path, { json });
export const del = (path) => call("DELETE", path);
export const upload = (path, file) => call("POST", path, { body: file, contentType: "application/octet-stream" });

const T = (id) => `/api/plugins/telemetry/DEVICE/${encodeURIComponent(id)}`;
export const SCOPES = ["CLIENT_SCOPE", "SHARED_SCOPE", "SERVER_SCOPE"];

export const devices = () => get("/api/tenant/devices?pageSize=1000&page=0").then((p) => p.data);
export const device = (id) => get(`/api/device/${encodeURIComponent(id)}`);
export const credentials = (id) => get(`/api/device/${encodeURIComponent(id)}/credentials`);
export const attributes = (id, scope) => get(`${T(id)}/values/attributes/${scope}`);
export const telemetryKeys = (id) => get(`${T(id)}/keys/timeseries`);
export const latestTelemetry = (id) => get(`${T(id)}/values/timeseries?useStrictDataTypes=true`);
/** Up to `limit` newest points per key, oldest first; device timestamps may be ahead of the server's clock. */
export async function history(id, keys, limit = 2000) {
  if (keys.length === 0) return {};
  const q = new URLSearchParams({ keys: keys.join(","), startTs: "0", endTs: String(Number.MAX_SAFE_INTEGER), limit: String(limit), orderBy: "DESC", useStrictDataTypes: "true" });
  const out = await get(`${T(id)}/values/timeseries?${q}`);
  for (const k of Object.keys(out)) out[k].reverse();
  return out;
}
/** `valueText` is sent as written when it is JSON (5 stays a whole number, 5.0 a double), else as a string. */
export function saveShared(id, key, valueText) {
  let value;
  try { JSON.parse(valueText); value = valueText; } catch { value = JSON.stringify(valueText); }
  return call("POST", `${T(id)}/SHARED_SCOPE`, { body: `{${JSON.stringify(key)}:${value}}`, contentType: "application/json" });
}
export const deleteShared = (id, key) => del(`${T(id)}/SHARED_SCOPE?keys=${encodeURIComponent(key)}`);
export const rpc = (id, { method, params, timeoutMs, oneway }) =>
  post(`/api/plugins/rpc/${oneway ? "oneway" : "twoway"}/${encodeURIComponent(id)}`, { method, params, timeout: timeoutMs });
export const exchanges = (id) => get(`/api/coap/exchanges?deviceId=${encodeURIComponent(id)}`);

/** Creates a firmware package, uploads the file into it and assigns it to the device. */
export async function pushFirmware(id, { file, title, version }) {
  const pkg = await post("/api/otaPackage", { title, version, type: "FIRMWARE" });
  const info = await upload(`/api/otaPackage/${pkg.id.id}?checksumAlgorithm=SHA256&fileName=${encodeURIComponent(file.name)}`, file);
  const d = await device(id);
  await post("/api/device", { ...d, firmwareId: pkg.id });
  return info;
}
