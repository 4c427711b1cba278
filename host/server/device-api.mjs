// ThingsBoard's CoapTransportResource: everything under /api/v1. Path rules (feature, token at index 2, request id),
// response codes and message types follow the notes' sections 3.3, 4 and 2.2.

import { Code, Opt, ContentFormat, uintValue, bytes, text } from "./wire.mjs";
import { parseLenient, treeToJson, treeToValue, JsonSyntaxError } from "./lenient-json.mjs";
import { telemetryOf, entriesOf, entryJson, PayloadError, ProcessingError } from "./kv.mjs";
import { maskPath } from "./log.mjs";

const FEATURES = new Set(["attributes", "telemetry", "rpc", "claim", "provision"]);

/** getFeatureType of section 3.3. */
export function featureOf(p) {
  const n = p.length;
  let name;
  if (n >= 4) name = n === 4 && /^[0-9]+$/.test(p[3]) ? p[2] : p[3];
  else if (n === 3) name = p.includes("provision") ? "provision" : p[2];
  else return null;
  name = name.toLowerCase();
  return FEATURES.has(name) ? name : null;
}

/** getRequestId of section 3.3: Integer.parseInt of segment 4, else 3. */
export function requestIdOf(p) {
  const s = p.length >= 5 ? p[4] : p[3];
  if (s === undefined || !/^[+-]?[0-9]+$/.test(s)) return null;
  const v = Number(s);
  return v >= -(2 ** 31) && v < 2 ** 31 ? v : null;
}

/** Uri-Query "clientKeys=a,b" and "sharedKeys=c": exactly one "=", last occurrence wins, empty ignored. */
function attributeKeys(query) {
  const out = { clientKeys: null, sharedKeys: null };
  for (const q of query) {
    const parts = q.split("=");
    if (parts.length !== 2 || !(parts[0] in out) || parts[1] === "") continue;
    out[parts[0]] = parts[1].split(",").filter((k) => k !== "");
  }
  return out;
}

/** The JSON tree of a payload; a payload that is empty or not JSON is the device's fault (4.00). */
function parse(payload) {
  if (payload.length === 0) throw new PayloadError("empty payload");
  try {
    return parseLenient(text(payload));
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw new PayloadError(e.message);
    throw e;
  }
}

/** Response Content-Format of a JSON profile: the request's, else application/json. */
const format = (req) => [{ number: Opt.CONTENT_FORMAT, value: uintValue(req.contentFormat ?? ContentFormat.JSON) }];


function getAttributes({ core }, ex, device) {
  const { clientKeys, sharedKeys } = attributeKeys(ex.request.query);
  const all = !clientKeys && !sharedKeys;
  const section = (scope, keys) => (all || keys ? core.store.attributes(device.id, scope, keys ?? undefined) : []);
  const client = section("CLIENT_SCOPE", clientKeys);
  const shared = section("SHARED_SCOPE", sharedKeys);
  const type = ex.request.type;
  if (!client.length && !shared.length) return ex.respond({ code: Code.NOT_FOUND, type });
  const obj = (list) => "{" + list.map((e) => JSON.stringify(e.key) + ":" + entryJson(e)).join(",") + "}";
  const parts = [];
  if (client.length) parts.push(`"client":${obj(client)}`);
  if (shared.length) parts.push(`"shared":${obj(shared)}`);
  ex.respond({ code: Code.CONTENT, options: format(ex.request), payload: bytes("{" + parts.join(",") + "}"), type });
}

function clientRpc({ log, options }, ex, device) {
  const root = parse(ex.request.payload);
  if (root.t !== "obj") throw new PayloadError("Not a JSON Object");
  const m = root.entries.get("method");
  if (!m) throw new ProcessingError("method is missing");
  if (m.t === "obj" || m.t === "arr" || m.t === "null") throw new ProcessingError("method is not a string");
  const method = m.t === "num" ? m.raw : String(m.v);
  const params = root.entries.get("params");
  const handler = options.clientRpcHandlers?.[method];
  log.info("rpc", `device ${device.id} calls ${method}${handler ? "" : " (no handler: no answer, as from a rule chain that does not reply)"}`);
  if (!handler) return;
  let expired = false;
  // ThingsBoard's sync session: a reply after COAP_TIMEOUT is dropped and the device gets nothing.
  const timer = setTimeout(() => { expired = true; log.info("rpc", `client-side ${method} of device ${device.id} not answered within ${options.coapTimeoutMs} ms`); }, options.coapTimeoutMs);
  const answer = (json) => {
    clearTimeout(timer);
    if (!expired) ex.respond({ code: Code.CONTENT, options: format(ex.request), payload: bytes(json), type: ex.request.type });
  };
  Promise.resolve()
    .then(() => handler(params ? treeToValue(params) : null, { id: device.id, name: device.name }))
    .then((result) => JSON.stringify(result ?? null))
    .catch((e) => JSON.stringify({ error: String(e?.message ?? e) }))
    .then(answer)
    .catch((e) => log.error("rpc", `answering ${method} failed: ${e.stack ?? e}`));
}

/** POST claim: the device may be claimed with its secret for a while. */
function claim({ core, log, options }, ex, device) {
  const req = ex.request;
  let secretKey = "", durationMs = 0;
  if (req.payload.length) {
    const root = parse(req.payload);
    if (root.t !== "obj") throw new PayloadError("Not a JSON Object");
    const s = root.entries.get("secretKey");
    const d = root.entries.get("durationMs");
    if (s && s.t !== "null") secretKey = s.t === "num" ? s.raw : String(s.v);
    if (d && d.t !== "null") durationMs = d.t === "num" ? Number(d.raw) : Number(d.v);
    if (!Number.isFinite(durationMs)) throw new ProcessingError("durationMs is not a number");
  }
  core.claimRequest(device.id, secretKey, durationMs);
  log.info("claim", `device ${device.id} may be claimed for ${durationMs || options.claimDurationMs} ms`);
  return ex.respond({ code: Code.CREATED, type: req.type });
}

function post(ctx, ex, device, feature, p) {
  const { core, log, typing } = ctx;
  const req = ex.request;
  const created = () => ex.respond({ code: Code.CREATED, type: req.type });
  switch (feature) {
    case "telemetry": {
      const batches = telemetryOf(parse(req.payload), core.serverTs(device.id), typing);
      core.postTelemetry(device, batches);
      log.debug("telemetry", `device ${device.id}: ${batches.reduce((n, b) => n + b.entries.length, 0)} values`);
      return created();
    }
    case "attributes": {
      const root = parse(req.payload);
      if (root.t !== "obj") throw new PayloadError("Not a JSON Object");
      core.setAttributes(device.id, "CLIENT_SCOPE", entriesOf(root, typing));
      return created();
    }
    case "claim":
      return claim(ctx, ex, device);
    case "rpc": {
      const id = requestIdOf(p);
      if (id === null) return clientRpc(ctx, ex, device);
      if (req.payload.length === 0) throw new PayloadError("empty payload");
      let root;
      try { root = parseLenient(text(req.payload)); } catch (e) { throw new ProcessingError(e.message); }
      if (root.t !== "obj") throw new ProcessingError("RPC reply is not a JSON object");
      core.rpcReply(device.id, id, treeToJson(root));
      return created();
    }
    default:
      // GET+Observe style oddities aside, POST on provision is routed before authentication.
      return ex.respond({ code: Code.BAD_REQUEST });
  }
}

/** ThingsBoard's processRequest: deferred empty ACK, credentials, rate limit, then the feature. */
function processRequest(ctx, ex, p, feature) {
  const { core, observations, log, options } = ctx;
  const { peer, request: req } = ex;
  ex.acceptAfter(options.piggybackTimeoutMs);
  let device = null;
  let x509 = false;
  if (peer.certificate) {
    device = core.deviceByCertificate(peer.certificate);
    x509 = Boolean(device);
  }
  if (!device) {
    if (p.length <= 3) return ex.respond({ code: Code.UNAUTHORIZED });
    device = core.deviceByToken(p[2]);
    if (!device) return ex.respond({ code: Code.UNAUTHORIZED });
  }
  if (core.rateLimited(device.id)) {
    log.warn("coap", `device ${device.id} is over its rate limit`);
    return ex.respond({ code: Code.INTERNAL_SERVER_ERROR });
  }
  core.uplink(device.id);
  try {
    if (req.code === Code.GET) {
      if (req.observe !== undefined) {
        const kind = feature === "rpc" ? "rpc" : "attrs";
        if (req.observe === 1) observations.deregister(ex);
        else observations.register(ex, device, kind);
        return;
      }
      return getAttributes(ctx, ex, device);
    }
    return post(ctx, ex, device, feature, p);
  } catch (e) {
    if (e instanceof PayloadError) {
      log.info("coap", `${peer.address}:${peer.port} ${maskPath(p)}: bad payload: ${e.message}`);
      return ex.respond({ code: Code.BAD_REQUEST });
    }
    if (!(e instanceof ProcessingError)) log.error("coap", `processing ${maskPath(p)} failed: ${e.stack ?? e}`);
    else log.info("coap", `${peer.address}:${peer.port} ${maskPath(p)}: ${e.message}`);
    // An unchecked exception: 5.00 through the token path's callback; X.509 requests get nothing.
    if (!x509) ex.respond({ code: Code.INTERNAL_SERVER_ERROR });
  }
}

export function createDeviceApi({ core, observations, provisioning, log, options }) {
  const typing = { typeCast: options.jsonTypeCast, maxStringValueLength: options.jsonMaxStringValueLength };
  const ctx = { core, observations, log, options, typing };
  return function handle(ex, p) {
    const req = ex.request;
    if (req.code !== Code.GET && req.code !== Code.POST) return ex.respond({ code: Code.METHOD_NOT_ALLOWED });
    const feature = featureOf(p);
    if (!feature) return ex.respond({ code: Code.BAD_REQUEST });
    if (req.code === Code.GET) {
      if (feature === "telemetry") return ex.respond({ code: Code.BAD_REQUEST });
      if (req.observe === undefined && feature !== "attributes") return ex.respond({ code: Code.BAD_REQUEST });
    } else if (feature === "provision") {
      return provisioning(ex);
    }
    processRequest(ctx, ex, p, feature);
  };
}
