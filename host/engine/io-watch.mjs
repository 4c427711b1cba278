// Whether a simulated board may still get a real datagram it is waiting for: while it may, a virtual clock must
// keep real pace (a reply from a real server has to race the board's timers as on hardware); once it may not, the
// clock can jump. CoAP is recognised (the node's own protocol): a confirmable message waits for its ACK or RST and a
// request for its response, each for at most `replyWaitMs` of real time; the simulated link never lets a datagram
// it drops count as sent. DTLS application data from a peer whose plaintext is reported separately (plaintextFrom)
// counts through that plaintext. Anything else (handshakes, other protocols) keeps real pace for `settleMs` after it.
import { performance } from "node:perf_hooks";
import { coap } from "../lib.mjs";

const { Type } = coap;

export const SETTLE_MS = 250;
export const REPLY_WAIT_MS = 2000;

/**
 * The CoAP header fields that matter here, or null when `bytes` is not a well-formed CoAP message (the firmware's
 * own codec decides) or its code is of a reserved class.
 */
export function coapHead(bytes) {
  let m;
  try {
    m = coap.decodeMessage(bytes);
  } catch {
    return null;
  }
  if (![0, 2, 4, 5].includes(m.code >> 5)) return null;
  return {
    type: m.type,
    code: m.code,
    mid: m.messageId,
    token: Buffer.from(m.token).toString("hex"),
    isRequest: m.code >= 1 && m.code < 32,
    isResponse: m.code >= 64,
  };
}

/** Whether `bytes` holds only DTLS application-data records (content type 23, or 25 with a connection ID). */
export function isDtlsApplicationData(bytes) {
  let at = 0;
  while (at + 13 <= bytes.length) {
    if ((bytes[at] !== 23 && bytes[at] !== 25) || bytes[at + 1] !== 0xfe) return false;
    at += 13 + ((bytes[at + 11] << 8) | bytes[at + 12]);
  }
  return at === bytes.length && at > 0;
}

/**
 * `onSettled()` is called whenever something that was waited for is no longer waited for (a reply came, or was lost
 * on the link), so a clock sleeping through the wait can stop sleeping.
 */
export function createIoWatch(options = {}) {
  return new IoWatch(options);
}

class IoWatch {
  constructor({ settleMs = SETTLE_MS, replyWaitMs = REPLY_WAIT_MS, now = () => performance.now(), onSettled = () => {} } = {}) {
    this.settleMs = settleMs;
    this.replyWaitMs = replyWaitMs;
    this.now = now;
    this.onSettled = onSettled;
    this.lastOther = -Infinity;
    this.waiting = new Map(); // key ("peer/mid/M" or "peer/token/T") -> real time the message went out
    this.sameRequest = new Map(); // a request's message key <-> its token key, both ways
    this.plaintextPeers = new Set(); // "address:port" of DTLS peers whose decrypted datagrams are reported too
    this.holds = new Map(); // hold id -> real time it lapses (a handshake whose retransmissions run on real timers)
    this.nextHold = 1;
  }

  opaque(bytes, peer) {
    if (!(this.plaintextPeers.has(peer) && isDtlsApplicationData(bytes))) this.lastOther = this.now();
  }

  forget(key) {
    this.waiting.delete(key);
    const other = this.sameRequest.get(key);
    this.sameRequest.delete(key);
    if (other !== undefined) this.sameRequest.delete(other);
    return other;
  }

  remainingMs() {
    const t = this.now();
    let left = this.lastOther + this.settleMs - t;
    for (const [id, until] of this.holds) {
      if (until <= t) this.holds.delete(id);
      else left = Math.max(left, Math.min(this.settleMs, until - t));
    }
    for (const [key, at] of this.waiting) {
      const l = at + this.replyWaitMs - t;
      if (l <= 0) this.forget(key);
      else if (l > left) left = l;
    }
    return Math.max(0, left);
  }

  /** A datagram of unknown meaning went either way. */
  activity() {
    this.lastOther = this.now();
  }

  /**
   * Keeps real pace until release() (or `maxMs` of real time): for an exchange whose own timers run on real time,
   * such as a DTLS handshake's retransmissions. Returns release().
   */
  hold(maxMs = 60000) {
    const id = this.nextHold++;
    this.holds.set(id, this.now() + maxMs);
    return () => {
      if (this.holds.delete(id)) this.onSettled();
    };
  }

  /** A DTLS connection to address:port reports its plaintext through sent() and received() as well. */
  plaintextFrom(address, port) {
    this.plaintextPeers.add(`${address}:${port}`);
  }

  /** The board really sent `bytes` to address:port. */
  sent(bytes, port, address) {
    const peer = `${address}:${port}`;
    const m = coapHead(bytes);
    if (!m) return this.opaque(bytes, peer);
    const midKey = `${peer}/mid/${m.mid}`;
    if (m.type === Type.CON) this.waiting.set(midKey, this.now());
    if (m.isRequest) {
      const tokenKey = `${peer}/token/${m.token}`;
      this.waiting.set(tokenKey, this.now());
      this.sameRequest.set(midKey, tokenKey);
      this.sameRequest.set(tokenKey, midKey);
    }
  }

  /** A datagram really arrived from rinfo (whether or not the simulated link then delivers it). */
  received(bytes, rinfo) {
    const peer = `${rinfo.address}:${rinfo.port}`;
    const m = coapHead(bytes);
    if (!m) return this.opaque(bytes, peer);
    const midKey = `${peer}/mid/${m.mid}`;
    if (m.type === Type.RST) {
      // A reset rejects the message and so the request it carried (a reset has no token).
      const request = this.forget(midKey);
      if (request !== undefined) this.forget(request);
    } else if (m.type === Type.ACK) {
      this.waiting.delete(midKey); // the message arrived; a request still waits for its response
    }
    if (m.isResponse) {
      // A separate response also acknowledges its request if the empty ACK was lost or never sent (RFC 7252 5.2.2).
      const message = this.forget(`${peer}/token/${m.token}`);
      if (message !== undefined) this.forget(message);
    }
    this.onSettled();
  }

  /**
   * The simulated link dropped a datagram that really arrived. received() has seen it already; but encrypted, it
   * may have been the reply to plaintext still waiting, which now will never come: stop waiting on that peer.
   */
  droppedInbound(bytes, rinfo) {
    const peer = `${rinfo.address}:${rinfo.port}`;
    if (!this.plaintextPeers.has(peer) || !isDtlsApplicationData(bytes)) return;
    for (const key of [...this.waiting.keys()]) if (key.startsWith(`${peer}/`)) this.forget(key);
    this.onSettled();
  }

  /** Every socket closed: nothing can arrive any more. */
  clear() {
    this.lastOther = -Infinity;
    this.waiting.clear();
    this.sameRequest.clear();
    this.holds.clear();
  }
}
