// The HTTP API on 127.0.0.1 for people, the simulator, tests and the dashboard, shaped after ThingsBoard's REST API
// (paths, bodies and JSON shapes) where that costs nothing. No authentication: it only listens on the loopback
// address, and it answers only requests addressed to a loopback name from no other origin, so that a web page
// elsewhere can neither reach it by DNS rebinding nor make the browser send it a request (CSRF).

import http from "node:http";
import { parseLenient, JsonSyntaxError } from "./lenient-json.mjs";
import { entriesOf, entryValue, PayloadError } from "./kv.mjs";
import { SCOPES } from "./core.mjs";
import { newAccessToken, certificateId } from "./db.mjs";
import { checksum, CHECKSUM_ALGORITHMS } from "./checksum.mjs";
import { serveDashboard } from "./dashboard.mjs";

const MAX_JSON_BODY = 1024 * 1024;
const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/i;
const MAX_PACKAGE = 256 * 1024 * 1024;

class HttpError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

const ref = (entityType, id) => (id ? { entityType, id } : null);
const idOf = (v) => (typeof v === "string" ? v : v?.id ?? null);

function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const parts = [];
    let size = 0;
    req.on("data", (c) => {
      size += c.length;
      if (size > limit) { reject(new HttpError(413, `body over ${limit} bytes`)); req.destroy(); return; }
      parts.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(parts)));
    req.on("error", reject);
  });
}

async function jsonBody(req) {
  const raw = await readBody(req, MAX_JSON_BODY);
  if (raw.length === 0) throw new HttpError(400, "request body is empty; JSON expected");
  try { return JSON.parse(raw.toString("utf8")); } catch (e) { throw new HttpError(400, `invalid JSON: ${e.message}`); }
}

/** The "file" part of a multipart/form-data body (what `curl -F file=@fw.bin` sends). */
function multipartFile(body, contentType) {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  if (!m) throw new HttpError(400, "multipart body without boundary");
  const delimiter = Buffer.from("\r\n--" + (m[1] ?? m[2]));
  const data = Buffer.concat([Buffer.from("\r\n"), body]);
  let at = data.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length + 2;
    const next = data.indexOf(delimiter, start);
    if (next < 0) break;
    const headerEnd = data.indexOf("\r\n\r\n", start);
    if (headerEnd > 0 && headerEnd < next) {
      const headers = data.subarray(start, headerEnd).toString("utf8");
      if (/name="file"/i.test(headers)) {
        return {
          data: data.subarray(headerEnd + 4, next),
          fileName: /filename="([^"]*)"/i.exec(headers)?.[1] ?? null,
          contentType: /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1] ?? null,
        };
      }
    }
    at = next;
  }
  throw new HttpError(400, 'multipart body has no "file" part');
}

const deviceJson = (d) => ({
  id: ref("DEVICE", d.id), createdTime: d.created_ts, name: d.name, type: d.type, label: d.label,
  deviceProfileId: ref("DEVICE_PROFILE", d.profile_id), firmwareId: ref("OTA_PACKAGE", d.firmware_id),
  softwareId: ref("OTA_PACKAGE", d.software_id),
});
const credentialsJson = (c) => ({
  deviceId: ref("DEVICE", c.device_id), credentialsType: c.credentials_type,
  credentialsId: c.credentials_type === "X509_CERTIFICATE" ? c.credentials_id : c.credentials_type === "ACCESS_TOKEN" ? c.credentials_id : null,
  credentialsValue: c.credentials_value,
});
const profileJson = (p) => ({
  id: ref("DEVICE_PROFILE", p.id), createdTime: p.created_ts, name: p.name, default: Boolean(p.is_default),
  provisionType: p.provision_type, provisionDeviceKey: p.provision_key,
  profileData: { provisionConfiguration: { type: p.provision_type, provisionDeviceSecret: p.provision_secret } },
});
const otaJson = (p) => ({
  id: ref("OTA_PACKAGE", p.id), createdTime: p.created_ts, type: p.type, title: p.title, version: p.version, tag: p.tag,
  fileName: p.file_name, contentType: p.content_type, checksumAlgorithm: p.checksum_algorithm, checksum: p.checksum,
  dataSize: p.data_size, hasData: p.data_size !== null,
});
const rpcJson = (r) => ({
  id: ref("RPC", r.id), createdTime: r.created_ts, deviceId: ref("DEVICE", r.device_id), expirationTime: r.expiration_ts,
  request: { id: r.request_id, oneway: Boolean(r.oneway), persistent: Boolean(r.persistent), body: { method: r.method, params: JSON.parse(r.params) } },
  response: r.response === null ? null : JSON.parse(r.response), status: r.status,
});

const scopeOf = (s) => { if (!SCOPES.includes(s)) throw new HttpError(400, `unknown attribute scope "${s}" (use ${SCOPES.join(", ")})`); return s; };
const keysOf = (url) => url.searchParams.get("keys")?.split(",").filter(Boolean) ?? null;

/** A JSON object from the HTTP side -> typed entries, by how each number is written (3 LONG, 3.0 DOUBLE). */
async function entriesFromBody(req) {
  const raw = (await readBody(req, MAX_JSON_BODY)).toString("utf8");
  let obj;
  try { obj = JSON.parse(raw); } catch (e) { throw new HttpError(400, `invalid JSON: ${e.message}`); }
  if (!obj || typeof obj !== "object" || Array.isArray(obj)) throw new HttpError(400, "a JSON object of attributes is expected");
  try { return entriesOf(parseLenient(raw), { typeCast: false }); } catch (e) {
    if (e instanceof PayloadError || e instanceof JsonSyntaxError) throw new HttpError(400, e.message);
    throw e;
  }
}

function credentialsFrom(c) {
  const type = c?.credentialsType ?? "ACCESS_TOKEN";
  if (type === "ACCESS_TOKEN") {
    const token = c?.credentialsId || newAccessToken();
    if (!/^[^\s/?#]{1,64}$/.test(token)) throw new HttpError(400, "an access token is 1 to 64 characters without spaces, '/', '?' or '#'");
    return { credentials_type: "ACCESS_TOKEN", credentials_id: token, credentials_value: null };
  }
  if (type === "X509_CERTIFICATE") {
    if (!c.credentialsValue) throw new HttpError(400, "X509_CERTIFICATE credentials need credentialsValue: the device certificate (PEM)");
    return { credentials_type: "X509_CERTIFICATE", credentials_id: certificateId(c.credentialsValue), credentials_value: c.credentialsValue };
  }
  throw new HttpError(400, `unsupported credentialsType "${type}" (ACCESS_TOKEN or X509_CERTIFICATE)`);
}

function uniqueCredentials(store, creds, deviceId) {
  const taken = creds.credentials_type === "ACCESS_TOKEN" ? store.deviceByToken(creds.credentials_id) : store.deviceByCertificateId(creds.credentials_id);
  if (taken && taken.id !== deviceId) throw new HttpError(400, "Device credentials are already assigned to another device!");
}

function createDevice(ctx, body, creds) {
  const { store, log } = ctx;
  if (!body?.name || typeof body.name !== "string") throw new HttpError(400, "Device name should be specified!");
  if (store.deviceByName(body.name)) throw new HttpError(400, "Device with such name already exists!");
  const profileId = idOf(body.deviceProfileId) ?? store.defaultProfile().id;
  if (!store.profile(profileId)) throw new HttpError(404, `Device profile with id [${profileId}] is not found`);
  uniqueCredentials(store, creds);
  const d = store.createDevice({ name: body.name, type: body.type ?? "default", label: body.label ?? null, profile_id: profileId }, creds);
  log.info("http", `device "${d.name}" created (${d.id})`);
  for (const [field, type] of [["firmwareId", "FIRMWARE"], ["softwareId", "SOFTWARE"]]) {
    if (idOf(body[field])) assignPackage(ctx, d.id, type, idOf(body[field]));
  }
  return store.device(d.id);
}

function assignPackage(ctx, deviceId, type, packageId) {
  const { core, store } = ctx;
  if (packageId) {
    const p = store.otaPackage(packageId);
    if (!p) throw new HttpError(404, `OTA package with id [${packageId}] is not found`);
    if (p.type !== type) throw new HttpError(400, `package ${packageId} is ${p.type}, not ${type}`);
    if (p.data_size === null) throw new HttpError(400, `package ${packageId} has no data yet`);
  }
  core.assignOta(deviceId, type, packageId);
}

function updateDevice(ctx, body) {
  const { store, device } = ctx;
  const d = device(idOf(body.id));
  if (body.name && body.name !== d.name && store.deviceByName(body.name)) throw new HttpError(400, "Device with such name already exists!");
  store.updateDevice({ ...d, name: body.name ?? d.name, type: body.type ?? d.type, label: body.label ?? d.label, profile_id: idOf(body.deviceProfileId) ?? d.profile_id });
  for (const [field, column, type] of [["firmwareId", "firmware_id", "FIRMWARE"], ["softwareId", "software_id", "SOFTWARE"]]) {
    if (!(field in body)) continue;
    const next = idOf(body[field]);
    if (next !== d[column]) assignPackage(ctx, d.id, type, next);
  }
  return store.device(d.id);
}

async function rpc(ctx, req, url, deviceId, kind, v1) {
  const { core, options, device } = ctx;
  device(deviceId);
  const body = await jsonBody(req);
  if (typeof body.method !== "string" || body.method === "") throw new HttpError(400, "method is required");
  const timeoutMs = Math.max(options.rpcMinTimeoutMs, Number(body.timeout ?? options.rpcDefaultTimeoutMs));
  const expiration = body.expirationTime ? Number(body.expirationTime) - Date.now() : timeoutMs;
  const r = core.submitRpc(deviceId, {
    method: body.method, params: JSON.stringify(body.params === undefined ? null : body.params),
    oneway: kind === "oneway", persistent: Boolean(body.persistent), timeoutMs: expiration,
  });
  if (body.persistent) return { rpcId: r.id };
  const done = await core.waitRpc(r.id);
  if (done.status === "SUCCESSFUL") return done.response === null ? undefined : JSON.parse(done.response);
  // ThingsBoard answers a timed-out RPC 408 on /api/plugins/rpc and 504 on /api/rpc.
  throw new HttpError(v1 ? 408 : 504, `RPC ${r.id} ${done.status.toLowerCase()}`);
}

async function uploadOta(ctx, req, url, id) {
  const { store, log } = ctx;
  const p = store.otaPackage(id);
  if (!p) throw new HttpError(404, `OTA package with id [${id}] is not found`);
  const algorithm = (url.searchParams.get("checksumAlgorithm") ?? "SHA256").toUpperCase();
  if (!CHECKSUM_ALGORITHMS.includes(algorithm)) throw new HttpError(400, `checksumAlgorithm must be one of ${CHECKSUM_ALGORITHMS.join(", ")}`);
  const raw = await readBody(req, MAX_PACKAGE);
  const type = req.headers["content-type"] ?? "application/octet-stream";
  const file = /^multipart\/form-data/i.test(type) ? multipartFile(raw, type) : { data: raw, fileName: url.searchParams.get("fileName"), contentType: type };
  if (file.data.length === 0) throw new HttpError(400, "the package file is empty");
  const sum = checksum(algorithm, file.data);
  const given = url.searchParams.get("checksum");
  if (given && given.toLowerCase() !== sum) throw new HttpError(400, "Wrong otaPackage file! (checksum mismatch)");
  const info = store.setOtaData(id, { file_name: file.fileName ?? `${p.title}-${p.version}.bin`, content_type: file.contentType ?? "application/octet-stream", checksum_algorithm: algorithm, checksum: sum, data_size: file.data.length, data: file.data });
  log.info("http", `OTA package ${p.title} ${p.version}: ${file.data.length} bytes, ${algorithm} ${sum}`);
  return otaJson(info);
}

function timeseries(store, url, id) {
  const keys = keysOf(url) ?? store.telemetryKeys(id);
  const strict = url.searchParams.get("useStrictDataTypes") === "true";
  const out = {};
  if (!url.searchParams.has("startTs")) {
    for (const e of store.latestTelemetry(id, keys)) out[e.key] = [{ ts: e.ts, value: entryValue(e, strict) }];
    return out;
  }
  const startTs = Number(url.searchParams.get("startTs"));
  const endTs = Number(url.searchParams.get("endTs") ?? Date.now() + 1);
  const limit = Number(url.searchParams.get("limit") ?? 100);
  const orderBy = (url.searchParams.get("orderBy") ?? "DESC").toUpperCase();
  if (![startTs, endTs, limit].every(Number.isFinite) || !["ASC", "DESC"].includes(orderBy)) throw new HttpError(400, "startTs, endTs and limit are numbers; orderBy is ASC or DESC");
  for (const { key, rows } of store.telemetryHistory(id, keys, { startTs, endTs, limit, orderBy })) {
    if (rows.length) out[key] = rows.map((e) => ({ ts: e.ts, value: entryValue(e, strict) }));
  }
  return out;
}

function attributeValues(store, url, id, scope) {
  const keys = keysOf(url);
  const scopes = scope ? [scopeOf(scope)] : SCOPES;
  return scopes.flatMap((s) => store.attributes(id, s, keys ?? undefined).map((e) => ({ lastUpdateTs: e.lastUpdateTs, key: e.key, value: entryValue(e, true) })));
}

/** The routes of devices, their credentials and observations, the CoAP exchange log. */
function deviceRoutes(ctx) {
  const { core, store, log, observations, live, device } = ctx;
  return [
    ["POST", "/api/device", async (req, url) => {
      const body = await jsonBody(req);
      if (body.id) return deviceJson(updateDevice(ctx, body));
      const token = url.searchParams.get("accessToken");
      const d = createDevice(ctx, body, credentialsFrom({ credentialsType: "ACCESS_TOKEN", credentialsId: token }));
      return { ...deviceJson(d), credentials: credentialsJson(store.credentials(d.id)) };
    }],
    ["POST", "/api/device-with-credentials", async (req) => {
      const body = await jsonBody(req);
      const d = createDevice(ctx, body.device, credentialsFrom(body.credentials));
      return { ...deviceJson(d), credentials: credentialsJson(store.credentials(d.id)) };
    }],
    ["GET", "/api/device/([^/]+)", (req, url, id) => deviceJson(device(id))],
    ["DELETE", "/api/device/([^/]+)", (req, url, id) => {
      device(id);
      core.closeSessions(id, "device deleted");
      store.deleteDevice(id);
      log.info("http", `device ${id} deleted`);
      return undefined;
    }],
    ["GET", "/api/device/([^/]+)/credentials", (req, url, id) => credentialsJson(store.credentials(device(id).id))],
    ["POST", "/api/device/credentials", async (req) => {
      const body = await jsonBody(req);
      const d = device(idOf(body.deviceId));
      const creds = credentialsFrom(body);
      uniqueCredentials(store, creds, d.id);
      core.closeSessions(d.id, "credentials updated");
      return credentialsJson(store.setCredentials(d.id, creds));
    }],
    ["GET", "/api/device/([^/]+)/observations", (req, url, id) => observations.status(device(id).id)],
    ["GET", "/api/coap/exchanges", (req, url) => live.exchanges(url.searchParams.get("deviceId"))],
    ["GET", "/api/tenant/devices", (req, url) => {
      const name = url.searchParams.get("deviceName");
      if (name !== null) {
        const d = store.deviceByName(name);
        if (!d) throw new HttpError(404, `Device with name [${name}] is not found`);
        return deviceJson(d);
      }
      const pageSize = Math.max(1, Number(url.searchParams.get("pageSize") ?? 100));
      const page = Math.max(0, Number(url.searchParams.get("page") ?? 0));
      const { rows, total } = store.devices({ page, pageSize, textSearch: url.searchParams.get("textSearch") ?? "" });
      return { data: rows.map(deviceJson), totalPages: Math.ceil(total / pageSize), totalElements: total, hasNext: (page + 1) * pageSize < total };
    }],
  ];
}

/** The routes of device profiles (provisioning). */
function profileRoutes(ctx) {
  const { store } = ctx;
  return [
    ["POST", "/api/deviceProfile", async (req) => {
      const body = await jsonBody(req);
      const type = body.provisionType ?? body.profileData?.provisionConfiguration?.type ?? "DISABLED";
      if (!["DISABLED", "ALLOW_CREATE_NEW_DEVICES", "CHECK_PRE_PROVISIONED_DEVICES", "X509_CERTIFICATE_CHAIN"].includes(type)) throw new HttpError(400, `unknown provisionType "${type}"`);
      const secret = body.provisionDeviceSecret ?? body.profileData?.provisionConfiguration?.provisionDeviceSecret ?? null;
      const fields = { name: body.name, provision_type: type, provision_key: body.provisionDeviceKey ?? null, provision_secret: secret };
      if (type !== "DISABLED" && (!fields.provision_key || !fields.provision_secret)) throw new HttpError(400, "provisioning needs provisionDeviceKey and provisionDeviceSecret");
      const other = fields.provision_key && store.profileByProvisionKey(fields.provision_key);
      if (other && other.id !== idOf(body.id)) throw new HttpError(400, "Device profile with such provision device key already exists!");
      if (body.id) {
        const p = store.profile(idOf(body.id));
        if (!p) throw new HttpError(404, `Device profile with id [${idOf(body.id)}] is not found`);
        return profileJson(store.updateProfile({ ...p, ...fields, name: body.name ?? p.name }));
      }
      if (!body.name) throw new HttpError(400, "Device profile name should be specified!");
      if (store.profileByName(body.name)) throw new HttpError(400, "Device profile with such name already exists!");
      return profileJson(store.createProfile(fields));
    }],
    ["GET", "/api/deviceProfile/([^/]+)", (req, url, id) => {
      const p = store.profile(id);
      if (!p) throw new HttpError(404, `Device profile with id [${id}] is not found`);
      return profileJson(p);
    }],
    ["GET", "/api/deviceProfiles", () => ({ data: store.profiles().map(profileJson), hasNext: false })],
  ];
}

/** The routes of telemetry and attributes. */
function dataRoutes(ctx) {
  const { core, store, device } = ctx;
  const T = "/api/plugins/telemetry/DEVICE/([^/]+)";
  return [
    ["GET", `${T}/keys/timeseries`, (req, url, id) => store.telemetryKeys(device(id).id)],
    ["GET", `${T}/values/timeseries`, (req, url, id) => timeseries(store, url, device(id).id)],
    ["GET", `${T}/keys/attributes(?:/([A-Z_]+))?`, (req, url, id, scope) => [...new Set(attributeValues(store, new URL("http://x/"), device(id).id, scope).map((a) => a.key))]],
    ["GET", `${T}/values/attributes(?:/([A-Z_]+))?`, (req, url, id, scope) => attributeValues(store, url, device(id).id, scope)],
    ["POST", `${T}/(?:attributes/)?([A-Z_]+)`, async (req, url, id, scope) => {
      device(id);
      core.setAttributes(id, scopeOf(scope), await entriesFromBody(req));
      return undefined;
    }],
    ["DELETE", `${T}/([A-Z_]+)`, (req, url, id, scope) => {
      device(id);
      const keys = keysOf(url);
      if (!keys) throw new HttpError(400, "keys=k1,k2 is required");
      core.deleteAttributes(id, scopeOf(scope), keys);
      return undefined;
    }],
  ];
}

/** The routes of server-side RPC. */
function rpcRoutes(ctx) {
  const { store, device } = ctx;
  return [
    ["POST", "/api/plugins/rpc/(oneway|twoway)/([^/]+)", (req, url, kind, id) => rpc(ctx, req, url, id, kind, true)],
    ["POST", "/api/rpc/(oneway|twoway)/([^/]+)", (req, url, kind, id) => rpc(ctx, req, url, id, kind, false)],
    ["GET", "/api/rpc/persistent/device/([^/]+)", (req, url, id) => {
      const pageSize = Math.max(1, Number(url.searchParams.get("pageSize") ?? 100));
      const page = Math.max(0, Number(url.searchParams.get("page") ?? 0));
      return { data: store.rpcsOfDevice(device(id).id, pageSize, page).map(rpcJson) };
    }],
    ["GET", "/api/rpc/persistent/([^/]+)", (req, url, id) => {
      const r = store.rpc(id);
      if (!r) throw new HttpError(404, `Rpc with id [${id}] is not found`);
      return rpcJson(r);
    }],
  ];
}

/** The routes of OTA packages and claiming. */
function otaRoutes(ctx) {
  const { core, store } = ctx;
  return [
    ["POST", "/api/otaPackage", async (req) => {
      const body = await jsonBody(req);
      const type = body.type ?? "FIRMWARE";
      if (!["FIRMWARE", "SOFTWARE"].includes(type)) throw new HttpError(400, 'type is "FIRMWARE" or "SOFTWARE"');
      if (!body.title || !body.version) throw new HttpError(400, "title and version are required");
      try {
        return otaJson(store.createOtaPackage({ type, title: String(body.title), version: String(body.version), tag: body.tag ?? null }));
      } catch (e) {
        if (/UNIQUE/.test(e.message)) throw new HttpError(400, "OtaPackage with such title and version already exists!");
        throw e;
      }
    }],
    ["POST", "/api/otaPackage/([^/]+)", (req, url, id) => uploadOta(ctx, req, url, id)],
    ["GET", "/api/otaPackage/info/([^/]+)", (req, url, id) => {
      const p = store.otaPackage(id);
      if (!p) throw new HttpError(404, `OTA package with id [${id}] is not found`);
      return otaJson(p);
    }],
    ["GET", "/api/otaPackages", () => ({ data: store.otaPackages().map(otaJson), hasNext: false })],
    ["POST", "/api/customer/device/([^/]+)/claim", async (req, url, name) => {
      const raw = await readBody(req, MAX_JSON_BODY);
      let secretKey = "";
      if (raw.length) {
        try { secretKey = String(JSON.parse(raw.toString("utf8")).secretKey ?? ""); } catch (e) { throw new HttpError(400, `invalid JSON: ${e.message}`); }
      }
      const { status, result } = core.claimByUser(decodeURIComponent(name), secretKey);
      if (status !== 200) throw new HttpError(status, `claiming failed: ${result}`);
      return { response: result };
    }],
  ];
}

async function dispatch(routes, log, req, res) {
  const url = new URL(req.url, "http://127.0.0.1");
  let status = 200, body;
  try {
    const matches = routes.filter((r) => r.re.test(url.pathname));
    const route = matches.find((r) => r.method === req.method);
    if (!route) throw new HttpError(matches.length ? 405 : 404, matches.length ? `${req.method} is not supported on ${url.pathname}` : `no such API: ${url.pathname}`);
    const args = route.re.exec(url.pathname).slice(1).map((a) => (a === undefined ? undefined : decodeURIComponent(a)));
    body = await route.handler(req, url, ...args);
  } catch (e) {
    if (!(e instanceof HttpError)) log.error("http", `${req.method} ${url.pathname} failed: ${e.stack ?? e}`);
    status = e instanceof HttpError ? e.status : 500;
    body = errorBody(status, e instanceof HttpError ? e.message : "internal error");
  }
  log.debug("http", `${req.method} ${url.pathname} -> ${status}`);
  if (!res.destroyed) sendJson(res, status, body);
}

const errorBody = (status, message) => ({ status, message, timestamp: Date.now() });
function sendJson(res, status, body) {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
const refuse = (res, status, message) => sendJson(res, status, errorBody(status, message));

/** The HTTP API server over `core` (host/server/core.mjs); listen() starts it. */
export function createHttpApi({ core, observations, live, log, options }) {
  const { store } = core;
  /** The device with `id`, or a 404 naming it. */
  const device = (id) => store.device(id) ?? (() => { throw new HttpError(404, `Device with id [${id}] is not found`); })();
  const ctx = { core, store, observations, live, log, options, device };
  const routes = [...deviceRoutes(ctx), ...profileRoutes(ctx), ...dataRoutes(ctx), ...rpcRoutes(ctx), ...otaRoutes(ctx)]
    .map(([method, pattern, handler]) => ({ method, re: new RegExp(`^${pattern}$`), handler: /** @type {(req: import("node:http").IncomingMessage, url: URL, ...args: string[]) => any} */ (handler) }));
  const server = http.createServer((req, res) => {
    if (!LOOPBACK_HOST.test(req.headers.host ?? "")) return refuse(res, 421, "only requests to 127.0.0.1, localhost or [::1] are answered");
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host}`) return refuse(res, 403, `requests from another origin (${origin}) are refused`);
    const { pathname } = new URL(req.url, "http://127.0.0.1");
    if (req.method === "GET" && pathname === "/api/live") return live.subscribe(req, res);
    if (!pathname.startsWith("/api/")) return serveDashboard(req, res, pathname);
    dispatch(routes, log, req, res);
  });
  return {
    listen: (port, host = "127.0.0.1") => new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => { server.off("error", reject); resolve(/** @type {import("node:net").AddressInfo} */ (server.address()).port); });
    }),
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}
