// The server role of the DTLS shim for Node: one UDP socket, many clients, each found by its address or, once
// RFC 9146 Connection IDs are in use, by the CID in its records, so a client whose address or port changes keeps
// its session. Used by the local ThingsBoard-compatible server; application data is delivered per session.
//
//   const server = createDtlsServer({ cert, key, ca, clientCert: "optional" });
//   server.on("session", (s) => s.on("message", (data) => s.send(reply(data))));
//   const { port } = await server.listen(5684);
import { EventEmitter } from "node:events";
import dgram from "node:dgram";
import { DtlsConfig, DtlsConnection } from "./connection.mjs";
import { DtlsWasm } from "./wasm.mjs";

const CONTENT_HANDSHAKE = 22;
const CONTENT_CID = 25;
const CID_LENGTH = 8;
const RECORD_HEADER = 13;

/** One client's association, handed out by the "session" event. */
export class DtlsServerSession extends EventEmitter {
  constructor(server, entry) {
    super();
    this._server = server;
    this._entry = entry;
  }
  /** The client's current address ({ address, port }); changes when a CID record arrives from elsewhere. */
  get peer() {
    return { address: this._entry.address, port: this._entry.port };
  }
  get cipher() {
    return this._entry.cipher;
  }
  get resumed() {
    return this._entry.resumed;
  }
  /** The 8-byte Connection ID (hex) the client puts in its records, or null without CID. */
  get connectionId() {
    return this._entry.cid;
  }
  /** The client's certificate: { der, verified } (verified: it chains to `ca`), or null when none was sent. */
  get clientCertificate() {
    return this._entry.clientCertificate;
  }
  /** Sends one datagram of application data; false when the session is gone. */
  send(data) {
    return this._server._write(this._entry, Buffer.isBuffer(data) ? data : Buffer.from(data));
  }
  close() {
    this._server._close(this._entry, true);
  }
}

/**
 * Options: cert, key (PEM), ca (PEM; client certificates are checked against it), clientCert "none" | "optional"
 * (ThingsBoard's mode: requested, not required) | "required", psk + pskIdentity, connectionId (default true),
 * mtu (1024), maxSessions (1000 established; a newcomer whose handshake completes then closes the session idle
 * longest), maxHandshakes (100 unfinished handshakes of peers that returned a valid cookie; the oldest gives way),
 * handshakeTimeoutMs (10000: an unfinished handshake is dropped then), retransmitMinMs / retransmitMaxMs, suites;
 * send(bytes, port, address) for a host that owns the socket and calls receive() itself instead of listen().
 * A ClientHello without a valid cookie costs no state and never displaces anyone: it gets a HelloVerifyRequest.
 * Events: "session" (DtlsServerSession, after its handshake), "handshakeError" ({ peer, code, message }),
 * "error" (Error: socket failure or engine crash; every session is then closed).
 */
export class DtlsServer extends EventEmitter {
  /**
   * @param {{ cert?: string, key?: string, ca?: string, clientCert?: "none" | "optional" | "required", psk?: string,
   *   pskIdentity?: string, connectionId?: boolean, mtu?: number, maxSessions?: number, maxHandshakes?: number,
   *   handshakeTimeoutMs?: number, retransmitMinMs?: number, retransmitMaxMs?: number, suites?: string[],
   *   send?: (bytes: Buffer, port: number, address: string) => void }} [options]
   */
  constructor(options = {}) {
    super();
    if (!options.psk && !(options.cert && options.key)) throw new Error("DTLS server: cert and key (or psk) required");
    this.options = { connectionId: true, maxSessions: 1000, maxHandshakes: 100, handshakeTimeoutMs: 10000, clientCert: options.ca ? "optional" : "none", ...options };
    this.byAddress = new Map();
    /** Unfinished handshakes of peers that proved their address with a cookie, oldest first. */
    this.halfOpen = new Set();
    this.byCid = new Map();
    this.socket = null;
    this._start();
  }

  _start() {
    const o = this.options;
    this.wasm = new DtlsWasm();
    this.config = new DtlsConfig({
      role: "server",
      cert: o.cert,
      key: o.key,
      ca: o.ca,
      psk: o.psk,
      pskIdentity: o.pskIdentity,
      verify: o.clientCert,
      connectionId: o.connectionId,
      mtu: o.mtu,
      suites: o.suites,
      retransmitMinMs: o.retransmitMinMs,
      retransmitMaxMs: o.retransmitMaxMs,
    }, this.wasm);
  }

  /** Binds a UDP socket (port 0: any free one) and resolves with { address, port }. */
  listen(port = 0, address = "127.0.0.1") {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket("udp4");
      socket.once("error", reject);
      socket.on("message", (msg, rinfo) => this.receive(msg, rinfo));
      socket.bind(port, address, () => {
        socket.off("error", reject);
        socket.on("error", (e) => this.emit("error", e));
        this.socket = socket;
        resolve(socket.address());
      });
    });
  }

  /** Closes every session (sending close_notify) and the socket. */
  async close() {
    for (const entry of new Set([...this.byAddress.values()])) this._close(entry, true);
    if (this.socket) {
      const s = this.socket;
      this.socket = null;
      // Let the close_notify alerts leave before the socket goes.
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => s.close(() => r(undefined)));
    }
    if (!this.wasm.dead) this.config.free();
  }

  /** Established sessions. */
  get sessionCount() {
    return this.byAddress.size - this.halfOpen.size;
  }

  /** Processes one received datagram (the socket does this; a host with its own socket may call it). */
  receive(msg, rinfo) {
    if (msg.length < RECORD_HEADER) return;
    const key = `${rinfo.address}:${rinfo.port}`;
    let entry = null;
    if (msg[0] === CONTENT_CID && this.options.connectionId && msg.length >= RECORD_HEADER + CID_LENGTH) {
      entry = this.byCid.get(msg.subarray(11, 11 + CID_LENGTH).toString("hex")) || null;
    }
    if (!entry) entry = this.byAddress.get(key) || null;
    if (!entry) {
      // Only a ClientHello may open a connection. It is tried on a connection nobody knows of yet: without a valid
      // cookie the shim answers with a HelloVerifyRequest and the connection is gone again (_after).
      if (msg[0] !== CONTENT_HANDSHAKE) return;
      entry = this._open(rinfo, key);
      if (!entry) return;
    }
    const moved = entry.key !== key;
    entry.lastActive = Date.now();
    this._guard(() => {
      entry.conn.feed(msg);
      const messages = entry.conn.process();
      // A record from a new address counts only once it decrypted: then the client has moved (RFC 9146, 6).
      if (moved && messages.length > 0 && entry.established) this._move(entry, rinfo, key);
      this._after(entry, messages);
    });
  }

  /** A peer returned a valid cookie: its handshake is kept, bounded apart from the sessions, for a short time. */
  _admit(entry) {
    if (this.halfOpen.size >= this.options.maxHandshakes) {
      const oldest = this.halfOpen.values().next().value;
      this._close(oldest, false);
    }
    this.byAddress.set(entry.key, entry);
    this.halfOpen.add(entry);
    entry.deadline = setTimeout(() => this._close(entry, false), this.options.handshakeTimeoutMs);
    if (entry.deadline.unref) entry.deadline.unref();
  }

  /** A handshake completed: at maxSessions, the established session idle longest gives way (devices that slept and
   * came back from a new port leave old sessions behind). */
  _established(entry) {
    this.halfOpen.delete(entry);
    clearTimeout(entry.deadline);
    if (this.sessionCount <= this.options.maxSessions) return;
    let oldest = null;
    for (const e of this.byAddress.values()) {
      if (e !== entry && e.established && (!oldest || e.lastActive < oldest.lastActive)) oldest = e;
    }
    if (oldest) this._close(oldest, true);
  }

  _open(rinfo, key) {
    let conn;
    try {
      conn = new DtlsConnection(this.config, { peerId: key });
    } catch (e) {
      this.emit("handshakeError", { peer: { address: rinfo.address, port: rinfo.port }, code: "OUT_OF_MEMORY", message: e.message });
      return null;
    }
    return { conn, key, address: rinfo.address, port: rinfo.port, timer: null, deadline: null, established: false, session: null, cid: null, lastActive: Date.now() };
  }

  _move(entry, rinfo, key) {
    this.byAddress.delete(entry.key);
    const displaced = this.byAddress.get(key);
    if (displaced && displaced !== entry) this._close(displaced, false);
    entry.key = key;
    entry.address = rinfo.address;
    entry.port = rinfo.port;
    this.byAddress.set(key, entry);
  }

  /** After the engine ran: send its datagrams, then act on its state. */
  _after(entry, messages) {
    this._flush(entry);
    const state = entry.conn.state;
    if (state === "hello-verify-sent") {
      this._drop(entry);
      return;
    }
    if (state === "handshaking" && !this.byAddress.has(entry.key)) this._admit(entry);
    if (state === "failed") {
      const { code, message } = entry.conn.error;
      this._drop(entry);
      if (entry.session) entry.session.emit("close");
      else this.emit("handshakeError", { peer: { address: entry.address, port: entry.port }, code, message });
      return;
    }
    if (state === "handshaking" && entry.established) {
      // The client restarted from the same address with a valid cookie: its old session ended, a new one begins.
      const old = entry.session;
      if (entry.cid && this.byCid.get(entry.cid) === entry) this.byCid.delete(entry.cid);
      entry.established = false;
      entry.session = null;
      entry.cid = null;
      this.byAddress.delete(entry.key);
      this._admit(entry);
      old.emit("close");
    }
    if (state === "established" && !entry.established) {
      entry.established = true;
      entry.cipher = entry.conn.cipher;
      entry.resumed = entry.conn.resumed;
      entry.cid = entry.conn.connectionIdInUse ? entry.conn.ownConnectionId : null;
      const peerCert = entry.conn.peerCertificate;
      entry.clientCertificate = peerCert ? { der: peerCert.der, verified: peerCert.verifyFlags === 0 } : null;
      if (entry.cid) this.byCid.set(entry.cid, entry);
      this._established(entry);
      entry.session = new DtlsServerSession(this, entry);
      this.emit("session", entry.session);
    }
    if (entry.session) for (const m of messages) entry.session.emit("message", Buffer.from(m));
    if (state === "closed") {
      this._drop(entry);
      entry.session.emit("close");
      return;
    }
    this._arm(entry);
  }

  _flush(entry) {
    for (const d of entry.conn.takeOutgoing()) {
      if (this.options.send) this.options.send(Buffer.from(d), entry.port, entry.address);
      else if (this.socket) this.socket.send(d, entry.port, entry.address);
    }
  }

  _arm(entry) {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    const ms = entry.conn.timeoutMs();
    if (ms >= 0) entry.timer = setTimeout(() => this._guard(() => this._after(entry, entry.conn.process())), ms);
  }

  _write(entry, data) {
    if (!this.byAddress.has(entry.key) || !entry.established) return false;
    let ok = false;
    this._guard(() => {
      ok = entry.conn.write(data);
      this._after(entry, []);
    });
    return ok;
  }

  _close(entry, notify) {
    if (!this.byAddress.has(entry.key) || this.byAddress.get(entry.key) !== entry) return;
    this._guard(() => {
      if (notify) {
        entry.conn.close();
        this._flush(entry);
      }
    });
    const wasEstablished = entry.session;
    this._drop(entry);
    if (wasEstablished) entry.session.emit("close");
  }

  _drop(entry) {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    clearTimeout(entry.deadline);
    this.halfOpen.delete(entry);
    if (this.byAddress.get(entry.key) === entry) this.byAddress.delete(entry.key);
    if (entry.cid && this.byCid.get(entry.cid) === entry) this.byCid.delete(entry.cid);
    if (!this.wasm.dead) entry.conn.free();
  }

  /**
   * Runs engine work from a socket or timer callback, where an exception would end the process: a crash of the
   * engine ends every session and starts a fresh engine; any other failure (also one thrown by a "message"
   * listener) is reported as "error" and costs only the datagram at hand.
   */
  _guard(fn) {
    try {
      fn();
    } catch (e) {
      if (!this.wasm.dead) {
        this.emit("error", e);
        return;
      }
      const entries = [...new Set(this.byAddress.values())];
      this.byAddress.clear();
      this.byCid.clear();
      this.halfOpen.clear();
      for (const entry of entries) {
        if (entry.timer) clearTimeout(entry.timer);
        if (entry.session) entry.session.emit("close");
      }
      this._start();
      this.emit("error", e);
    }
  }
}

export function createDtlsServer(options) {
  return new DtlsServer(options);
}
