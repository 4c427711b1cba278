// The dashboard, against its peers in the same run:
// - dashboard.page_bytes_gzip: what a browser downloads to open the page (index.html, app.js, app.css, gzip -9);
// - dashboard.script_vs_uplot: the page's script (our modules and uPlot, minified) over uPlot's own minified build
//   alone: what our code adds to the charting library;
// - dashboard.live_vs_rest_get: median time from a reading sent over CoAP to its event on the page's stream (GET
//   /api/live), over the median round trip of one REST read of the latest values (what a polling page pays per
//   poll, on top of its polling interval);
// - dashboard.live_event_ms: that median in milliseconds.
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import dgram from "node:dgram";
import { createRequire } from "node:module";
import { coap } from "../host/lib.mjs";
import { performance } from "node:perf_hooks";
import { startServer } from "../host/server/index.mjs";
import { buildDashboard } from "../scripts/build-dashboard.mjs";

const require = createRequire(import.meta.url);
const ROUNDS = 60;
const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];

async function latency() {
  const server = await startServer({ coapPort: 0, httpPort: 0, logLevel: "silent" });
  const sock = dgram.createSocket("udp4");
  const abort = new AbortController();
  try {
    const created = await (await fetch(`${server.httpUrl}/api/device`, { method: "POST", body: JSON.stringify({ name: "bench" }) })).json();
    const id = created.id.id;
    const token = created.credentials.credentialsId;
    await new Promise((r) => sock.bind(0, "127.0.0.1", () => r(undefined)));
    const res = await fetch(`${server.httpUrl}/api/live`, { signal: abort.signal });
    let arrived = /** @type {(() => void) | null} */ (null);
    (async () => {
      const dec = new TextDecoder();
      try {
        for await (const chunk of /** @type {AsyncIterable<Uint8Array>} */ (/** @type {unknown} */ (res.body))) if (dec.decode(chunk).includes("event: telemetry")) arrived?.();
      } catch { /* aborted */ }
    })();
    const enc = new TextEncoder();
    const path = ["api", "v1", token, "telemetry"].map((s) => ({ number: coap.Opt.URI_PATH, value: enc.encode(s) }));
    const live = [];
    const rest = [];
    for (let i = 0; i < ROUNDS; i++) {
      const msg = coap.encodeMessage({ type: coap.Type.NON, code: coap.Code.POST, messageId: i + 1, token: Uint8Array.of(1, i), options: path, payload: enc.encode(`{"t":${i}}`) });
      const got = new Promise((r) => (arrived = () => r(undefined)));
      const t0 = performance.now();
      sock.send(msg, server.coapPort, "127.0.0.1");
      await got;
      live.push(performance.now() - t0);
      const t1 = performance.now();
      await (await fetch(`${server.httpUrl}/api/plugins/telemetry/DEVICE/${id}/values/timeseries?keys=t`)).json();
      rest.push(performance.now() - t1);
    }
    return { live: median(live.slice(10)), rest: median(rest.slice(10)) };
  } finally {
    abort.abort();
    sock.close();
    await server.close();
  }
}

export async function run() {
  await buildDashboard();
  const dir = new URL("../build/dashboard/", import.meta.url).pathname;
  const gz = (f) => zlib.gzipSync(fs.readFileSync(path.join(dir, f)), { level: 9 }).length;
  const script = fs.statSync(path.join(dir, "app.js")).size;
  const uplot = fs.statSync(require.resolve("uplot/dist/uPlot.iife.min.js")).size;
  const { live, rest } = await latency();
  return {
    "dashboard.page_bytes_gzip": gz("index.html") + gz("app.js") + gz("app.css"),
    "dashboard.script_vs_uplot": script / uplot,
    "dashboard.live_vs_rest_get": live / rest,
    "dashboard.live_event_ms": live,
  };
}
