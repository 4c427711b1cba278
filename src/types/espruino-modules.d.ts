// Hand-written declarations of the Espruino modules this firmware uses (@types/espruino is not used: it lacks dgram,
// Storage and ESP32, declares optional parameters as required and types most values as `any`). Interfaces only, no
// globals, so host code is type-checked against the same contracts: the host's stand-ins for these modules
// (host/espruino, host/dtls) declare that they implement them. A real board provides them natively. The globals the
// firmware sees are in espruino.d.ts.

/** A pin name as Espruino knows it ("D2", "D34"); Espruino's pin functions accept the name as a string. */
type PinName = string;

interface EspruinoEventEmitter {
  on(event: string, listener: (...args: any[]) => void): void;
  emit(event: string, ...args: any[]): void;
  removeListener(event: string, listener: (...args: any[]) => void): void;
  removeAllListeners(event?: string): void;
}

interface DgramRemoteInfo {
  address: string;
  port: number;
  size: number;
}

interface DgramSocket extends EspruinoEventEmitter {
  /** The callback is queued with the socket itself as its argument. */
  bind(port: number, callback?: (socket: DgramSocket) => void): DgramSocket;
  /** `message` must be a string of 8-bit bytes: Espruino sends a Uint8Array as its decimal text. */
  send(message: string, port: number, address: string): void;
  send(message: string, offset: number, length: number, port: number, address: string): void;
  close(): void;
  on(event: "message", listener: (message: string, rinfo: DgramRemoteInfo) => void): void;
  on(event: "close", listener: (hadError: boolean) => void): void;
  on(event: "error", listener: (error: { code: number; message: string }) => void): void;
  on(event: string, listener: (...args: any[]) => void): void;
}

interface DgramModule {
  createSocket(
    type: "udp4" | { type: "udp4"; reuseAddr?: boolean; recvBufferSize?: number },
    callback?: (message: string, rinfo: DgramRemoteInfo) => void
  ): DgramSocket;
}

interface StorageModule {
  read(name: string, offset?: number, length?: number): string | undefined;
  readJSON(name: string, noExceptions?: boolean): any;
  readArrayBuffer(name: string): ArrayBuffer | undefined;
  /** With `size`, the file is created at that size and later writes fill it at `offset`. */
  write(name: string, data: string | Uint8Array, offset?: number, size?: number): boolean;
  writeJSON(name: string, data: any): boolean;
  erase(name: string): void;
  eraseAll(): void;
  getStats(): { totalBytes: number; fileBytes: number; fileCount: number; trashBytes: number; trashCount: number };
  list(regex?: RegExp | string): string[];
  getFree(): number;
  compact(): void;
}

interface WifiModule extends EspruinoEventEmitter {
  connect(ssid: string, options: { password?: string }, callback: (error: string | null) => void): void;
  disconnect(callback?: () => void): void;
  getIP(callback?: (ip: { ip: string; netmask: string; gw: string; mac: string }) => void): { ip: string; mac: string };
  getStatus(): { station: string };
  setSNTP(server: string, tzOffset: number): void;
}

interface ESP32Module {
  /** Does not return: the chip sleeps and reboots after `us` microseconds. */
  deepSleep(us: number): void;
  reboot(): void;
  getWakeupCause(): number;
}

/**
 * The secure-datagram module our native DTLS build (or the simulator's WebAssembly build) provides.
 * `connect` throws an Error in words for a bad configuration: no `ca` without `psk` or `insecure`, unparsable
 * PEM, `cert` without `key`, a bad port.
 */
interface DtlsModule {
  connect(options: DtlsConnectOptions): DtlsSocket;
}

interface DtlsConnectOptions {
  host: string;
  port: number;
  /** Expected server name, checked against the certificate (DNS name or IP address). Defaults to `host`. */
  servername?: string;
  /** PEM text of the CA certificates the server certificate must chain to. */
  ca?: string;
  /** Own certificate (PEM) and its unencrypted private key, for servers that ask for one. */
  cert?: string;
  key?: string;
  pskIdentity?: string;
  /** Pre-shared key as 8-bit string; with it and no `ca`, only PSK suites are offered. */
  psk?: string;
  /** Turns verification off; the module prints a warning each time. */
  insecure?: boolean;
  /** Ask for an RFC 9146 Connection ID, so the session survives a change of our address or port. Default false. */
  connectionId?: boolean;
  /** A session exported earlier with `exportSession`, for an abbreviated handshake; an unusable one (saved by
   * another firmware build) is ignored with a warning. */
  session?: string;
  recvBufferSize?: number;
  /** Largest datagram we send, headers included. Default 1024 (ThingsBoard's limit). */
  mtu?: number;
  /** Handshake retransmission: first wait, doubling up to the last; the handshake fails after that. Default 1000/16000. */
  retransmitMinMs?: number;
  retransmitMaxMs?: number;
  /** Cipher suites by mbedTLS name ("TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256"), most preferred first. */
  suites?: string[];
}

/**
 * Error codes of the "error" event: UNKNOWN_CA, CERT_EXPIRED, CERT_NOT_YET_VALID, HOSTNAME_MISMATCH, CERT_USAGE,
 * CERT_WEAK, CERT_INVALID, CLIENT_CERT_REQUIRED, ALERT_RECEIVED, HANDSHAKE_TIMEOUT, HANDSHAKE_FAILURE, CLOSED,
 * OUT_OF_MEMORY, TOO_LARGE, QUEUE_FULL, SOCKET, DTLS_ERROR. The message says the same in words, e.g.
 * "server certificate is not signed by a trusted CA (Unknown CA)". "close" follows every fatal error.
 */
interface DtlsError {
  code: string;
  message: string;
}

interface DtlsSocket extends EspruinoEventEmitter {
  /** Application data, 8-bit string, one datagram. Datagrams sent before "connect" are queued (up to 16). */
  send(message: string): void;
  /** The session (holds its master secret: keep it in private storage), once connected. */
  exportSession(): string | undefined;
  /** The largest datagram one record carries: exact once connected, a safe bound from the MTU before. */
  maxDatagram(): number;
  /** Sends close_notify, then emits "close". */
  close(): void;
  on(event: "connect", listener: (info: { resumed: boolean; cipher: string }) => void): void;
  on(event: "message", listener: (message: string) => void): void;
  on(event: "error", listener: (error: DtlsError) => void): void;
  on(event: "close", listener: () => void): void;
  on(event: string, listener: (...args: any[]) => void): void;
}

/** Espruino's `crypto` module: digests of 8-bit strings, as ArrayBuffers. SHA384/512 exist where built in. */
interface CryptoModule {
  SHA1(data: string): ArrayBuffer;
  SHA256(data: string): ArrayBuffer;
  SHA384?(data: string): ArrayBuffer;
  SHA512?(data: string): ArrayBuffer;
}

interface EspruinoMemory {
  free: number;
  usage: number;
  total: number;
  history: number;
  gc: number;
  gctime: number;
  blocksize: number;
}

/** The `E` object: the parts the firmware and the host stand-ins share. */
interface EspruinoE {
  /** Bytes to an 8-bit string: the form dgram and Storage want. */
  toString(data: Uint8Array | ArrayBuffer | number[]): string;
  toUint8Array(data: string): Uint8Array;
  hwRand(): number;
  CRC32(data: string | Uint8Array): number;
  setBootCode(code: string, alwaysExec?: boolean): void;
  reboot(): void;
  on(event: "init" | "kill", listener: () => void): void;
}
