// The firmware's `DTLS` module (src/types/espruino.d.ts: DtlsModule, DtlsSocket) on Node, from the WebAssembly
// build of the shim. Datagrams go through an Espruino-shaped dgram module (host/espruino/dgram.mjs), so the
// simulator's network model (loss, delay) applies to DTLS as to plain CoAP; events are queued as on Espruino.
import { createDgramModule } from "../espruino/dgram.mjs";
import { EspruinoEmitter, queueEvent } from "../espruino/events.mjs";
import { DtlsConfig, DtlsConnection } from "./connection.mjs";
import { DtlsWasm, getDtlsWasm } from "./wasm.mjs";

/** The shim's MTU when none is given (firmware/dtls_shim.c). */
const DEFAULT_MTU = 1024;
/** Record header 13, Connection ID 9, then the worst of the suites: CBC's IV 16, SHA-256 MAC 32 and padding 16. */
const MAX_RECORD_EXPANSION = 86;
const MAX_QUEUED_SENDS = 16;
// Twice the engine's record buffer, so that a datagram too large for it reaches the engine whole enough to be named
// in the error rather than silently cut by dgram.
const RECV_BUFFER = 8192;
const CLOSE_DELAY_MS = 100;

const INSECURE_WARNING =
  "DTLS WARNING: insecure: true - the server's certificate is NOT verified; anyone on the path can read and alter this connection";

/**
 * Creates a `DTLS` module. `dgram` is the board's Espruino dgram module (a fresh one by default); `log` receives
 * warnings and, with `trace`, handshake progress lines; `unixTime` is the clock certificates are checked against.
 * @param {{ dgram?: DgramModule & { queue?: (fn: () => void) => void }, log?: (line: string) => void,
 *   trace?: ((line: string) => void) | null, unixTime?: () => number }} [options]
 * @returns {DtlsModule}
 */
export function createDtlsModule({ dgram = createDgramModule(), log = (line) => console.warn(line), trace = null, unixTime } = {}) {
  return {
    connect(options) {
      return new DtlsClientSocket(options, { dgram, log, trace, unixTime });
    },
  };
}

/** Checks the options the way the device module does; throws an Error in words. */
function validate(o) {
  if (!o || typeof o !== "object") throw new Error("DTLS.connect: options object required");
  if (typeof o.host !== "string" || !o.host) throw new Error("DTLS.connect: host required");
  if (!(Number.isInteger(o.port) && o.port > 0 && o.port < 65536)) throw new Error(`DTLS.connect: bad port ${o.port}`);
  const hasPsk = o.psk !== undefined;
  if (hasPsk && (typeof o.psk !== "string" || o.psk.length === 0)) throw new Error("DTLS.connect: psk must be a non-empty 8-bit string");
  if (!o.ca && !hasPsk && !o.insecure) {
    throw new Error("DTLS.connect: no CA certificate configured (option ca), so the server cannot be verified; " +
      "pass insecure: true to connect without verification");
  }
  if ((o.cert && !o.key) || (!o.cert && o.key)) throw new Error("DTLS.connect: cert and key must be given together");
}

/** @implements {DtlsSocket} */
class DtlsClientSocket extends EspruinoEmitter {
  #config; #conn; #connected; #done; #host; #mtu; #pending; #port; #session; #step; #timer; #trace; #udp;
  constructor(options, { dgram, log, trace, unixTime }) {
    super();
    validate(options);
    if (options.insecure) log(INSECURE_WARNING);
    this.#host = options.host;
    this.#port = options.port;
    this.#trace = trace;
    this.#pending = [];
    this.#timer = null;
    this.#done = false;
    this.#connected = false;
    this.#session = undefined;
    this.#step = "";
    this.#mtu = options.mtu || DEFAULT_MTU;
    // A clock other than the host's (the simulator's virtual time) needs its own engine instance.
    const wasm = unixTime ? new DtlsWasm({ unixTime }) : getDtlsWasm();
    this.#config = new DtlsConfig({
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      psk: options.psk,
      pskIdentity: options.pskIdentity,
      verify: options.insecure ? "none" : "required",
      connectionId: !!options.connectionId,
      suites: options.suites,
      mtu: options.mtu,
      retransmitMinMs: options.retransmitMinMs,
      retransmitMaxMs: options.retransmitMaxMs,
    }, wasm);
    try {
      const verified = !options.insecure && options.ca;
      const hostname = verified ? options.servername || options.host : undefined;
      this.#conn = new DtlsConnection(this.#config, { hostname });
      // A session saved by another firmware build (or damaged in storage) only costs a full handshake.
      if (options.session) {
        try {
          this.#conn.importSession(options.session);
        } catch (e) {
          log(`${e.message}; doing a full handshake`);
        }
      }
    } catch (e) {
      this.#config.free();
      throw e;
    }
    const recvBufferSize = Math.max(options.recvBufferSize || 0, RECV_BUFFER);
    this.#udp = dgram.createSocket({ type: "udp4", recvBufferSize });
    this.#udp.on("message", (msg, rinfo) => {
      if (rinfo.port !== this.#port) return;
      if (this.#trace) this.#trace(`dtls: <- datagram of ${msg.length} bytes`);
      this.#run(() => this.#conn.feed(Buffer.from(msg, "latin1")));
    });
    this.#udp.on("error", (e) => this.#fail({ code: "SOCKET", message: `UDP socket error: ${e.message}` }));
    queueEvent(() => this.#run(() => {}));
  }

  /**
   * The largest datagram one record carries: exact once connected; before, what the MTU leaves after the largest
   * record expansion of the offered suites (so a request queued before the handshake fits afterwards).
   */
  maxDatagram() {
    if (this.#connected && !this.#done) {
      const max = this.#conn.maxPayload;
      if (max > 0) return max;
    }
    return this.#mtu - MAX_RECORD_EXPANSION;
  }

  /** Application data, one datagram, 8-bit string. Sends queue until the handshake is done. */
  send(message) {
    if (typeof message !== "string") throw new TypeError("DTLS send: message must be a string of 8-bit bytes");
    if (this.#done) {
      this.emit("error", { code: "CLOSED", message: "DTLS send on a closed connection" });
      return;
    }
    if (!this.#connected) {
      if (this.#pending.length >= MAX_QUEUED_SENDS) {
        this.emit("error", { code: "QUEUE_FULL", message: "DTLS send: too many datagrams queued before the handshake finished" });
        return;
      }
      this.#pending.push(message);
      return;
    }
    this.#run(() => {
      // Too large is the caller's mistake, not the connection's: report it and keep the session.
      const max = this.#conn.maxPayload;
      if (max > 0 && message.length > max) {
        this.emit("error", { code: "TOO_LARGE", message: `DTLS send: a datagram of ${message.length} bytes does not fit one record (at most ${max} bytes with this MTU)` });
        return;
      }
      if (!this.#conn.write(Buffer.from(message, "latin1"))) throw Object.assign(new Error(), { dtls: this.#conn.error });
    });
  }

  /** The session for an abbreviated handshake later (8-bit string; holds the master secret: store it privately). */
  exportSession() {
    if (this.#session === undefined && this.#connected && !this.#done) {
      const bytes = this.#conn.exportSession();
      this.#session = bytes ? Buffer.from(bytes).toString("latin1") : undefined;
    }
    return this.#session;
  }

  close() {
    if (this.#done) return;
    try {
      this.#conn.close();
      this.#flush();
    } catch (e) {
      /* a crashed engine cannot send close_notify; closing goes on */
    }
    this.#finish();
  }

  /** Runs one step against the engine, then sends, delivers and re-arms the timer; any failure ends the socket. */
  #run(step) {
    if (this.#done) return;
    let messages;
    try {
      step();
      messages = this.#conn.process();
      this.#flush();
    } catch (e) {
      this.#fail(e.dtls || { code: e.code || "DTLS_ERROR", message: e.message });
      return;
    }
    this.#traceStep();
    const state = this.#conn.state;
    if (state === "failed") {
      this.#fail(this.#conn.error);
      return;
    }
    if (state === "established" && !this.#connected) {
      this.#connected = true;
      this.emit("connect", { resumed: this.#conn.resumed, cipher: this.#conn.cipher });
      const pending = this.#pending.splice(0);
      for (const m of pending) this.send(m);
    }
    for (const m of messages) this.emit("message", Buffer.from(m).toString("latin1"));
    if (state === "closed") {
      this.emit("error", this.#conn.error);
      this.#finish();
      return;
    }
    this.#arm();
  }

  #flush() {
    for (const d of this.#conn.takeOutgoing()) {
      if (this.#trace) this.#trace(`dtls: -> datagram of ${d.length} bytes`);
      this.#udp.send(Buffer.from(d).toString("latin1"), this.#port, this.#host);
    }
  }

  #arm() {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const ms = this.#conn.timeoutMs();
    if (ms >= 0) this.#timer = setTimeout(() => this.#run(() => {}), ms);
  }

  #traceStep() {
    if (!this.#trace) return;
    let step;
    try {
      step = this.#conn.handshakeStep;
    } catch (e) {
      return;
    }
    if (step !== this.#step) {
      this.#step = step;
      this.#trace(`dtls: handshake at ${step}`);
    }
  }

  #fail(error) {
    if (this.#done) return;
    this.emit("error", { code: error.code, message: error.message });
    this.#finish();
  }

  #finish() {
    if (this.#done) return;
    this.#done = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    try {
      this.#conn.free();
      this.#config.free();
    } catch (e) {
      /* engine already discarded */
    }
    // Node resolves the address before sending, so a close_notify just queued would be lost by closing at once.
    setTimeout(() => this.#udp.close(), CLOSE_DELAY_MS);
    this.emit("close");
  }
}
