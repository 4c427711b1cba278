// The CoAP client message layer over one Transport (one server): reliable CON transmission with RFC 7252
// back-off, response matching (piggybacked, separate, and ThingsBoard's unacknowledged CON response), duplicate
// detection, NSTART queuing, Observe (RFC 7641) and block-wise transfers (RFC 7959).
import { Code, CoapError, CoapMessage, CoapOption, Opt, Type, codeString } from "./message";
import { EMPTY, addOption, createMessage, decodeMessage, encodeMessage, getOption, optionBytes, readBlock, readString, readUint, setOption } from "./codec";
import { downloadBlock, uploadBlock } from "./blockwise";
import { isFresher } from "./observe";
import { pathOptions } from "./uri";
import { Transport } from "../transport/types";
import { clearTimer } from "../platform/timer";

/**
 * Transmission parameters (RFC 7252 section 4.8); times in ms.
 * @firmwareOnly
 */
export interface EndpointOptions {
  /** Default 2000. */
  ackTimeout?: number;
  /** Default 1.5. */
  ackRandomFactor?: number;
  /** Default 4. */
  maxRetransmit?: number;
  /** Requests in flight at once; more wait in a queue. Default 1. */
  nstart?: number;
  /** How long a message ID counts as seen, for CON (default 247000) and NON (default 145000) messages. */
  exchangeLifetime?: number;
  nonLifetime?: number;
  /** Wait for a separate response after the empty ACK, or for a NON request's response. Default MAX_TRANSMIT_WAIT. */
  responseTimeout?: number;
  /** Block size exponent (size 2^(szx+4)) for Block1 uploads, and for Block2 if set (early negotiation). Default 6. */
  blockSzx?: number;
  /** Largest body a Block2 download reassembles. Default 65536. */
  maxBodySize?: number;
  /** Silence after which an observation counts as ended. Default: the last notification's Max-Age plus ackTimeout. */
  observeSilence?: number;
}

/** @firmwareOnly */
export interface CoapRequest {
  /** Code.GET (default), POST, PUT, DELETE, ... */
  method?: number;
  /** "/path/segments?query&items", percent-encoded where needed. */
  path?: string;
  /** More options, in any order. */
  options?: CoapOption[];
  payload?: Uint8Array | string;
  contentFormat?: number;
  accept?: number;
  /** false sends NON. Default true. */
  confirmable?: boolean;
  /** What errors call the request; default "METHOD /path". Set it when the path holds a secret (an access token). */
  name?: string;
}

export type ResponseCallback = (error: CoapError | null, response?: CoapMessage) => void;

export interface Observation {
  /** Ends the observation. `proactive` (default true) also sends the GET with Observe 1, waiting for no response. */
  cancel(proactive?: boolean): void;
}

export interface Endpoint {
  /** Sends a request. A block-wise response comes as its first block's message with the whole body as payload. */
  request(req: CoapRequest): Promise<CoapMessage>;
  request(req: CoapRequest, done: ResponseCallback): void;
  /**
   * Registers an observation. `onNotify` gets the first response and every fresh notification (whole bodies);
   * `onEnd` gets why the relation ended: "deleted" (2.02), "refused" (error code), "not-observed" (no Observe in
   * the response), "silence", "closed", or the request's error. Re-register from onEnd when needed.
   */
  observe(req: CoapRequest, onNotify: (m: CoapMessage) => void, onEnd: (e: CoapError) => void): Observation;
  /** CoAP ping: an empty CON, answered by RST. */
  ping(done: (error: CoapError | null) => void): void;
  /** Fails everything pending with "closed" and closes the transport. */
  close(): void;
}

/** @firmwareOnly */
interface Exchange {
  m: CoapMessage;
  wire: Uint8Array;
  name: string;
  done: ResponseCallback;
  /** Complete at the ACK: a deregistration or a ping, whose response nobody waits for. */
  ackOnly: boolean;
  acked: boolean;
  tries: number;
  wait: number;
  timer?: number;
}

/** @firmwareOnly */
interface Relation {
  m: CoapMessage;
  name: string;
  seq: number;
  at: number;
  timer?: number;
  onNotify: (m: CoapMessage) => void;
  onEnd: (e: CoapError) => void;
}

function fail(code: string, message: string): CoapError {
  return new CoapError(code, message);
}

export function createEndpoint(transport: Transport, options?: EndpointOptions): Endpoint {
  const o = options || {};
  const ackTimeout = o.ackTimeout || 2000;
  const factor = o.ackRandomFactor || 1.5;
  const maxRetransmit = o.maxRetransmit === undefined ? 4 : o.maxRetransmit;
  const responseTimeout = o.responseTimeout || ackTimeout * ((2 << maxRetransmit) - 1) * factor;
  const maxBody = o.maxBodySize || 65536;
  // E.hwRand(), not Math.random(): Espruino never seeds Math.random, so it gives the same numbers after every boot
  // (the same first Message ID, which a server still deduplicating the previous boot's exchange ignores, and the same
  // retransmission jitter on every node of a fleet).
  let mid = E.hwRand() & 65535;
  const queue: Exchange[] = [];
  const live: Exchange[] = [];
  const relations: Relation[] = [];
  // Message IDs of CON and NON messages received lately, with the ACK or RST sent for them.
  let seen: { mid: number; until: number; reply?: Uint8Array }[] = [];
  let closed: CoapError | undefined;

  const send = (b: Uint8Array) => transport.send(b);

  function token(): Uint8Array {
    const r = E.hwRand();
    return new Uint8Array([r, r >> 8, r >> 16, r >> 24]);
  }

  /** An empty ACK or RST for message `messageId`, encoded. */
  function empty(type: number, messageId: number): Uint8Array {
    return new Uint8Array([64 | (type << 4), 0, messageId >> 8, messageId]);
  }

  /** What errors call a request: "CoAP " and its name, or its method and path. */
  function describe(req: CoapRequest, m: CoapMessage): string {
    if (req.name) return "CoAP " + req.name;
    let path = "";
    for (let k = 0; k < m.options.length; k++) if (m.options[k].number == Opt.URI_PATH) path += "/" + readString(m.options[k].value);
    return "CoAP " + (["GET", "POST", "PUT", "DELETE"][m.code - 1] || codeString(m.code)) + " " + (path || "/");
  }

  function arm(x: Exchange, ms: number) {
    clearTimer(x.timer);
    x.timer = setTimeout(() => {
      x.timer = undefined;
      if (live.indexOf(x) < 0) return;
      if (x.m.type == Type.CON && !x.acked && x.tries++ < maxRetransmit) {
        send(x.wire);
        arm(x, (x.wait *= 2));
      } else {
        finish(x, fail("timeout", x.name + (x.m.type != Type.CON || x.acked ? " got no response" : " timed out after " + x.tries + " transmissions")));
      }
    }, ms);
  }

  function pump() {
    while (queue.length && live.length < (o.nstart || 1)) {
      const x = queue.shift() as Exchange;
      live.push(x);
      mid = (mid + 1) & 0xffff;
      x.m.messageId = mid;
      x.wire[2] = mid >> 8;
      x.wire[3] = mid;
      send(x.wire);
      arm(x, x.m.type == Type.CON ? x.wait : responseTimeout);
    }
  }

  function finish(x: Exchange, err: CoapError | null, res?: CoapMessage) {
    const i = live.indexOf(x);
    if (i < 0) return;
    clearTimer(x.timer);
    live.splice(i, 1);
    // The queue moves on first: a callback that throws must not leave it stalled.
    pump();
    x.done(err, res);
  }

  /** One message exchange: `m` (with a token set) sent reliably, its response or error to `done`. */
  function exchange(m: CoapMessage, name: string, done: ResponseCallback, ackOnly?: boolean) {
    let wire: Uint8Array;
    // Later, not now: a caller that retries from its error callback must not recurse without end.
    if (closed) return setTimeout(() => done(closed as CoapError), 0);
    try {
      wire = encodeMessage(m);
    } catch (e) {
      return done(e as CoapError);
    }
    queue.push({ m: m, wire: wire, name: name, done: done, ackOnly: !!ackOnly, acked: false, tries: 0, wait: ackTimeout * (1 + ((E.hwRand() & 65535) / 65536) * (factor - 1)) });
    pump();
  }

  /** Continues a response that has Block2 with more blocks: fetches the rest and hands over the whole body. */
  function download(m: CoapMessage, first: CoapMessage, name: string, done: ResponseCallback) {
    const parts: Uint8Array[] = [];
    let got = 0;
    const etag = readString(getOption(first, Opt.ETAG));
    // One token for every block request of the download (some servers key block state by token), never the
    // observation's: a notification arriving meanwhile must not pass for a block.
    const tok = token();
    const step = (err: CoapError | null, res?: CoapMessage) => {
      if (err) return done(err);
      const r = res as CoapMessage;
      const v = getOption(r, Opt.BLOCK2);
      if (!v && !parts.length) return done(null, r);
      const b = readBlock(v);
      const size = 1 << (b.szx + 4);
      if (!v || b.szx > 6 || b.num * size != got || readString(getOption(r, Opt.ETAG)) != etag) {
        return done(fail("block-mismatch", name + ": block " + b.num + " does not continue the body"));
      }
      got += r.payload.length;
      if (got > maxBody || readUint(getOption(r, Opt.SIZE2)) > maxBody) {
        return done(fail("too-large", name + ": body over " + maxBody + " bytes"));
      }
      parts.push(r.payload);
      if (!b.more) {
        // The first response stands for the whole: it carries the notification's Observe and the Size2, and no
        // longer a Block2, since its payload is now the whole body.
        first.payload = new Uint8Array(got);
        for (let k = 0, at = 0; k < parts.length; at += parts[k++].length) first.payload.set(parts[k], at);
        return done(null, setOption(first, Opt.BLOCK2));
      }
      const next = downloadBlock(m, got / size, b.szx);
      next.token = tok;
      exchange(next, name, step);
    };
    step(null, first);
  }

  /** Sends `m` with `body`, block-wise when it does not fit one block, then downloads a block-wise response. */
  function transfer(m: CoapMessage, body: Uint8Array, name: string, done: ResponseCallback) {
    // One token for all blocks of an upload: some servers (node-coap) reassemble Block1 by token.
    const tok = m.token.length ? m.token : token();
    // What one datagram carries (over DTLS a record's room): the message without payload, a Block1 and a Size1
    // option and the payload marker leave the rest for the block.
    const room = transport.room ? transport.room() : 0;
    const head = room ? encodeMessage(createMessage(m.type, m.code, tok, m.options, EMPTY)).length + 12 : 0;
    const fit = (szx: number) => {
      while (room && szx > 0 && (1 << (szx + 4)) + head > room) szx--;
      return szx;
    };
    const upload = (num: number, szx: number) => {
      const whole = !num && (room ? body.length + head <= room : body.length <= 1 << (szx + 4));
      const part = whole ? createMessage(m.type, m.code, tok, m.options, body) : uploadBlock(m, body, num, szx);
      part.token = tok;
      exchange(part, name, (err, res) => {
        if (err) return done(err);
        const r = res as CoapMessage;
        const v = getOption(r, Opt.BLOCK1);
        const b = readBlock(v);
        const size = 1 << (szx + 4);
        // The server may ask for smaller blocks; what it took so far still counts (RFC 7959 section 2.3).
        if (r.code == Code.CONTINUE && v && !whole && (num + 1) * size < body.length && b.szx <= szx) {
          return upload(((num + 1) * size) >> (b.szx + 4), b.szx);
        }
        if (r.code == Code.REQUEST_ENTITY_TOO_LARGE && v && b.szx < szx) return upload(0, b.szx);
        download(part, r, name, done);
      });
    };
    upload(0, fit(o.blockSzx === undefined ? 6 : o.blockSzx));
  }

  function build(req: CoapRequest): CoapMessage {
    const m = createMessage(req.confirmable === false ? Type.NON : Type.CON, req.method || 1, EMPTY, pathOptions(req.path || ""));
    const extra = req.options || [];
    for (let k = 0; k < extra.length; k++) addOption(m, extra[k].number, extra[k].value);
    if (req.contentFormat !== undefined) addOption(m, Opt.CONTENT_FORMAT, req.contentFormat);
    if (req.accept !== undefined) addOption(m, Opt.ACCEPT, req.accept);
    if (o.blockSzx !== undefined && !getOption(m, Opt.BLOCK2)) addOption(m, Opt.BLOCK2, o.blockSzx);
    return m;
  }

  /** Sends request `req`; for an observation `rel`, with Observe 0 and the relation's own token. */
  function start(req: CoapRequest, done: ResponseCallback, rel?: Relation) {
    let m: CoapMessage;
    try {
      m = build(req);
    } catch (e) {
      return done(e as CoapError);
    }
    const name = describe(req, m);
    if (rel) {
      setOption(m, Opt.OBSERVE, 0);
      m.token = token();
      rel.m = m;
      rel.name = name;
    }
    transfer(m, optionBytes(req.payload || EMPTY), name, done);
  }

  /** Forgets an observation; false if it had already ended. */
  function drop(rel: Relation): boolean {
    const i = relations.indexOf(rel);
    if (i >= 0) {
      relations.splice(i, 1);
      clearTimer(rel.timer);
    }
    return i >= 0;
  }

  function end(rel: Relation, err: CoapError) {
    if (drop(rel)) rel.onEnd(err);
  }

  /** A response on an observation: the first one or a notification. */
  function notified(rel: Relation, r: CoapMessage) {
    const v = getOption(r, Opt.OBSERVE);
    const n = readUint(v);
    const now = Date.now();
    // 2.02 and errors end the relation whatever their Observe value: ThingsBoard sends its 2.02 with Observe 0.
    if (r.code == Code.DELETED || r.code > 0x7f) {
      return end(rel, fail(r.code == Code.DELETED ? "deleted" : "refused", rel.name + ": observation ended by " + codeString(r.code)));
    }
    if (relations.indexOf(rel) < 0 || (v && rel.seq >= 0 && !isFresher(rel.seq, rel.at, n, now))) return;
    rel.seq = n;
    rel.at = now;
    clearTimer(rel.timer);
    const age = getOption(r, Opt.MAX_AGE);
    rel.timer = setTimeout(() => {
      rel.timer = undefined;
      end(rel, fail("silence", rel.name + ": no notification in time"));
    }, o.observeSilence || (age ? readUint(age) : 60) * 1000 + ackTimeout);
    download(rel.m, r, rel.name, (err, whole) => {
      if (err) end(rel, err);
      else if (rel.seq == n && relations.indexOf(rel) >= 0) {
        rel.onNotify(whole as CoapMessage);
        if (!v) end(rel, fail("not-observed", rel.name + ": the server does not keep the observation"));
      }
    });
  }

  function receive(bytes: Uint8Array) {
    let m: CoapMessage;
    try {
      m = decodeMessage(bytes);
    } catch (e) {
      // A malformed CON gets an RST (RFC 7252 section 4.2); anything else malformed is dropped.
      if ((bytes[0] & 0xf0) == 0x40 && bytes.length > 3) send(empty(Type.RST, (bytes[2] << 8) | bytes[3]));
      return;
    }
    const key = readString(m.token);
    if (m.type > Type.NON) {
      for (let k = 0; k < live.length; k++) {
        const x = live[k];
        if (x.m.messageId != m.messageId || x.acked) continue;
        if (m.type == Type.RST) finish(x, fail("reset", x.name + " was rejected with RST"));
        else if (m.code && key == readString(x.m.token)) finish(x, null, m);
        else if (x.ackOnly) finish(x, null);
        else {
          x.acked = true;
          arm(x, responseTimeout);
        }
        return;
      }
      return;
    }
    const now = Date.now();
    seen = seen.filter((s) => s.until > now);
    for (let k = 0; k < seen.length; k++) {
      if (seen[k].mid == m.messageId) {
        const again = seen[k].reply;
        if (again) send(again);
        return;
      }
    }
    let x: Exchange | undefined;
    let rel: Relation | undefined;
    if (m.code > 0x3f) {
      for (let k = 0; k < live.length; k++) if (readString(live[k].m.token) == key && !live[k].ackOnly) x = live[k];
      for (let k = 0; k < relations.length; k++) if (readString(relations[k].m.token) == key) rel = relations[k];
    }
    // ACK what we take, RST the rest: an unknown response or notification, a request to us, a ping.
    let reply: Uint8Array | undefined;
    if (m.type == Type.CON || (!x && !rel && m.code)) {
      reply = empty(x || rel ? Type.ACK : Type.RST, m.messageId);
      send(reply);
    }
    seen.push({ mid: m.messageId, until: now + (m.type == Type.CON ? o.exchangeLifetime || 247000 : o.nonLifetime || 145000), reply: reply });
    // Bounded: a flood of distinct IDs must not grow the list beyond what a board can hold.
    if (seen.length > 64) seen.shift();
    if (x) finish(x, null, m);
    else if (rel) notified(rel, m);
  }

  function failAll(err: CoapError) {
    const all = live.splice(0).concat(queue.splice(0));
    for (let k = 0; k < all.length; k++) {
      clearTimer(all[k].timer);
      all[k].done(err);
    }
    const rels = relations.slice();
    for (let k = 0; k < rels.length; k++) end(rels[k], err);
  }

  transport.onMessage(receive);
  if (transport.onError) transport.onError((e) => failAll(fail("transport", e.message)));

  function request(req: CoapRequest, done?: ResponseCallback): any {
    if (!done) return new Promise((ok, no) => start(req, (e, r) => (e ? no(e) : ok(r))));
    start(req, done);
  }

  return {
    request: request,
    observe: (req, onNotify, onEnd) => {
      // A request that cannot be built ends the relation at once, through onEnd.
      const rel = { seq: -1, at: 0, onNotify: onNotify, onEnd: onEnd } as Relation;
      relations.push(rel);
      start(req, (err, res) => (err ? end(rel, err) : notified(rel, res as CoapMessage)), rel);
      return {
        cancel: (proactive?: boolean) => {
          const m = rel.m;
          if (drop(rel) && proactive !== false) {
            exchange(setOption(createMessage(Type.CON, m.code, m.token, m.options.slice()), Opt.OBSERVE, 1), rel.name, () => {}, true);
          }
        },
      };
    },
    ping: (done) => {
      exchange(createMessage(Type.CON, 0), "CoAP ping", (err) => done(err && err.code == "reset" ? null : err), true);
    },
    close: () => {
      if (closed) return;
      closed = fail("closed", "CoAP endpoint closed");
      transport.onMessage(() => {});
      failAll(closed);
      transport.close();
    },
  };
}
