// A UDP relay between a node on the real interpreter and its server, both on this machine, that can cut the link:
// the node is configured with the relay's port, and every datagram either way passes through it (or, during an
// outage, is dropped and counted). The real interpreter has no simulated link of its own.
import dgram from "node:dgram";

/**
 * `onDatagram(direction, bytes)` sees each datagram that passes ("out": node to server, "in": back).
 * @param {{ serverHost?: string, serverPort: number, onDatagram?: (direction: "out" | "in", bytes: Buffer) => void }} options
 */
export async function startRelay({ serverHost = "127.0.0.1", serverPort, onDatagram = () => {} }) {
  const front = dgram.createSocket("udp4");
  const back = dgram.createSocket("udp4");
  let node = null;
  let downUntil = 0;
  const stats = { out: 0, in: 0, dropped: 0 };
  const down = () => Date.now() < downUntil;
  front.on("message", (msg, rinfo) => {
    node = { address: rinfo.address, port: rinfo.port };
    if (down()) return stats.dropped++;
    stats.out++;
    onDatagram("out", msg);
    back.send(msg, serverPort, serverHost);
  });
  back.on("message", (msg) => {
    if (!node) return;
    if (down()) return stats.dropped++;
    stats.in++;
    onDatagram("in", msg);
    front.send(msg, node.port, node.address);
  });
  await Promise.all([
    new Promise((resolve) => front.bind(0, "127.0.0.1", () => resolve(undefined))),
    new Promise((resolve) => back.bind(0, "127.0.0.1", () => resolve(undefined))),
  ]);
  return {
    port: front.address().port,
    stats,
    /** Drops everything both ways for `ms` from now. */
    outage(ms) {
      downUntil = Date.now() + ms;
    },
    close: () => Promise.all([new Promise((r) => front.close(() => r(undefined))), new Promise((r) => back.close(() => r(undefined)))]),
  };
}
