// CoAP over DTLS: a Transport over the board's DTLS module (the native module on a device, the WebAssembly build
// in the simulator). The module verifies the server and queues datagrams sent before the handshake completes.
import { Transport, TransportError } from "./types";

export interface DtlsTransport extends Transport {
  /** The session to save for an abbreviated handshake after deep sleep, once connected. */
  exportSession(): string | undefined;
  /** Called when the handshake completes; `resumed` is true for an abbreviated handshake. */
  onConnect(handler: (resumed: boolean) => void): void;
}

export function createDtlsTransport(dtls: DtlsModule, options: DtlsConnectOptions): DtlsTransport {
  const socket = dtls.connect(options);
  let onData = (_d: Uint8Array) => {};
  let onError = (_e: TransportError) => {};
  let onConnect = (_r: boolean) => {};
  socket.on("message", (msg: string) => onData(E.toUint8Array(msg)));
  socket.on("error", (e: { code: string; message: string }) => onError({ code: e.code, message: e.message }));
  socket.on("connect", (info: { resumed: boolean }) => onConnect(!!info.resumed));
  return {
    send: (data: Uint8Array) => socket.send(E.toString(data)),
    onMessage: (h: (d: Uint8Array) => void) => {
      onData = h;
    },
    onError: (h: (e: TransportError) => void) => {
      onError = h;
    },
    onConnect: (h: (resumed: boolean) => void) => {
      onConnect = h;
    },
    exportSession: () => socket.exportSession(),
    room: () => socket.maxDatagram(),
    close: () => socket.close(),
  };
}
