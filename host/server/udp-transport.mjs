// Plain CoAP over UDP. Like Californium's UDPConnector (2048-byte receive buffer), a datagram longer than 2048
// bytes is dropped without an answer.

import dgram from "node:dgram";

export const MAX_DATAGRAM = 2048;

export function createUdpTransport({ host, port, log, onDatagram }) {
  const warnOversized = log.limited ? log.limited("warn", "oversized datagram") : log.warn;
  const socket = dgram.createSocket({ type: host.includes(":") ? "udp6" : "udp4" });
  const peers = new Map();
  const peerOf = (rinfo) => {
    const id = `udp:${rinfo.address}:${rinfo.port}`;
    let p = peers.get(id);
    if (!p) {
      if (peers.size > 10000) peers.clear();
      p = { id, address: rinfo.address, port: rinfo.port, scheme: "coap", send: (bytes) => socket.send(bytes, rinfo.port, rinfo.address) };
      peers.set(id, p);
    }
    return p;
  };
  socket.on("message", (msg, rinfo) => {
    if (msg.length > MAX_DATAGRAM) {
      warnOversized("udp", `${rinfo.address}:${rinfo.port} sent a ${msg.length}-byte datagram (over ${MAX_DATAGRAM}); dropped`);
      return;
    }
    onDatagram(peerOf(rinfo), new Uint8Array(msg.buffer, msg.byteOffset, msg.length));
  });
  socket.on("error", (e) => log.error("udp", `socket error: ${e.message}`));
  return {
    listen: () => new Promise((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(port, host, () => { socket.off("error", reject); resolve(socket.address().port); });
    }),
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
