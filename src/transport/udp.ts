// Plain CoAP's transport: one Espruino dgram socket talking to one server. The dgram module is passed in (the board
// passes require("dgram"), Node tests pass host/espruino/dgram.mjs), so this file needs nothing from the host.
import { Transport, TransportError } from "./types";

export interface UdpTransportOptions {
  /**
   * Largest datagram accepted whole. Espruino cuts longer ones silently (to 528 bytes by default), so this must
   * cover a 1024-byte block plus CoAP headers. Default 1152.
   */
  recvBufferSize?: number;
}

export function createUdpTransport(dgram: DgramModule, host: string, port: number, options?: UdpTransportOptions): Transport {
  const o = options || {};
  const socket = dgram.createSocket({ type: "udp4", recvBufferSize: o.recvBufferSize || 1152 });
  // A host name cannot be compared with rinfo.address (always an IP), so only IP literals filter by address.
  const byAddress = /^[0-9.]+$/.test(host);
  const where = "UDP " + host + ":" + port + ": ";
  let onData = (_d: Uint8Array) => {};
  let onError = (_e: TransportError) => {};
  // Reported as a later event, so that the sender's own bookkeeping is complete before its error handler runs.
  const fail = (code: string, message: string) => {
    setTimeout(() => onError({ code: code, message: message }), 0);
  };
  socket.on("message", (msg: string, rinfo: DgramRemoteInfo) => {
    if (rinfo.port == port && (!byAddress || rinfo.address == host)) onData(E.toUint8Array(msg));
  });
  socket.on("error", (e: { code: number; message: string }) => onError({ code: "socket", message: where + e.message }));
  // No bind: Espruino's first send opens the socket on a random local port and replies arrive on it, whereas
  // bind() would open a second, listening socket (of the ten lwIP allows).
  return {
    send: (data: Uint8Array) => {
      const s = E.toString(data);
      // E.toString gives undefined when no flat string fits in memory; sending that would put "undefined" on the wire.
      if (typeof s != "string") return fail("memory", "no memory for a " + data.length + "-byte datagram");
      try {
        socket.send(s, port, host);
      } catch (e) {
        fail("socket", where + "send: " + ((e && (e as { message?: string }).message) || e));
      }
    },
    onMessage: (h: (d: Uint8Array) => void) => {
      onData = h;
    },
    onError: (h: (e: TransportError) => void) => {
      onError = h;
    },
    close: () => socket.close(),
  };
}
