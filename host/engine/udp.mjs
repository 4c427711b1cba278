// The UDP sockets of one engine (what host/engine/wasm.mjs calls `network`): real Node sockets on the loopback (or
// any) interface, each datagram passing the simulated link (loss, duplication, reordering, delay, outages) both
// ways. The interpreter polls: datagrams that arrive wait in their socket's queue until its main loop asks, and
// `onArrival()` tells the host to run the loop.
import nodeDgram from "node:dgram";

/** Datagrams a socket holds for the interpreter at most (a board's network stack drops beyond its buffers). */
export const RECEIVE_QUEUE = 16;

/**
 * @param {object} o
 * @param {object} o.link host/sim/link.mjs (or {outbound, inbound} passing everything)
 * @param {string} [o.bindAddress] the local address sockets bind to
 * @param {(e: object) => void} [o.onTrace] every datagram that went out or came in: {type: "udp", dir, bytes, port, address}
 * @param {(bytes: Buffer, port: number, address: string) => void} [o.onSent] a datagram really left
 * @param {(bytes: Buffer, rinfo: object) => void} [o.onReceived] a datagram really arrived (before the link's fate)
 * @param {() => void} [o.onArrival] a datagram waits for the interpreter
 * @param {(direction: "in" | "out", port: number, bytes: Buffer) => void} [o.onPlaintext] the application data of a
 *   DTLS record the interpreter sent to or took in from that port
 * @param {(id: number) => void} [o.onClose] the interpreter closed socket `id`
 * @param {Record<string, string>} [o.hosts] names the interpreter may resolve ("localhost" always is 127.0.0.1)
 */
export function createUdpSockets(o) {
  return new UdpSockets(o);
}

/** The interpreter's UDP sockets by id (what createUdpSockets returns; EngineNetwork in wasm.mjs). */
class UdpSockets {
  constructor({ link, bindAddress = "127.0.0.1", onTrace = (_e) => {}, onSent = (_b, _p, _a) => {}, onReceived = (_b, _r) => {}, onArrival = () => {}, onPlaintext = (_d, _p, _b) => {}, onClose = (_id) => {}, hosts = {} }) {
    this.link = link;
    this.bindAddress = bindAddress;
    this.hosts = hosts;
    this.onTrace = onTrace;
    this.onSent = onSent;
    this.onReceived = onReceived;
    this.onArrival = onArrival;
    this.onPlaintext = onPlaintext;
    this.onClose = onClose;
    /** @type {Map<number, { id: number, socket: import("node:dgram").Socket, queue: { bytes: Buffer, address: string, port: number }[] }>} */
    this.sockets = new Map();
    this.nextId = 0;
  }

  attach(entry, socket) {
    entry.socket = socket;
    socket.on("message", (buf, rinfo) => {
      if (entry.socket !== socket) return; // replies to a port the node has left (NAT rebinding) are lost
      const from = { address: rinfo.address, port: rinfo.port };
      this.onReceived(buf, from);
      this.link.inbound(new Uint8Array(buf), from, (bytes, peer) => {
        if (!this.sockets.has(entry.id)) return;
        this.onTrace({ type: "udp", dir: "in", bytes: Buffer.from(bytes), port: peer.port, address: peer.address });
        if (entry.queue.length < RECEIVE_QUEUE) entry.queue.push({ bytes: Buffer.from(bytes), address: peer.address, port: peer.port });
        this.onArrival();
      });
    });
    socket.on("error", () => {}); // an ICMP "port unreachable" on loopback, or a send after close: the datagram is lost
  }

  create(port) {
    const id = this.nextId++;
    const entry = { id, socket: null, queue: [] };
    this.attach(entry, nodeDgram.createSocket({ type: "udp4" }));
    entry.socket.bind(port || 0, this.bindAddress);
    this.sockets.set(id, entry);
    return id;
  }

  close(id) {
    const entry = this.sockets.get(id);
    if (!entry) return;
    this.sockets.delete(id);
    try { entry.socket.close(); } catch { /* closed already */ }
    this.onClose(id);
  }

  recv(id) {
    const entry = this.sockets.get(id);
    return entry ? entry.queue.shift() || null : null;
  }

  send(id, address, port, bytes) {
    const entry = this.sockets.get(id);
    if (!entry) return false;
    this.link.outbound(new Uint8Array(bytes), port, address, (b, p, a) => {
      const out = Buffer.from(b);
      this.onSent(out, p, a);
      this.onTrace({ type: "udp", dir: "out", bytes: out, port: p, address: a });
      if (this.sockets.get(id) === entry) entry.socket.send(out, p, a);
    });
    return true;
  }

  /** The application data of a DTLS record to ("out") or from ("in") `port`, from the chip's DTLS module. */
  plaintext(dir, port, bytes) {
    this.onPlaintext(dir, port, bytes);
  }

  resolve(name) {
    if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return name;
    return this.hosts[name] || null;
  }

  /** NAT rebinding: every socket moves to a new local port; resolves to the new ports. */
  rebindAll() {
    return Promise.all([...this.sockets.values()].map((entry) => new Promise((resolve) => {
      const old = entry.socket;
      const fresh = nodeDgram.createSocket({ type: "udp4" });
      this.attach(entry, fresh);
      fresh.bind(0, this.bindAddress, () => {
        try { old.close(); } catch { /* closed already */ }
        resolve(fresh.address().port);
      });
    })));
  }

  /** The local address and port of every open socket that is bound yet. */
  addresses() {
    const out = [];
    for (const entry of this.sockets.values()) {
      try { out.push(entry.socket.address()); } catch { /* binding still under way */ }
    }
    return out;
  }

  /** Every socket closed: what a reset does. */
  closeAll() {
    for (const id of [...this.sockets.keys()]) this.close(id);
  }

  get count() {
    return this.sockets.size;
  }
}
