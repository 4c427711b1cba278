// What ThingsBoard's core does for the CoAP transport, in one process: device lookup, telemetry and attribute
// storage, shared-attribute change events, the server-side RPC lifecycle (QUEUED -> SENT/DELIVERED -> SUCCESSFUL,
// or TIMEOUT/EXPIRED), claiming, OTA assignment and device activity.

import { EventEmitter } from "node:events";
import { certificateId } from "./db.mjs";
import { mask } from "./log.mjs";

export const SCOPES = ["CLIENT_SCOPE", "SHARED_SCOPE", "SERVER_SCOPE"];
const OPEN_RPC = new Set(["QUEUED", "SENT", "DELIVERED", "TIMEOUT"]);

/** "100:1,3000:60" -> [{max, windowMs}], ThingsBoard's rate-limit notation (messages per seconds). */
function parseRateLimit(spec) {
  if (!spec) return [];
  return String(spec).split(",").map((part) => {
    const m = /^\s*(\d+):(\d+)\s*$/.exec(part);
    if (!m) throw new Error(`bad rate limit "${spec}": use "count:seconds[,count:seconds...]"`);
    return { max: Number(m[1]), windowMs: Number(m[2]) * 1000 };
  });
}

/**
 * Device activity as ThingsBoard keeps it in server attributes: active, lastActivityTime, lastConnectTime,
 * lastDisconnectTime. A device is active from its last uplink until inactivityTimeoutMs passed, or while it observes.
 */
function createActivity({ store, options }) {
  const activity = new Map(); // deviceId -> {last, flushed, observing, active}
  const serverAttr = (deviceId, key, type, value) => {
    if (!store.device(deviceId)) return;
    store.saveAttributes(deviceId, "SERVER_SCOPE", [{ key, type, value }], Date.now());
  };
  const stateOf = (deviceId) => {
    let s = activity.get(deviceId);
    if (!s) { s = { last: 0, flushed: 0, observing: false, active: false }; activity.set(deviceId, s); }
    return s;
  };
  function uplink(deviceId) {
    const s = stateOf(deviceId);
    s.last = Date.now();
    if (!s.active) { s.active = true; serverAttr(deviceId, "active", "BOOLEAN", true); }
  }
  function setObserving(deviceId, observing) {
    const s = stateOf(deviceId);
    if (s.observing === observing) return;
    s.observing = observing;
    serverAttr(deviceId, observing ? "lastConnectTime" : "lastDisconnectTime", "LONG", String(Date.now()));
    if (observing) uplink(deviceId);
  }
  /** ThingsBoard reports activity for observing devices every report period: they stay active while observing. */
  function reportActivity() {
    const now = Date.now();
    for (const [deviceId, s] of activity) {
      if (!store.device(deviceId)) { activity.delete(deviceId); continue; }
      if (s.observing) s.last = now;
      if (s.last !== s.flushed) { s.flushed = s.last; serverAttr(deviceId, "lastActivityTime", "LONG", String(s.last)); }
      if (s.active && !s.observing && now - s.last > options.inactivityTimeoutMs) { s.active = false; serverAttr(deviceId, "active", "BOOLEAN", false); }
    }
  }
  const reporter = setInterval(reportActivity, options.reportTimeoutMs);
  reporter.unref();

  return {
    uplink,
    setObserving,
    close() {
      reportActivity();
      clearInterval(reporter);
    },
  };
}

/** The device rate limits of `spec` ("100:1,3000:60"): rateLimited(deviceId) counts a message and says if it is over. */
function createRateLimiter(spec) {
  const limits = parseRateLimit(spec);
  const hits = new Map(); // deviceId -> [{start, count}] per limit window
  /** True when the device is over its rate limit: the transport then answers 5.00. */
  return function rateLimited(deviceId) {
    if (limits.length === 0) return false;
    const now = Date.now();
    let w = hits.get(deviceId);
    if (!w) { w = limits.map(() => ({ start: now, count: 0 })); hits.set(deviceId, w); }
    let over = false;
    limits.forEach((l, i) => {
      if (now - w[i].start >= l.windowMs) w[i] = { start: now, count: 0 };
      w[i].count++;
      if (w[i].count > l.max) over = true;
    });
    return over;
  };
}

/** Timers that clear() stops all at once. */
function createTimers() {
  const timers = new Set();
  return {
    later(ms, fn) {
      const h = setTimeout(() => { timers.delete(h); fn(); }, Math.max(0, ms));
      timers.add(h);
      return h;
    },
    cancel(h) {
      clearTimeout(h);
      timers.delete(h);
    },
    clear() {
      for (const h of timers) clearTimeout(h);
      timers.clear();
    },
  };
}

/** The server-side RPC lifecycle: QUEUED -> SENT/DELIVERED -> SUCCESSFUL, or TIMEOUT/EXPIRED; events "rpc" hands one out. */
function createRpcs({ store, log, events }) {
  const { later, cancel, clear } = createTimers();
  const rpcSeq = new Map(); // deviceId -> next request id; per "device actor", so it restarts at 0 with the server
  const rpcByRequestId = new Map(); // deviceId -> Map(requestId -> rpc id)
  const rpcWaiters = new Map(); // rpc id -> [resolve]
  const rpcExpiry = new Map(); // rpc id -> timer
  function finishRpc(id, status, response) {
    store.setRpcStatus(id, status, { response });
    cancel(rpcExpiry.get(id));
    rpcExpiry.delete(id);
    for (const resolve of rpcWaiters.get(id) ?? []) resolve(store.rpc(id));
    rpcWaiters.delete(id);
  }
  function armExpiry(rpc) {
    rpcExpiry.set(rpc.id, later(rpc.expiration_ts - Date.now(), () => {
      const cur = store.rpc(rpc.id);
      if (cur && OPEN_RPC.has(cur.status)) {
        log.info("rpc", `${rpc.method} (${rpc.id}) expired with status ${cur.status}`);
        finishRpc(rpc.id, "EXPIRED", null);
      }
    }));
  }
  /** Submits a server-side RPC; events "rpc" hands it to the device's RPC observation if there is one. */
  function submitRpc(deviceId, { method, params, oneway, persistent, timeoutMs }) {
    const rpc = store.createRpc({ device_id: deviceId, method, params, oneway: oneway ? 1 : 0, persistent: persistent ? 1 : 0, expiration_ts: Date.now() + timeoutMs });
    armExpiry(rpc);
    log.info("rpc", `${oneway ? "one-way" : "two-way"} ${method} queued for device ${deviceId} (${rpc.id})`);
    events.emit("rpc", { deviceId, rpc });
    return rpc;
  }
  /** Resolves with the RPC row once it is finished (SUCCESSFUL, EXPIRED, FAILED). */
  function waitRpc(id) {
    const cur = store.rpc(id);
    if (!cur || !OPEN_RPC.has(cur.status)) return Promise.resolve(cur);
    return new Promise((resolve) => { if (!rpcWaiters.has(id)) rpcWaiters.set(id, []); rpcWaiters.get(id).push(resolve); });
  }
  /** Assigns the per-device request id when the RPC goes out; returns {requestId, json}. */
  function rpcSent(rpc) {
    const seq = rpcSeq.get(rpc.device_id) ?? 0;
    rpcSeq.set(rpc.device_id, seq + 1);
    if (!rpcByRequestId.has(rpc.device_id)) rpcByRequestId.set(rpc.device_id, new Map());
    rpcByRequestId.get(rpc.device_id).set(seq, rpc.id);
    store.setRpcStatus(rpc.id, "SENT", { requestId: seq });
    return { requestId: seq, json: `{"id":${seq},"method":${JSON.stringify(rpc.method)},"params":${rpc.params}}` };
  }
  function rpcDelivered(id) {
    const cur = store.rpc(id);
    if (!cur || !OPEN_RPC.has(cur.status)) return;
    if (cur.oneway) finishRpc(id, "SUCCESSFUL", null);
    else store.setRpcStatus(id, "DELIVERED");
  }
  function rpcTimedOut(id) {
    const cur = store.rpc(id);
    if (cur && (cur.status === "SENT" || cur.status === "QUEUED")) store.setRpcStatus(id, "TIMEOUT");
  }
  /** The device's reply to request id n; replies to unknown ids are dropped, as ThingsBoard's core does. */
  function rpcReply(deviceId, requestId, responseJson) {
    const id = rpcByRequestId.get(deviceId)?.get(requestId);
    const cur = id && store.rpc(id);
    if (!cur || !OPEN_RPC.has(cur.status) || cur.oneway) {
      log.info("rpc", `device ${deviceId} replied to unknown or finished request ${requestId}; dropped`);
      return;
    }
    finishRpc(id, "SUCCESSFUL", responseJson);
    log.info("rpc", `${cur.method} (${id}) answered by device ${deviceId}`);
  }
  const queuedRpcs = (deviceId) => store.queuedRpcs(deviceId, Date.now());

  // RPCs that were open when the server stopped keep their expiry.
  for (const rpc of store.openRpcs(Date.now())) armExpiry(rpc);
  store.expireRpcs(Date.now());

  return {
    submitRpc, waitRpc, rpcSent, rpcDelivered, rpcTimedOut, rpcReply, queuedRpcs,
    close: clear,
  };
}

/** Claiming: the device asks to be claimed with a secret for a while; a user claims it by name and secret. */
function createClaims({ store, options }) {
  function claimRequest(deviceId, secretKey, durationMs) {
    const d = store.device(deviceId);
    store.updateDevice({ ...d, claim_secret: secretKey, claim_expires_ts: Date.now() + (durationMs > 0 ? durationMs : options.claimDurationMs) });
  }
  /** A user claims a device by name and secret: ThingsBoard's ClaimResult. */
  function claimByUser(name, secretKey) {
    const d = store.deviceByName(name);
    if (!d) return { status: 404, result: "FAILURE" };
    if (d.claimed_ts) return { status: 400, result: "CLAIMED" };
    if (!d.claim_expires_ts || d.claim_expires_ts < Date.now() || (d.claim_secret ?? "") !== (secretKey ?? "")) return { status: 400, result: "FAILURE" };
    store.updateDevice({ ...d, claimed_ts: Date.now(), claim_secret: null, claim_expires_ts: null });
    return { status: 200, result: "SUCCESS" };
  }

  return { claimRequest, claimByUser };
}

/** OTA assignment: fw_state telemetry and the fw_* / sw_* shared attributes of the package a device is given. */
function createOtaAssignments({ store, log, serverTs, setAttributes, deleteAttributes }) {
  /** Assigns (or with null unassigns) a package: fw_state telemetry, then the fw_* / sw_* shared attributes. */
  function assignOta(deviceId, type, packageId) {
    const prefix = type === "FIRMWARE" ? "fw" : "sw";
    const d = store.device(deviceId);
    store.updateDevice({ ...d, [prefix === "fw" ? "firmware_id" : "software_id"]: packageId });
    if (!packageId) {
      deleteAttributes(deviceId, "SHARED_SCOPE", ["title", "version", "tag", "size", "checksum", "checksum_algorithm", "url"].map((k) => `${prefix}_${k}`));
      return;
    }
    const p = store.otaPackage(packageId);
    const now = serverTs(deviceId);
    const s = (key, value) => ({ key: `${prefix}_${key}`, type: "STRING", value });
    store.saveTelemetry(deviceId, [{ ts: now, entries: [s("state", "QUEUED"), { key: `target_${prefix}_title`, type: "STRING", value: p.title }, { key: `target_${prefix}_version`, type: "STRING", value: p.version }, { key: `target_${prefix}_ts`, type: "LONG", value: String(now) }] }]);
    store.saveTelemetry(deviceId, [{ ts: serverTs(deviceId), entries: [s("state", "INITIATED")] }]);
    const attrs = [s("title", p.title), s("version", p.version)];
    if (p.tag) attrs.push(s("tag", p.tag));
    attrs.push({ key: `${prefix}_size`, type: "LONG", value: String(p.data_size ?? 0) }, s("checksum_algorithm", p.checksum_algorithm ?? ""), s("checksum", p.checksum ?? ""));
    setAttributes(deviceId, "SHARED_SCOPE", attrs);
    log.info("ota", `${type.toLowerCase()} ${p.title} ${p.version} assigned to device ${deviceId}`);
  }
  /** The package assigned to the device (assignment per device profile is not supported). */
  function otaPackageFor(device, type) {
    const id = device[type === "FIRMWARE" ? "firmware_id" : "software_id"];
    return id ? store.otaPackage(id) : null;
  }

  return { assignOta, otaPackageFor };
}

export function createCore({ store, log, options }) {
  const events = new EventEmitter();
  const activity = createActivity({ store, options });
  const rateLimited = createRateLimiter(options.deviceRateLimit);
  const rpcs = createRpcs({ store, log, events });
  const claims = createClaims({ store, options });
  const lastServerTs = new Map();

  // --- attributes ---
  function setAttributes(deviceId, scope, entries) {
    store.saveAttributes(deviceId, scope, entries, Date.now());
    if (scope === "SHARED_SCOPE" && entries.length) events.emit("shared", { deviceId, updated: entries, deleted: [] });
  }
  function deleteAttributes(deviceId, scope, keys) {
    const deleted = store.deleteAttributes(deviceId, scope, keys);
    if (scope === "SHARED_SCOPE" && deleted.length) events.emit("shared", { deviceId, updated: [], deleted });
    return deleted;
  }

  /**
   * The server's timestamp for a post without its own: never the same millisecond twice for one device, so two
   * posts within a millisecond (an OTA's INITIATED, then the node's DOWNLOADING) both stay. ThingsBoard would keep
   * the second.
   */
  function serverTs(deviceId) {
    const ts = Math.max(Date.now(), (lastServerTs.get(deviceId) || 0) + 1);
    lastServerTs.set(deviceId, ts);
    return ts;
  }

  return {
    events,
    store,
    options,
    deviceByToken(token) {
      const d = store.deviceByToken(token);
      if (!d) log.info("auth", `unknown access token ${mask(token)}`);
      return d;
    },
    deviceByCertificate: (pemOrBase64) => store.deviceByCertificateId(certificateId(pemOrBase64)),
    uplink: activity.uplink,
    setObserving: activity.setObserving,
    rateLimited,
    postTelemetry: (device, batches) => store.saveTelemetry(device.id, batches),
    serverTs,
    setAttributes,
    deleteAttributes,
    ...rpcs,
    ...claims,
    ...createOtaAssignments({ store, log, serverTs, setAttributes, deleteAttributes }),
    /** The device's observations must end: device deleted or credentials changed. */
    closeSessions: (deviceId, reason) => events.emit("close", { deviceId, reason }),
    close() {
      activity.close();
      rpcs.close();
    },
  };
}
