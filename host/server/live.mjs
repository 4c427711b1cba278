// What the dashboard watches: every change to the store and every CoAP exchange, as Server-Sent Events on
// GET /api/live, and the last exchanges for a page that opens late (GET /api/coap/exchanges). Tokens in paths are
// masked here, before anything leaves the process.

import { entryValue } from "./kv.mjs";
import { maskPath, tokenIndex } from "./log.mjs";
import { codeString, getOption, Opt, Type } from "./wire.mjs";
import { certificateId } from "./db.mjs";
import { splitPath } from "./router.mjs";

const KEEPALIVE_MS = 15_000;

export function createLiveFeed({ store, core, maxExchanges = 1000 }) {
  const clients = new Set();
  const exchanges = [];
  const otaSent = new Map(); // deviceId -> bytes of the package sent in the current download

  function publish(event, data) {
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of clients) res.write(text);
  }

  store.changes.on("change", (c) => {
    if (c.kind !== "telemetry") return publish(c.kind, c);
    if (c.batches.some((b) => b.entries.some((e) => e.key === "fw_state" && e.value === "DOWNLOADING"))) otaSent.delete(c.deviceId);
    // Every reading passes here: typed for the page only while a page is watching.
    if (clients.size === 0) return;
    const batches = c.batches.map(({ ts, entries }) => ({ ts, values: Object.fromEntries(entries.map((e) => [e.key, entryValue(e, true)])) }));
    publish("telemetry", { deviceId: c.deviceId, batches });
  });

  // Bytes of a package sent to a device in its current download: the dashboard's progress bar.
  core.events.on("otaChunk", ({ deviceId, type, offset, length, total }) => {
    const sent = Math.max(otaSent.get(deviceId) ?? 0, offset + length);
    otaSent.set(deviceId, sent);
    publish("otaProgress", { deviceId, type, sent, total });
  });

  /** The device a request speaks for: by the token in its path, else by the certificate of its DTLS session. */
  function deviceOf(peer, segments) {
    const i = tokenIndex(segments);
    if (i >= 0) return store.deviceByToken(segments[i])?.id ?? null;
    return peer.certificate ? store.deviceByCertificateId(certificateId(peer.certificate))?.id ?? null : null;
  }

  function record(entry) {
    exchanges.push(entry);
    if (exchanges.length > maxExchanges) exchanges.shift();
    publish("coap", entry);
  }

  const block2Of = (msg) => getOption(msg, Opt.BLOCK2) !== undefined;

  return {
    /** A request and the response the endpoint sent for it. */
    response(peer, req, resp) {
      const segments = splitPath(req.path);
      record({
        ts: Date.now(), deviceId: deviceOf(peer, segments), peer: `${peer.address}:${peer.port}`, type: Type[req.type],
        method: req.method, path: maskPath(segments) + (req.query.length ? `?${req.query.join("&")}` : ""), observe: req.observe ?? null, code: codeString(resp.code),
        requestBytes: req.payload.length, responseBytes: resp.payload.length, block2: block2Of(resp),
      });
    },
    /** A notification the server sent on an observation (attribute update, RPC request). */
    notification(rel, msg) {
      record({
        ts: Date.now(), deviceId: rel.deviceId, peer: `${rel.peer.address}:${rel.peer.port}`, type: Type[msg.type],
        method: "NOTIFY", path: maskPath(rel.registration.path), observe: rel.counter, code: codeString(msg.code),
        requestBytes: 0, responseBytes: msg.payload.length, block2: block2Of(msg),
      });
    },
    exchanges: (deviceId) => exchanges.filter((e) => !deviceId || e.deviceId === deviceId),
    subscribe(req, res) {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
      res.write("retry: 2000\n\n");
      clients.add(res);
      const keepalive = setInterval(() => res.write(": keepalive\n\n"), KEEPALIVE_MS);
      keepalive.unref();
      req.on("close", () => { clearInterval(keepalive); clients.delete(res); });
    },
    close() {
      for (const res of clients) res.end();
      clients.clear();
    },
  };
}
