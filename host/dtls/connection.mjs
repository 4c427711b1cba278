// JavaScript faces of the shim's two objects: a configuration (credentials, suites, timers) and a connection
// (datagrams in and out, application data, timer). No sockets here: module.mjs (client) and server.mjs add them.
import { getDtlsWasm } from "./wasm.mjs";

const STATE = { 0: "handshaking", 1: "established", 2: "closed", 3: "hello-verify-sent", [-1]: "failed" };
const VERIFY = { none: 0, optional: 1, required: 2 };
const READ_BUFFER = 4096;

/** mbedTLS's handshake states by number, for progress output (-v). */
export const HANDSHAKE_STEPS = [
  "HelloRequest", "ClientHello", "ServerHello", "ServerCertificate", "ServerKeyExchange", "CertificateRequest",
  "ServerHelloDone", "ClientCertificate", "ClientKeyExchange", "CertificateVerify", "ClientChangeCipherSpec",
  "ClientFinished", "ServerChangeCipherSpec", "ServerFinished", "FlushBuffers", "HandshakeWrapup",
  "NewSessionTicket", "HelloVerifyRequestSent",
];

const toBytes = (v) => (typeof v === "string" ? Buffer.from(v, "latin1") : new Uint8Array(v));
const hex = (n) => "-0x" + (-n).toString(16).padStart(4, "0");

/**
 * Options: role "client" | "server"; ca, cert, key (PEM text or DER bytes); psk (bytes or 8-bit string) with
 * pskIdentity; verify "none" | "optional" | "required"; suites (names like "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256");
 * connectionId; mtu; retransmitMinMs, retransmitMaxMs. Throws an Error naming the bad option.
 */
/** What is wrong with certificate text or bytes mbedTLS refused, in words. */
export function certificateProblem(bytes, ret) {
  const text = Buffer.from(bytes).toString("latin1");
  const begin = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text);
  if (!begin && bytes[0] !== 0x30) return "it is not a certificate: neither PEM text (-----BEGIN CERTIFICATE-----) nor DER";
  if (begin && !/-----BEGIN CERTIFICATE-----/.test(text)) return `it holds a PEM ${begin[1].toLowerCase()}, not a certificate`;
  if (begin && !/-----END CERTIFICATE-----/.test(text)) return "a certificate's PEM block is cut short (no -----END CERTIFICATE-----)";
  return `a certificate in it is damaged (mbedTLS error ${hex(ret)})`;
}

export class DtlsConfig {
  constructor(options, wasm = getDtlsWasm()) {
    const o = options || {};
    this.wasm = wasm;
    this.role = o.role === "server" ? "server" : "client";
    this.ptr = wasm.call("dtls_config_new", this.role === "server" ? 1 : 0);
    if (!this.ptr) throw new Error("DTLS: out of memory creating the configuration");
    try {
      if (o.ca) {
        const ca = toBytes(o.ca);
        const ret = wasm.withBytes(ca, (p, n) => wasm.call("dtls_config_ca", this.ptr, p, n));
        if (ret !== 0) throw new Error(`DTLS: cannot use the CA certificate(s) (option ca): ${certificateProblem(ca, ret)}`);
      }
      if (o.cert || o.key) {
        if (!o.cert || !o.key) throw new Error("DTLS: cert and key must be given together");
        const cert = toBytes(o.cert);
        const certPtr = wasm.copyIn(cert);
        try {
          this.check(wasm.withBytes(toBytes(o.key), (kp, kn) => wasm.call("dtls_config_own_cert", this.ptr, certPtr, cert.length, kp, kn)),
            "cert/key", "the certificate or its private key");
        } finally {
          wasm.release(certPtr);
        }
      }
      if (o.psk !== undefined) {
        const identity = toBytes(o.pskIdentity === undefined ? "" : o.pskIdentity);
        const psk = toBytes(o.psk);
        if (psk.length === 0) throw new Error("DTLS: psk is empty");
        const idPtr = wasm.copyIn(identity.length ? identity : new Uint8Array(1));
        try {
          this.check(wasm.withBytes(psk, (p, n) => wasm.call("dtls_config_psk", this.ptr, p, n, idPtr, identity.length)), "psk", "the pre-shared key");
        } finally {
          wasm.release(idPtr);
        }
      }
      if (o.suites) this.setSuites(o.suites);
      if (o.verify !== undefined) {
        if (!(o.verify in VERIFY)) throw new Error(`DTLS: verify must be none, optional or required, not ${o.verify}`);
        wasm.call("dtls_config_verify", this.ptr, VERIFY[o.verify]);
      }
      if (o.connectionId) this.check(wasm.call("dtls_config_cid", this.ptr, 1), "connectionId", "Connection ID support");
      if (o.mtu !== undefined) {
        if (!(o.mtu >= 256 && o.mtu <= 16384)) throw new Error(`DTLS: mtu must be 256..16384, not ${o.mtu}`);
        wasm.call("dtls_config_mtu", this.ptr, o.mtu);
      }
      if (o.retransmitMinMs !== undefined || o.retransmitMaxMs !== undefined) {
        const min = o.retransmitMinMs ?? 1000;
        const max = o.retransmitMaxMs ?? Math.max(min, 16000);
        if (!(min > 0 && max >= min)) throw new Error("DTLS: retransmitMinMs must be > 0 and <= retransmitMaxMs");
        wasm.call("dtls_config_timeouts", this.ptr, min, max);
      }
    } catch (e) {
      this.free();
      throw e;
    }
  }

  check(ret, option, what) {
    if (ret !== 0) throw new Error(`DTLS: cannot use ${what} (option ${option}): mbedTLS error ${hex(ret)}`);
  }

  setSuites(names) {
    const ids = names.map((name) => {
      const id = this.wasm.withBytes(Buffer.from(name + "\0", "latin1"), (p) => this.wasm.call("dtls_suite_id", p));
      if (!id) throw new Error(`DTLS: cipher suite ${name} is unknown or not built in`);
      return id;
    });
    const buf = new Uint8Array(new Int32Array(ids).buffer);
    this.check(this.wasm.withBytes(buf, (p) => this.wasm.call("dtls_config_suites", this.ptr, p, ids.length)), "suites", "these cipher suites");
  }

  free() {
    if (this.ptr && !this.wasm.dead) this.wasm.call("dtls_config_free", this.ptr);
    this.ptr = 0;
  }
}

/** One DTLS association. Every method may throw DtlsTrap if the engine crashes. */
export class DtlsConnection {
  /**
   * Client: `hostname` is the name the certificate must carry. Server: `peerId` is the client's address text.
   * @param {DtlsConfig} config
   * @param {{ hostname?: string, peerId?: string }} [options]
   */
  constructor(config, { hostname, peerId } = {}) {
    const wasm = config.wasm;
    this.wasm = wasm;
    this.config = config;
    const host = hostname ? wasm.copyIn(Buffer.from(hostname + "\0", "latin1")) : 0;
    const peer = peerId ? wasm.copyIn(Buffer.from(peerId, "latin1")) : 0;
    try {
      this.ptr = wasm.call("dtls_conn_new", config.ptr, host, peer, peerId ? Buffer.byteLength(peerId, "latin1") : 0);
    } finally {
      wasm.release(host);
      wasm.release(peer);
    }
    if (!this.ptr) throw new Error("DTLS: cannot create the connection (out of memory or bad host name)");
  }

  get state() {
    return STATE[this.wasm.call("dtls_state", this.ptr)];
  }

  importSession(bytes) {
    const ret = this.wasm.withBytes(toBytes(bytes), (p, n) => this.wasm.call("dtls_session_import", this.ptr, p, n));
    if (ret !== 0) throw new Error(`DTLS: the saved session cannot be used (mbedTLS error ${hex(ret)})`);
  }

  exportSession() {
    const need = this.wasm.call("dtls_session_export", this.ptr, 0, 0);
    if (need <= 0) return undefined;
    const ptr = this.wasm.call("dtls_alloc", need);
    try {
      const n = this.wasm.call("dtls_session_export", this.ptr, ptr, need);
      return n === need ? this.wasm.bytes(ptr, n) : undefined;
    } finally {
      this.wasm.release(ptr);
    }
  }

  feed(bytes) {
    this.wasm.withBytes(bytes, (p, n) => this.wasm.call("dtls_feed", this.ptr, p, n));
  }

  /** Drives the handshake and returns the application datagrams now available (possibly none). */
  process() {
    const out = [];
    const buf = this.wasm.call("dtls_alloc", READ_BUFFER);
    try {
      for (let i = 0; i < 64; i++) {
        const n = this.wasm.call("dtls_read", this.ptr, buf, READ_BUFFER);
        if (n <= 0) break;
        out.push(this.wasm.bytes(buf, n));
      }
    } finally {
      this.wasm.release(buf);
    }
    return out;
  }

  /** The largest application datagram one record carries now, or a negative mbedTLS error. */
  get maxPayload() {
    return this.wasm.call("dtls_max_payload", this.ptr);
  }

  /** Encrypts one datagram; returns false with `error` set when that is impossible. */
  write(bytes) {
    const n = this.wasm.withBytes(bytes, (p, len) => this.wasm.call("dtls_write", this.ptr, p, len));
    return n === bytes.length;
  }

  /** The datagrams to send now, oldest first. */
  takeOutgoing() {
    const out = [];
    for (let i = 0; i < 64; i++) {
      const len = this.wasm.call("dtls_out_len", this.ptr);
      if (!len) break;
      out.push(this.wasm.bytes(this.wasm.call("dtls_out_data", this.ptr), len));
      this.wasm.call("dtls_out_pop", this.ptr);
    }
    return out;
  }

  /** Milliseconds until process() must run again for retransmission, or -1. */
  timeoutMs() {
    return this.wasm.call("dtls_timeout_ms", this.ptr);
  }

  get error() {
    return {
      code: this.wasm.cstring(this.wasm.call("dtls_error_code", this.ptr)) || "DTLS_ERROR",
      message: this.wasm.cstring(this.wasm.call("dtls_error_text", this.ptr)) || "DTLS failure",
    };
  }

  get cipher() {
    return this.wasm.cstring(this.wasm.call("dtls_cipher", this.ptr));
  }

  get resumed() {
    return this.wasm.call("dtls_resumed", this.ptr) === 1;
  }

  get connectionIdInUse() {
    return this.wasm.call("dtls_cid_in_use", this.ptr) === 1;
  }

  /** Server: the 8-byte Connection ID given to this client, as hex, or null. */
  get ownConnectionId() {
    const p = this.wasm.call("dtls_own_cid", this.ptr);
    return p ? Buffer.from(this.wasm.bytes(p, 8)).toString("hex") : null;
  }

  /** Server: the client's leaf certificate (DER) and whether it chains to the configured CA. */
  get peerCertificate() {
    const lenPtr = this.wasm.call("dtls_alloc", 4);
    try {
      const p = this.wasm.call("dtls_peer_cert", this.ptr, lenPtr);
      const len = new DataView(this.wasm.memory.buffer).getUint32(lenPtr, true);
      if (!p || !len) return null;
      return { der: Buffer.from(this.wasm.bytes(p, len)), verifyFlags: this.wasm.call("dtls_peer_verify_flags", this.ptr) >>> 0 };
    } finally {
      this.wasm.release(lenPtr);
    }
  }

  get handshakeStep() {
    const n = this.wasm.call("dtls_handshake_step", this.ptr);
    return HANDSHAKE_STEPS[n] || (n >= 27 ? "HandshakeOver" : `step ${n}`);
  }

  /** Queues close_notify (send takeOutgoing() after). */
  close() {
    this.wasm.call("dtls_close", this.ptr);
  }

  free() {
    if (this.ptr && !this.wasm.dead) this.wasm.call("dtls_conn_free", this.ptr);
    this.ptr = 0;
  }
}
