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

/**
 * @param {{ log: any, timing?: object, maxBodySize?: number, onRequest: (exchange: any) => void,
 *   onResponse?: (peer: object, request: object, response: object) => void }} options
 */
export function createEndpoint({ log, timing: t = {}, maxBodySize = 256 * 1024 * 1024, onRequest, onResponse = () => {} }) {
  const warnMalformed = log.limited ? log.limited("warn", "malformed datagram") : log.warn;
  const timing = { ...DEFAULT_TIMING, ...t };
  const exchanges = new Map(); // peer.id#mid -> {at, exchange}
  const outgoing = new Map(); // peer.id#mid -> pending CON
  const block1 = new Map(); // uri key -> {parts, next, szx, size, expires}
  const block2 = new Map(); // uri key -> {code, options, body, szx, expires}
  const timers = new Set();
  let nextMid = Math.floor(Math.random() * 65536);
  let closed = false;

  // Timer and datagram callbacks never throw: a fault is logged and the server keeps serving.
  const guarded = (what, fn) => {
    try { fn(); } catch (e) { log.error("coap", `${what} failed: ${e.stack ?? e}`); }
  };
  const later = (ms, fn) => {
    const h = setTimeout(() => { timers.delete(h); if (!closed) guarded("timer", fn); }, ms);
    timers.add(h);
    return h;
  };
  const cancel = (h) => { if (h) { clearTimeout(h); timers.delete(h); } };

  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const [k, v] of exchanges) { if (now - v.at > timing.exchangeLifetimeMs) exchanges.delete(k); else break; }
    for (const m of [block1, block2]) for (const [k, v] of m) if (v.expires < now) m.delete(k);
  }, 1000);
  sweeper.unref();

  function transmit(peer, msg) {
    const data = coap.encodeMessage(msg);
    if (log.enabled("debug")) log.debug("coap", `${peer.address}:${peer.port} <- ${Type[msg.type]} ${codeString(msg.code)} mid=${msg.messageId} ${data.length} B`);
    peer.send(data);
    return data;
  }

  function freeMid(peer) {
    for (let i = 0; i < 65536; i++) {
      nextMid = (nextMid + 1) & 0xffff;
      if (!outgoing.has(peer.id + "#" + nextMid)) return nextMid;
    }
    throw new Error("no free message id");
  }

  /** A random message id in [lo, hi] not in flight to this peer (ThingsBoard picks notification ids this way). */
  function randomMid(peer, lo = 0, hi = 64999) {
    for (let i = 0; i < 32; i++) {
      const mid = lo + Math.floor(Math.random() * (hi - lo + 1));
      if (!outgoing.has(peer.id + "#" + mid)) return mid;
    }
    return freeMid(peer);
  }

  /**
   * Sends a CON and retransmits it until ACK/RST or until the last timeout. hooks.onRetransmit(attempt) may return
   * a replacement message (a fresher notification) that takes over the retransmission state.
   */
  function sendCon(peer, msg, hooks = {}) {
    const p = { peer, msg, attempt: 0, timeout: timing.ackTimeoutMs * (1 + Math.random() * (timing.ackRandomFactor - 1)), timer: null, hooks, key: peer.id + "#" + msg.messageId };
    const arm = () => {
      p.timer = later(p.timeout, () => {
        if (p.attempt >= timing.maxRetransmit) {
          outgoing.delete(p.key);
          hooks.onTimeout?.();
          return;
        }
        p.attempt++;
        p.timeout *= 2;
        const fresher = hooks.onRetransmit?.(p.attempt);
        if (fresher) {
          outgoing.delete(p.key);
          p.msg = fresher;
          p.key = peer.id + "#" + fresher.messageId;
          outgoing.set(p.key, p);
        }
        transmit(peer, p.msg);
        arm();
      });
    };
    outgoing.set(p.key, p);
    transmit(peer, msg);
    arm();
    return {
      get messageId() { return p.msg.messageId; },
      cancel() { cancel(p.timer); outgoing.delete(p.key); },
    };
  }

  function onEmpty(peer, msg) {
    if (msg.type === Type.CON || msg.type === Type.NON) {
      // A CoAP ping: Californium answers every empty CON/NON with RST.
      transmit(peer, { type: Type.RST, code: 0, messageId: msg.messageId, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) });
      return;
    }
    const key = peer.id + "#" + msg.messageId;
    const p = outgoing.get(key);
    if (!p) {
      log.debug("coap", `${peer.address}:${peer.port} unmatched ${Type[msg.type]} mid=${msg.messageId}`);
      if (msg.type === Type.RST) api.onReset?.(peer, msg.messageId);
      return;
    }
    outgoing.delete(key);
    cancel(p.timer);
    if (msg.type === Type.ACK) p.hooks.onAck?.();
    else p.hooks.onRst?.();
  }

  /** Splits a body for Block2: first (or requested) block now, the rest kept for follow-up GETs. */
  function withBlock2(peer, req, resp) {
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
      block2.set(uriKey(peer, req), { code: resp.code, options: resp.options.filter((o) => o.number !== Opt.OBSERVE), body, expires: Date.now() + timing.blockwiseLifetimeMs });
    }
    return { ...resp, options: sortOptions(opts), payload: body.subarray(start, Math.min(start + size, body.length)) };
  }

  class Exchange {
    constructor(peer, request) {
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
      cancel(this.deferTimer);
      if (!this.confirmable || this.acknowledged || this.responded) return;
      this.acknowledged = true;
      this.sent = transmit(this.peer, { type: Type.ACK, code: 0, messageId: this.request.messageId, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) });
    }

    acceptAfter(ms) {
      if (ms <= 0) this.accept();
      else this.deferTimer = later(ms, () => this.accept());
    }

    /**
     * resp: {code, options?, payload?, type?}. Without type the response is piggybacked on the ACK if the request
     * is still unacknowledged; with type (ThingsBoard's setConfirmable) it is always a separate message with a new
     * message id, and a CON request then never gets an ACK of its own.
     */
    respond(resp) {
      if (this.responded) return;
      this.responded = true;
      cancel(this.deferTimer);
      const req = this.request;
      const opts = [...(resp.options ?? [])];
      if (this.block1) opts.push({ number: Opt.BLOCK1, value: blockValue({ num: this.block1.num, more: false, szx: this.block1.szx }) });
      let m = withBlock2(this.peer, req, { code: resp.code, options: sortOptions(opts), payload: resp.payload ?? new Uint8Array(0) });
      m = { ...m, token: req.token };
      log.debug("coap", `${this.peer.address}:${this.peer.port} ${req.method} -> ${codeString(m.code)}`);
      onResponse(this.peer, req, m);
      if (resp.type === undefined && this.confirmable && !this.acknowledged) {
        this.acknowledged = true;
        this.sent = transmit(this.peer, { ...m, type: Type.ACK, messageId: req.messageId });
      } else if (this.confirmable && resp.type !== Type.NON) {
        this.acknowledged = true;
        this.separate = sendCon(this.peer, { ...m, type: Type.CON, messageId: freeMid(this.peer) }, {
          onTimeout: () => log.debug("coap", `${this.peer.address}:${this.peer.port} separate response was never acknowledged`),
        });
        this.separateMsg = m;
      } else {
        this.sent = transmit(this.peer, { ...m, type: Type.NON, messageId: freeMid(this.peer) });
      }
    }

    /** A retransmitted request: repeat what we sent, never run the handler again. */
    duplicate() {
      if (this.sent) this.peer.send(this.sent);
      if (this.separate && outgoing.has(this.peer.id + "#" + this.separate.messageId)) {
        transmit(this.peer, { ...this.separateMsg, type: Type.CON, messageId: this.separate.messageId });
      }
    }
  }

  function quickResponse(peer, req, code, payload, extra = []) {
    const ex = new Exchange(peer, req);
    remember(peer, req, ex);
    ex.respond({ code, options: extra, payload: payload === undefined ? undefined : bytes(payload) });
  }

  function remember(peer, msg, ex) {
    if (exchanges.size >= MAX_EXCHANGES) exchanges.delete(exchanges.keys().next().value);
    exchanges.set(peer.id + "#" + msg.messageId, { at: Date.now(), exchange: ex });
  }

  /** Block1 reassembly; returns true when the request was fully handled here. */
  function collectBlock1(peer, req, ex) {
    const raw = getOption(req, Opt.BLOCK1);
    if (raw === undefined) return false;
    const blk = readBlockSized(raw);
    const size1 = uintOption(req, Opt.SIZE1);
    const key = uriKey(peer, req);
    const tooLarge = () => {
      block1.delete(key);
      ex.respond({ code: Code.REQUEST_ENTITY_TOO_LARGE, options: [{ number: Opt.SIZE1, value: uintValue(maxBodySize) }], payload: bytes(`body too large, max. ${maxBodySize} bytes`) });
      return true;
    };
    if (blk.szx === 7) { ex.respond({ code: Code.BAD_OPTION }); return true; }
    if (size1 !== undefined && size1 > maxBodySize) return tooLarge();
    let st = block1.get(key);
    if (blk.num === 0) { st = { parts: [], length: 0, next: 0, szx: blk.szx }; block1.set(key, st); }
    if (!st || blk.num !== st.next) {
      block1.delete(key);
      ex.respond({ code: Code.REQUEST_ENTITY_INCOMPLETE, payload: bytes("Missing block") });
      return true;
    }
    st.parts.push(req.payload);
    st.length += req.payload.length;
    st.next = blk.num + 1;
    st.expires = Date.now() + timing.blockwiseLifetimeMs;
    if (st.length > maxBodySize) return tooLarge();
    if (blk.more) {
      ex.respond({ code: Code.CONTINUE, options: [{ number: Opt.BLOCK1, value: blockValue({ num: blk.num, more: true, szx: blk.szx }) }] });
      return true;
    }
    block1.delete(key);
    req.payload = new Uint8Array(Buffer.concat(st.parts));
    ex.block1 = { num: blk.num, szx: blk.szx };
    return false;
  }

  /** A follow-up GET for block n > 0 of a stored Block2 body; returns true when served. */
  function serveBlock2(peer, req, ex) {
    if (!req.block2 || req.block2.num === 0) return false;
    const st = block2.get(uriKey(peer, req));
    if (!st) return false;
    const start = req.block2.num * req.block2.size;
    if (start >= st.body.length) { ex.respond({ code: Code.BAD_OPTION, payload: bytes("Block2 out of range") }); return true; }
    const more = start + req.block2.size < st.body.length;
    if (!more) block2.delete(uriKey(peer, req));
    else st.expires = Date.now() + timing.blockwiseLifetimeMs;
    const opts = st.options.filter((o) => o.number !== Opt.BLOCK2 && o.number !== Opt.SIZE2);
    opts.push({ number: Opt.BLOCK2, value: blockValue({ num: req.block2.num, more: more, szx: Math.min(req.block2.szx, PREFERRED_BLOCK_SZX) }) });
    ex.respond({ code: st.code, options: sortOptions(opts), payload: st.body.subarray(start, Math.min(start + req.block2.size, st.body.length)) });
    return true;
  }

  function receive(peer, data) {
    if (!closed) guarded(`datagram from ${peer.address}:${peer.port}`, () => handleDatagram(peer, data));
  }

  function handleDatagram(peer, data) {
    if (data.length < 4 || data[0] >> 6 !== 1) {
      log.debug("coap", `${peer.address}:${peer.port} dropped ${data.length}-byte datagram that is not CoAP`);
      return;
    }
    let msg;
    try {
      msg = coap.decodeMessage(data);
    } catch (e) {
      const type = (data[0] >> 4) & 3;
      const mid = (data[2] << 8) | data[3];
      warnMalformed("coap", `${peer.address}:${peer.port} malformed message (${e.reason ?? "error"}: ${e.message})${type === Type.CON ? ", rejected with RST" : ", ignored"}`);
      // RFC 7252 4.2 and Californium: reject a malformed confirmable message, ignore anything else.
      if (type === Type.CON) transmit(peer, { type: Type.RST, code: 0, messageId: mid, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) });
      return;
    }
    if (msg.code === Code.EMPTY) return onEmpty(peer, msg);
    if (msg.code >> 5 !== 0) {
      // A response to nothing we asked: Californium rejects unmatched CON responses.
      if (msg.type === Type.CON) transmit(peer, { type: Type.RST, code: 0, messageId: msg.messageId, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) });
      return;
    }
    if (msg.type !== Type.CON && msg.type !== Type.NON) return;
    const dup = exchanges.get(peer.id + "#" + msg.messageId);
    if (dup) {
      log.debug("coap", `${peer.address}:${peer.port} duplicate mid=${msg.messageId}`);
      dup.exchange.duplicate();
      return;
    }
    const req = describeRequest(msg);
    req.method = ["EMPTY", "GET", "POST", "PUT", "DELETE", "FETCH", "PATCH", "iPATCH"][msg.code] ?? codeString(msg.code);
    const unknownCritical = msg.options.find((o) => o.number % 2 === 1 && !KNOWN_OPTIONS.has(o.number));
    if (unknownCritical) return quickResponse(peer, req, Code.BAD_OPTION, `Unknown critical option ${unknownCritical.number}`);
    const ex = new Exchange(peer, req);
    remember(peer, req, ex);
    if (collectBlock1(peer, req, ex) || serveBlock2(peer, req, ex)) return;
    try {
      onRequest(ex);
    } catch (e) {
      log.error("coap", `handler failed: ${e.stack ?? e}`);
      ex.respond({ code: Code.INTERNAL_SERVER_ERROR });
    }
  }

  const api = {
    /** Set by the observation layer: an RST that matched no pending CON (it may answer a NON notification). */
    onReset: null,
    receive,
    sendCon,
    /** Sends a NON message (and returns its bytes). */
    sendNon: (peer, msg) => transmit(peer, { ...msg, type: Type.NON }),
    randomMid,
    freeMid,
    /** Block2 for a notification: the first block goes out, the rest waits under the registration's URI. */
    blockwiseNotification: (peer, registration, msg) => ({ ...withBlock2(peer, { ...registration, block2: undefined, size2: false }, msg), token: msg.token, type: msg.type, messageId: msg.messageId }),
    close() {
      closed = true;
      clearInterval(sweeper);
      for (const h of timers) clearTimeout(h);
      timers.clear();
      outgoing.clear();
    },
  };
  return api;
}
