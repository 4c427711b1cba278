// Observations as ThingsBoard runs them on Californium: one attribute and one RPC observation per device, keyed by
// (peer, token); Observe numbers from 0 per observation; notifications CON or NON like the registration; at most
// one CON notification in flight per relation, a newer one replacing the postponed one; after the last
// retransmission of an unacknowledged notification every relation of that peer is cancelled; an RST cancels the
// relation it answers; server-side cancellation answers 2.02 Deleted with Observe 0.

import { Type, Code, Opt, ContentFormat, uintValue, bytes, tokenHex, sortOptions } from "./wire.mjs";
import { entriesJson } from "./kv.mjs";

const NON_MID_MEMORY = 4096;

/** The Observe number of a notification. */
function readObserve(msg) {
  const o = msg.options.find((x) => x.number === Opt.OBSERVE);
  return o ? [...o.value].reduce((a, b) => a * 256 + b, 0) : 0;
}

const where = (r) => `${r.peer.address}:${r.peer.port}`;

/**
 * @param {{ core: any, endpoint: any, log: any, options: object, onNotification?: (relation: object, message: object) => void }} parts
 */
export function createObservations(parts) {
  return new Observations(parts);
}

class Observations {
  constructor({ core, endpoint, log, options, onNotification = (_relation, _message) => {} }) {
    this.core = core;
    this.endpoint = endpoint;
    this.log = log;
    this.options = options;
    this.onNotification = onNotification;
    this.relations = new Map(); // peer.id|token -> relation
    this.byDevice = new Map(); // deviceId -> {attrs, rpc}
    this.nonMids = new Map(); // peer.id#mid of NON notifications -> relation key, so an RST can cancel
    this.rpcAckTimers = new Map(); // rpc id -> timer
    // The endpoint calls onReset unbound.
    this.onReset = this.onReset.bind(this);
    this.core.events.on("shared", ({ deviceId, updated, deleted: gone }) => {
      const rel = this.byDevice.get(deviceId)?.attrs;
      if (!rel) return;
      let json = entriesJson(updated);
      if (gone.length) json = json.slice(0, -1) + (updated.length ? "," : "") + `"deleted":${JSON.stringify(gone)}}`;
      this.notify(rel, { msg: this.notificationMessage(rel, bytes(json)) });
    });

    this.core.events.on("rpc", ({ deviceId, rpc }) => {
      const rel = this.byDevice.get(deviceId)?.rpc;
      if (rel) this.sendRpc(rel, rpc);
    });

    this.core.events.on("close", ({ deviceId, reason }) => {
      const s = this.byDevice.get(deviceId);
      for (const rel of s ? [s.attrs, s.rpc] : []) if (rel) this.deleted(rel, reason);
    });
  }

  slot(deviceId) {
    let s = this.byDevice.get(deviceId);
    if (!s) { s = { attrs: null, rpc: null }; this.byDevice.set(deviceId, s); }
    return s;
  }

  /** Ends a relation on our side (ThingsBoard's removedObserveRelation): subscription gone, maybe the session. */
  drop(rel, why) {
    if (rel.dropped) return;
    rel.dropped = true;
    this.relations.delete(rel.key);
    rel.inFlight?.handle.cancel();
    const s = this.slot(rel.deviceId);
    if (s[rel.kind] === rel) s[rel.kind] = null;
    this.log.info("observe", `${where(rel)} ${rel.kind} observation of device ${rel.deviceId} ended: ${why}`);
    if (!s.attrs && !s.rpc) { this.byDevice.delete(rel.deviceId); this.core.setObserving(rel.deviceId, false); }
  }

  /** Server-side cancellation: 2.02 Deleted on the observation's token, Observe 0, type of the registration. */
  deleted(rel, why) {
    const msg = { code: Code.DELETED, token: rel.token, options: [{ number: Opt.OBSERVE, value: new Uint8Array(0) }], payload: new Uint8Array(0), messageId: this.endpoint.freeMid(rel.peer) };
    if (rel.confirmable) this.endpoint.sendCon(rel.peer, { ...msg, type: Type.CON });
    else this.endpoint.sendNon(rel.peer, msg);
    this.drop(rel, why);
  }

  cancelAllOf(peer, why) {
    for (const rel of [...this.relations.values()]) if (rel.peer.id === peer.id) this.drop(rel, why);
  }

  notificationMessage(rel, payload) {
    rel.counter++;
    const opts = [{ number: Opt.OBSERVE, value: uintValue(rel.counter) }, { number: Opt.CONTENT_FORMAT, value: uintValue(rel.format) }];
    const msg = { type: rel.confirmable ? Type.CON : Type.NON, code: Code.CONTENT, token: rel.token, messageId: this.endpoint.randomMid(rel.peer), options: sortOptions(opts), payload };
    const out = this.endpoint.blockwiseNotification(rel.peer, rel.registration, msg);
    this.onNotification(rel, out);
    return out;
  }

  /** Sends or postpones one notification; item: {msg, rpcId?}. */
  notify(rel, item) {
    if (rel.dropped) return;
    if (!rel.confirmable) {
      this.endpoint.sendNon(rel.peer, item.msg);
      if (this.nonMids.size >= NON_MID_MEMORY) this.nonMids.delete(this.nonMids.keys().next().value);
      this.nonMids.set(rel.peer.id + "#" + item.msg.messageId, rel.key);
      if (item.rpcId) this.core.rpcDelivered(item.rpcId);
      return;
    }
    if (rel.inFlight) {
      if (rel.postponed) this.log.debug("observe", `${where(rel)} notification Observe ${readObserve(rel.postponed.msg)} replaced by a newer one before it was sent`);
      rel.postponed = item;
      return;
    }
    this.send(rel, item);
  }

  send(rel, item) {
    rel.inFlight = { item, handle: null };
    rel.inFlight.handle = this.endpoint.sendCon(rel.peer, item.msg, {
      onAck: () => {
        const done = rel.inFlight.item;
        rel.inFlight = null;
        if (done.rpcId) { clearTimeout(this.rpcAckTimers.get(done.rpcId)); this.rpcAckTimers.delete(done.rpcId); this.core.rpcDelivered(done.rpcId); }
        const next = rel.postponed;
        rel.postponed = null;
        if (next && !rel.dropped) this.send(rel, next);
      },
      onRst: () => this.drop(rel, "the device answered a notification with RST"),
      onRetransmit: () => {
        if (!rel.postponed) return null;
        // Californium sends the fresher notification in place of the retransmission.
        rel.inFlight.item = rel.postponed;
        rel.postponed = null;
        return rel.inFlight.item.msg;
      },
      onTimeout: () => {
        this.log.warn("observe", `notification for token [${tokenHex(rel.token)}] timed out. Canceling all relations with source [${where(rel)}]`);
        rel.inFlight = null;
        this.cancelAllOf(rel.peer, "notification timed out");
      },
    });
  }

  sendRpc(rel, rpc) {
    const { json } = this.core.rpcSent(rpc);
    const item = { msg: this.notificationMessage(rel, bytes(json)), rpcId: rpc.id };
    if (rel.confirmable) {
      // ThingsBoard waits for the ACK only this long (paging transmission window), then marks the RPC TIMEOUT.
      const wait = Math.min(this.options.pagingTransmissionWindowMs, rpc.expiration_ts - Date.now());
      this.rpcAckTimers.set(rpc.id, setTimeout(() => { this.rpcAckTimers.delete(rpc.id); this.core.rpcTimedOut(rpc.id); }, Math.max(0, wait)));
    }
    this.notify(rel, item);
  }

  /**
   * GET with Observe 0 on an attributes or RPC resource. respondInitial(rel) sends the first response on the
   * registration exchange.
   */
  register(exchange, device, kind) {
    const { peer, request } = exchange;
    const key = peer.id + "|" + tokenHex(request.token);
    const same = this.relations.get(key);
    if (same) this.drop(same, "re-registered with the same token");
    const s = this.slot(device.id);
    const old = s[kind];
    if (old) this.deleted(old, "replaced by a new observation");
    const rel = {
      key, peer, kind, deviceId: device.id, token: request.token, registration: request,
      confirmable: request.type === Type.CON, counter: 0, inFlight: null, postponed: null, dropped: false,
      format: request.contentFormat ?? ContentFormat.JSON,
    };
    this.relations.set(key, rel);
    this.slot(device.id)[kind] = rel;
    this.core.setObserving(device.id, true);
    this.log.info("observe", `${where(rel)} ${kind} observation of device ${device.id} registered (${rel.confirmable ? "CON" : "NON"})`);
    const observe0 = { number: Opt.OBSERVE, value: new Uint8Array(0) };
    if (kind === "attrs") {
      const shared = this.core.store.attributes(device.id, "SHARED_SCOPE");
      exchange.respond({ code: Code.CONTENT, options: [observe0, { number: Opt.CONTENT_FORMAT, value: uintValue(rel.format) }], payload: bytes(entriesJson(shared)) });
    } else {
      exchange.respond({ code: Code.VALID, options: [observe0], type: request.type });
      for (const rpc of this.core.queuedRpcs(device.id)) this.sendRpc(rel, rpc);
    }
  }

  /** GET with Observe 1: cancels the relation with this peer and token, if any. Never answered. */
  deregister(exchange) {
    const rel = this.relations.get(exchange.peer.id + "|" + tokenHex(exchange.request.token));
    if (rel) this.drop(rel, "deregistered by the device");
  }

  /** An RST that matched no CON we are retransmitting: it may answer a NON notification. */
  onReset(peer, mid) {
    const key = this.nonMids.get(peer.id + "#" + mid);
    const rel = key && this.relations.get(key);
    if (rel) this.drop(rel, "the device answered a notification with RST");
  }

  /** For the HTTP API: what the device currently observes. */
  status(deviceId) {
    const s = this.byDevice.get(deviceId);
    const d = (r) => r && { peer: `${r.peer.address}:${r.peer.port}`, token: tokenHex(r.token), type: r.confirmable ? "CON" : "NON", observe: r.counter };
    return { attributes: d(s?.attrs) ?? null, rpc: d(s?.rpc) ?? null };
  }

  close() {
    for (const h of this.rpcAckTimers.values()) clearTimeout(h);
    this.rpcAckTimers.clear();
  }
}
