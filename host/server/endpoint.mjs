// The CoAP message layer of the server, shaped after what ThingsBoard inherits from Californium 3.12.1:
// deduplication, CON retransmission (ACK_TIMEOUT 2 s x 1.5 random, doubling, MAX_RETRANSMIT 4), RST for pings and
// for malformed CON messages, piggybacked vs separate responses, and transparent block-wise transfer (Block1
// reassembly; Block2 at 1024 bytes for responses and notifications, remaining blocks served from stored state).
//
// Transport-neutral: a peer is {id, address, port, send(bytes)}; plain UDP and DTLS both feed receive(peer, bytes).

import { coap, Type, Code, Opt, KNOWN_OPTIONS, codeString, getOption, getOptions, uintOption, readBlockSized, blockValue, uintValue, bytes, sortOptions } from "./wire.mjs";

export const DEFAULT_TIMING = {
  ackTimeoutMs: 2000,
  ackRandomFactor: 1.5,
  maxRetransmit: 4,
  exchangeLifetimeMs: 247_000,
  blockwiseLifetimeMs: 300_000,
};

const MAX_MESSAGE_SIZE = 1024;
const PREFERRED_BLOCK_SZX = 6;
// Deduplication memory is bounded: beyond this many remembered exchanges the oldest are forgotten early.
const MAX_EXCHANGES = 50_000;

function copy(b) { return Uint8Array.from(b); }

function uriKey(peer, req) {
  return peer.id + "|" + req.path.join("/") + "?" + req.query.join("&");
}

/**
 * A request as the handlers see it: the decoded message plus path segments, queries and the options that matter.
 */
function describeRequest(msg) {
  const dec = new TextDecoder();
  const obs = uintOption(msg, Opt.OBSERVE);
  const b2 = getOption(msg, Opt.BLOCK2);
  return {
    ...msg,
    token: copy(msg.token),
    payload: copy(msg.payload),
    path: getOptions(msg, Opt.URI_PATH).map((v) => dec.decode(v)),
    query: getOptions(msg, Opt.URI_QUERY).map((v) => dec.decode(v)),
    observe: obs,
    contentFormat: uintOption(msg, Opt.CONTENT_FORMAT),
    block2: b2 && readBlockSized(b2),
    size2: getOption(msg, Opt.SIZE2) !== undefined,
  };
}

/** One request and what was sent for it: its ACK, its response (piggybacked, separate or NON), for duplicates. */
class Exchange {
  constructor(endpoint, peer, request) {
    this.endpoint = endpoint;
    this.peer = peer;
    this.request = request;
    this.acknowledged = false;
    this.responded = false;
    this.sent = null; // bytes of our ACK (empty or piggybacked) or of a NON response, for duplicates
    this.separate = null; // an outstanding separate CON response
    this.deferTimer = null;
    this.block1 = null;
  }

  get confirmable() { return this.request.type === Type.CON; }

  /** The empty ACK: sent once, only for a CON request that has not been acknowledged yet. */
  accept() {
    this.endpoint.cancel(this.deferTimer);
    if (!this.confirmable || this.acknowledged || this.responded) return;
    this.acknowledged = true;
    this.sent = this.endpoint.transmit(this.peer, { type: Type.ACK, code: 0, messageId: this.request.messageId, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) });
  }

  acceptAfter(ms) {
    if (ms <= 0) this.accept();
    else this.deferTimer = this.endpoint.later(ms, () => this.accept());
  }

  /**
   * resp: {code, options?, payload?, type?}. Without type the response is piggybacked on the ACK if the request
   * is still unacknowledged; with type (ThingsBoard's setConfirmable) it is always a separate message with a new
   * message id, and a CON request then never gets an ACK of its own.
   */
  respond(resp) {
    if (this.responded) return;
    this.responded = true;
    this.endpoint.cancel(this.deferTimer);
    const req = this.request;
    const opts = [...(resp.options ?? [])];
    if (this.block1) opts.push({ number: Opt.BLOCK1, value: blockValue({ num: this.block1.num, more: false, szx: this.block1.szx }) });
    let m = this.endpoint.withBlock2(this.peer, req, { code: resp.code, options: sortOptions(opts), payload: resp.payload ?? new Uint8Array(0) });
    m = { ...m, token: req.token };
    this.endpoint.log.debug("coap", `${this.peer.address}:${this.peer.port} ${req.method} -> ${codeString(m.code)}`);
    this.endpoint.onResponse(this.peer, req, m);
    if (resp.type === undefined && this.confirmable && !this.acknowledged) {
      this.acknowledged = true;
      this.sent = this.endpoint.transmit(this.peer, { ...m, type: Type.ACK, messageId: req.messageId });
    } else if (this.confirmable && resp.type !== Type.NON) {
      this.acknowledged = true;
      this.separate = this.endpoint.sendCon(this.peer, { ...m, type: Type.CON, messageId: this.endpoint.freeMid(this.peer) }, {
        onTimeout: () => this.endpoint.log.debug("coap", `${this.peer.address}:${this.peer.port} separate response was never acknowledged`),
      });
      this.separateMsg = m;
    } else {
      this.sent = this.endpoint.transmit(this.peer, { ...m, type: Type.NON, messageId: this.endpoint.freeMid(this.peer) });
    }
  }

  /** A retransmitted request: repeat what we sent, never run the handler again. */
  duplicate() {
    if (this.sent) this.peer.send(this.sent);
    if (this.separate && this.endpoint.outgoing.has(this.peer.id + "#" + this.separate.messageId)) {
      this.endpoint.transmit(this.peer, { ...this.separateMsg, type: Type.CON, messageId: this.separate.messageId });
    }
  }
}


/**
 * The server's CoAP message layer over any number of peers. `onRequest(exchange)` gets each new request;
 * `onResponse(peer, request, response)` sees each response; `onReset(peer, mid)` (set by the observation layer) an
 * RST that matched no pending CON (it may answer a NON notification).
 * @param {{ log: any, timing?: object, maxBodySize?: number, onRequest: (exchange: any) => void,
 *   onResponse?: (peer: object, request: object, response: object) => void }} options
 */
export function createServerEndpoint(options) {
  return new ServerEndpoint(options);
}

class ServerEndpoint {
  constructor({ log, timing = {}, maxBodySize = 256 * 1024 * 1024, onRequest, onResponse = (_peer, _request, _response) => {} }) {
    this.log = log;
    this.warnMalformed = log.limited ? log.limited("warn", "malformed datagram") : log.warn;
    this.timing = { ...DEFAULT_TIMING, ...timing };
    this.maxBodySize = maxBodySize;
    this.onRequest = onRequest;
    this.onResponse = onResponse;
    /** @type {((peer: any, mid: number) => void) | null} */
    this.onReset = null;
    this.exchanges = new Map(); // peer.id#mid -> {at, exchange}
    this.outgoing = new Map(); // peer.id#mid -> pending CON
    // peer.id#mid -> when a CON or NON of ours last went out with it. RFC 7252 4.5: an ID is not used again toward
    // that peer within EXCHANGE_LIFETIME, or the peer takes the new message for a duplicate of the old and drops it.
    this.usedMids = new Map();
    this.block1Uploads = new Map(); // uri key -> {parts, next, szx, size, expires}
    this.block2Bodies = new Map(); // uri key -> {code, options, body, szx, expires}
    this.timers = new Set();
    this.nextMid = Math.floor(Math.random() * 65536);
    this.closed = false;
    // Transports call receive() unbound.
    this.receive = this.receive.bind(this);
    this.sweeper = setInterval(() => this.sweep(), 1000);
    this.sweeper.unref();
  }

  /** Forgets exchanges past their lifetime and block-wise state past its own. */
  sweep() {
    const now = Date.now();
    for (const [k, v] of this.exchanges) { if (now - v.at > this.timing.exchangeLifetimeMs) this.exchanges.delete(k); else break; }
    for (const [k, at] of this.usedMids) { if (now - at > this.timing.exchangeLifetimeMs) this.usedMids.delete(k); else break; }
    for (const m of [this.block1Uploads, this.block2Bodies]) for (const [k, v] of m) if (v.expires < now) m.delete(k);
  }

  // Timer and datagram callbacks never throw: a fault is logged and the server keeps serving.
  guarded(what, fn) {
    try { fn(); } catch (e) { this.log.error("coap", `${what} failed: ${e.stack ?? e}`); }
  }

  later(ms, fn) {
    const h = setTimeout(() => { this.timers.delete(h); if (!this.closed) this.guarded("timer", fn); }, ms);
    this.timers.add(h);
    return h;
  }

  cancel(h) {
    if (h) { clearTimeout(h); this.timers.delete(h); }
  }

  transmit(peer, msg) {
    const data = coap.encodeMessage(msg);
    if (msg.type === Type.CON || msg.type === Type.NON) {
      const key = peer.id + "#" + msg.messageId;
      this.usedMids.delete(key); // kept in the order they were last used, for the sweep
      this.usedMids.set(key, Date.now());
    }
    if (this.log.enabled("debug")) this.log.debug("coap", `${peer.address}:${peer.port} <- ${Type[msg.type]} ${codeString(msg.code)} mid=${msg.messageId} ${data.length} B`);
    peer.send(data);
    return data;
  }

  /** Whether `mid` is in flight to `peer` or was used toward it within the exchange lifetime. */
  midTaken(peer, mid) {
    const key = peer.id + "#" + mid;
    return this.outgoing.has(key) || this.usedMids.has(key);
  }

  freeMid(peer) {
    for (let i = 0; i < 65536; i++) {
      this.nextMid = (this.nextMid + 1) & 0xffff;
      if (!this.midTaken(peer, this.nextMid)) return this.nextMid;
    }
    throw new Error("no free message id");
  }

  /**
   * A random message id in [lo, hi] that `peer` has not seen from us within the exchange lifetime (ThingsBoard picks
   * notification ids at random; a pick that fell on a recent separate response's id made the node drop an RPC).
   */
  randomMid(peer, lo = 0, hi = 64999) {
    for (let i = 0; i < 32; i++) {
      const mid = lo + Math.floor(Math.random() * (hi - lo + 1));
      if (!this.midTaken(peer, mid)) return mid;
    }
    return this.freeMid(peer);
  }

  /**
   * Sends a CON and retransmits it until ACK/RST or until the last timeout. hooks.onRetransmit(attempt) may return
   * a replacement message (a fresher notification) that takes over the retransmission state.
   */
  sendCon(peer, msg, hooks = {}) {
    const p = { peer, msg, attempt: 0, timeout: this.timing.ackTimeoutMs * (1 + Math.random() * (this.timing.ackRandomFactor - 1)), timer: null, hooks, key: peer.id + "#" + msg.messageId };
    const arm = () => {
      p.timer = this.later(p.timeout, () => {
        if (p.attempt >= this.timing.maxRetransmit) {
          this.outgoing.delete(p.key);
          hooks.onTimeout?.();
          return;
        }
        p.attempt++;
        p.timeout *= 2;
        const fresher = hooks.onRetransmit?.(p.attempt);
        if (fresher) {
          this.outgoing.delete(p.key);
          p.msg = fresher;
          p.key = peer.id + "#" + fresher.messageId;
          this.outgoing.set(p.key, p);
        }
        this.transmit(peer, p.msg);
        arm();
      });
    };
    this.outgoing.set(p.key, p);
    this.transmit(peer, msg);
    arm();
    return {
      get messageId() { return p.msg.messageId; },
      cancel: () => { this.cancel(p.timer); this.outgoing.delete(p.key); },
    };
  }

  onEmpty(peer, msg) {
    if (msg.type === Type.CON || msg.type === Type.NON) {
      // A CoAP ping: Californium answers every empty CON/NON with RST.
      this.transmit(peer, { type: Type.RST, code: 0, messageId: msg.messageId, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) });
      return;
    }
    const key = peer.id + "#" + msg.messageId;
    const p = this.outgoing.get(key);
    if (!p) {
      this.log.debug("coap", `${peer.address}:${peer.port} unmatched ${Type[msg.type]} mid=${msg.messageId}`);
      if (msg.type === Type.RST) this.onReset?.(peer, msg.messageId);
      return;
    }
    this.outgoing.delete(key);
    this.cancel(p.timer);
    if (msg.type === Type.ACK) p.hooks.onAck?.();
    else p.hooks.onRst?.();
  }

  /** Splits a body for Block2: first (or requested) block now, the rest kept for follow-up GETs. */
  withBlock2(peer, req, resp) {
    // A handler that sets Block2 itself is answered as it is (ThingsBoard's own OTA block code, section 10.2).
    if (resp.options.some((o) => o.number === Opt.BLOCK2)) return resp;
    const asked = req?.block2;
    const body = resp.payload ?? new Uint8Array(0);
    if (body.length <= MAX_MESSAGE_SIZE && !asked) return resp;
    const szx = asked ? Math.min(asked.szx, PREFERRED_BLOCK_SZX) : PREFERRED_BLOCK_SZX;
    const size = 1 << (szx + 4);
    const num = asked ? Math.floor((asked.num * asked.size) / size) : 0;
    const start = num * size;
    const more = start + size < body.length;
    const opts = resp.options.filter((o) => o.number !== Opt.BLOCK2 && o.number !== Opt.SIZE2);
    opts.push({ number: Opt.BLOCK2, value: blockValue({ num: num, more: more, szx: szx }) });
    if (req?.size2 || (num === 0 && more)) opts.push({ number: Opt.SIZE2, value: uintValue(body.length) });
    if (more && req) {
      this.block2Bodies.set(uriKey(peer, req), { code: resp.code, options: resp.options.filter((o) => o.number !== Opt.OBSERVE), body, expires: Date.now() + this.timing.blockwiseLifetimeMs });
    }
    return { ...resp, options: sortOptions(opts), payload: body.subarray(start, Math.min(start + size, body.length)) };
  }

  quickResponse(peer, req, code, payload, extra = []) {
    const ex = new Exchange(this, peer, req);
    this.remember(peer, req, ex);
    ex.respond({ code, options: extra, payload: payload === undefined ? undefined : bytes(payload) });
  }

  remember(peer, msg, ex) {
    if (this.exchanges.size >= MAX_EXCHANGES) this.exchanges.delete(this.exchanges.keys().next().value);
    this.exchanges.set(peer.id + "#" + msg.messageId, { at: Date.now(), exchange: ex });
  }

  /** Block1 reassembly; returns true when the request was fully handled here. */
  collectBlock1(peer, req, ex) {
    const raw = getOption(req, Opt.BLOCK1);
    if (raw === undefined) return false;
    const blk = readBlockSized(raw);
    const size1 = uintOption(req, Opt.SIZE1);
    const key = uriKey(peer, req);
    const tooLarge = () => {
      this.block1Uploads.delete(key);
      ex.respond({ code: Code.REQUEST_ENTITY_TOO_LARGE, options: [{ number: Opt.SIZE1, value: uintValue(this.maxBodySize) }], payload: bytes(`body too large, max. ${this.maxBodySize} bytes`) });
      return true;
    };
    if (blk.szx === 7) { ex.respond({ code: Code.BAD_OPTION }); return true; }
    if (size1 !== undefined && size1 > this.maxBodySize) return tooLarge();
    let st = this.block1Uploads.get(key);
    if (blk.num === 0) { st = { parts: [], length: 0, next: 0, szx: blk.szx }; this.block1Uploads.set(key, st); }
    if (!st || blk.num !== st.next) {
      this.block1Uploads.delete(key);
      ex.respond({ code: Code.REQUEST_ENTITY_INCOMPLETE, payload: bytes("Missing block") });
      return true;
    }
    st.parts.push(req.payload);
    st.length += req.payload.length;
    st.next = blk.num + 1;
    st.expires = Date.now() + this.timing.blockwiseLifetimeMs;
    if (st.length > this.maxBodySize) return tooLarge();
    if (blk.more) {
      ex.respond({ code: Code.CONTINUE, options: [{ number: Opt.BLOCK1, value: blockValue({ num: blk.num, more: true, szx: blk.szx }) }] });
      return true;
    }
    this.block1Uploads.delete(key);
    req.payload = new Uint8Array(Buffer.concat(st.parts));
    ex.block1 = { num: blk.num, szx: blk.szx };
    return false;
  }

  /** A follow-up GET for block n > 0 of a stored Block2 body; returns true when served. */
  serveBlock2(peer, req, ex) {
    if (!req.block2 || req.block2.num === 0) return false;
    const st = this.block2Bodies.get(uriKey(peer, req));
    if (!st) return false;
    const start = req.block2.num * req.block2.size;
    if (start >= st.body.length) { ex.respond({ code: Code.BAD_OPTION, payload: bytes("Block2 out of range") }); return true; }
    const more = start + req.block2.size < st.body.length;
    if (!more) this.block2Bodies.delete(uriKey(peer, req));
    else st.expires = Date.now() + this.timing.blockwiseLifetimeMs;
    const opts = st.options.filter((o) => o.number !== Opt.BLOCK2 && o.number !== Opt.SIZE2);
    opts.push({ number: Opt.BLOCK2, value: blockValue({ num: req.block2.num, more: more, szx: Math.min(req.block2.szx, PREFERRED_BLOCK_SZX) }) });
    ex.respond({ code: st.code, options: sortOptions(opts), payload: st.body.subarray(start, Math.min(start + req.block2.size, st.body.length)) });
    return true;
  }

  receive(peer, data) {
    if (!this.closed) this.guarded(`datagram from ${peer.address}:${peer.port}`, () => this.handleDatagram(peer, data));
  }

  handleDatagram(peer, data) {
    if (data.length < 4 || data[0] >> 6 !== 1) {
      this.log.debug("coap", `${peer.address}:${peer.port} dropped ${data.length}-byte datagram that is not CoAP`);
      return;
    }
    let msg;
    try {
      msg = coap.decodeMessage(data);
    } catch (e) {
      const type = (data[0] >> 4) & 3;
      const mid = (data[2] << 8) | data[3];
      this.warnMalformed("coap", `${peer.address}:${peer.port} malformed message (${e.reason ?? "error"}: ${e.message})${type === Type.CON ? ", rejected with RST" : ", ignored"}`);
      // RFC 7252 4.2 and Californium: reject a malformed confirmable message, ignore anything else.
      if (type === Type.CON) this.transmit(peer, { type: Type.RST, code: 0, messageId: mid, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) });
      return;
    }
    if (msg.code === Code.EMPTY) return this.onEmpty(peer, msg);
    if (msg.code >> 5 !== 0) {
      // A response to nothing we asked: Californium rejects unmatched CON responses.
      if (msg.type === Type.CON) this.transmit(peer, { type: Type.RST, code: 0, messageId: msg.messageId, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) });
      return;
    }
    if (msg.type !== Type.CON && msg.type !== Type.NON) return;
    const dup = this.exchanges.get(peer.id + "#" + msg.messageId);
    if (dup) {
      this.log.debug("coap", `${peer.address}:${peer.port} duplicate mid=${msg.messageId}`);
      dup.exchange.duplicate();
      return;
    }
    const req = describeRequest(msg);
    req.method = ["EMPTY", "GET", "POST", "PUT", "DELETE", "FETCH", "PATCH", "iPATCH"][msg.code] ?? codeString(msg.code);
    const unknownCritical = msg.options.find((o) => o.number % 2 === 1 && !KNOWN_OPTIONS.has(o.number));
    if (unknownCritical) return this.quickResponse(peer, req, Code.BAD_OPTION, `Unknown critical option ${unknownCritical.number}`);
    const ex = new Exchange(this, peer, req);
    this.remember(peer, req, ex);
    if (this.collectBlock1(peer, req, ex) || this.serveBlock2(peer, req, ex)) return;
    try {
      this.onRequest(ex);
    } catch (e) {
      this.log.error("coap", `handler failed: ${e.stack ?? e}`);
      ex.respond({ code: Code.INTERNAL_SERVER_ERROR });
    }
  }

  /** Sends a NON message (and returns its bytes). */
  sendNon(peer, msg) {
    return this.transmit(peer, { ...msg, type: Type.NON });
  }

  /** Block2 for a notification: the first block goes out, the rest waits under the registration's URI. */
  blockwiseNotification(peer, registration, msg) {
    return { ...this.withBlock2(peer, { ...registration, block2: undefined, size2: false }, msg), token: msg.token, type: msg.type, messageId: msg.messageId };
  }

  close() {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const h of this.timers) clearTimeout(h);
    this.timers.clear();
    this.outgoing.clear();
  }
}
