// The sensor node's costs: bytes on the wire per reading against libcoap's coap-client, wake-to-acknowledged time
// over coaps with a resumed DTLS session and with a full handshake, and the size of the ESP32 bundle.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import dgram from "node:dgram";
import { spawn } from "node:child_process";
import { coap } from "../host/lib.mjs";
import { performance } from "node:perf_hooks";
import { startServer } from "../host/server/index.mjs";
import { createSimNode } from "../host/sim/node.mjs";
import { createCa, issueCert } from "../host/dtls/pki.mjs";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");

/** A UDP relay in front of the server that keeps every datagram it passes, tagged with its direction. */
async function relay(serverPort) {
  const sock = dgram.createSocket("udp4");
  const seen = [];
  let client = null;
  sock.on("message", (buf, rinfo) => {
    if (rinfo.port === serverPort) {
      seen.push({ dir: "down", bytes: buf });
      if (client) sock.send(buf, client.port, client.address);
    } else {
      client = rinfo;
      seen.push({ dir: "up", bytes: buf });
      sock.send(buf, serverPort, "127.0.0.1");
    }
  });
  await new Promise((r) => sock.bind(0, "127.0.0.1", () => r(undefined)));
  return { port: sock.address().port, seen, close: () => new Promise((r) => sock.close(() => r(undefined))) };
}

/** Bytes of the datagrams of the telemetry exchange: the POST, its response(s), and the ACKs of both. */
function telemetryExchangeBytes(seen) {
  const msgs = seen.map((s) => ({ ...s, m: coap.decodeMessage(new Uint8Array(s.bytes)) }));
  const isTelemetry = (m) => m.code === coap.Code.POST && coap.getOptions(m, coap.Opt.URI_PATH).map(coap.readString).pop() === "telemetry";
  const post = msgs.find((x) => x.dir === "up" && isTelemetry(x.m));
  if (!post) throw new Error("no telemetry POST seen");
  const tokenOf = (x) => Buffer.from(x.m.token).toString("hex");
  const tok = tokenOf(post);
  const sameToken = msgs.filter((x) => x.m.token.length && tokenOf(x) === tok);
  // Empty ACKs carry no token: they belong to the exchange by the message ID they acknowledge.
  const mids = new Set(sameToken.map((x) => x.m.messageId));
  const part = msgs.filter((x) => sameToken.includes(x) || (x.m.code === 0 && mids.has(x.m.messageId)));
  if (process.env.BENCH_DEBUG) for (const x of part) console.log("   ", x.dir, ["CON", "NON", "ACK", "RST"][x.m.type], coap.codeString(x.m.code), "mid", x.m.messageId, "tok", tokenOf(x), x.bytes.length, "B");
  return { bytes: part.reduce((n, x) => n + x.bytes.length, 0), datagrams: part.length, payload: Buffer.from(post.m.payload).toString("latin1") };
}

async function bytesPerReading() {
  const server = await startServer({ port: 0, host: "127.0.0.1", dbFile: ":memory:", logLevel: "silent" });
  const api = (p, body) => fetch(server.httpUrl + p, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  await api("/api/device?accessToken=BENCH_TOKEN_0123456789", { name: "bench" });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-node-"));
  try {
    // The node: one reading with the server's time, as coap-client's reading has.
    const r1 = await relay(server.coapPort);
    const node = await createSimNode({ storageDir: dir, rtcMs: "host", config: { server: `coap://127.0.0.1:${r1.port}`, token: "BENCH_TOKEN_0123456789", intervalS: 600, clientTs: false } });
    const done = node.start({});
    await node.device.waitForOutput(/^node: telemetry 1 reading\(s\) -> 2\.01$/);
    // Let the node's ACK of the separate response go out before stopping it.
    await new Promise((r) => setTimeout(r, 300));
    await node.stop();
    await done;
    const ours = telemetryExchangeBytes(r1.seen);
    await r1.close();
    // libcoap's coap-client sending the same payload, as ThingsBoard's guide does.
    const r2 = await relay(server.coapPort);
    // Asynchronously: the relay and the server live in this process's event loop.
    const child = spawn("coap-client-notls", ["-m", "POST", "-t", "json", "-e", ours.payload, `coap://127.0.0.1:${r2.port}/api/v1/BENCH_TOKEN_0123456789/telemetry`], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const code = await new Promise((r) => child.on("exit", r));
    if (code !== 0) throw new Error(`coap-client-notls failed: ${stderr}`);
    const theirs = telemetryExchangeBytes(r2.seen);
    await r2.close();
    return { ours, theirs };
  } finally {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function wakeTimes() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-wake-"));
  const ca = createCa(dir, "ca");
  const cert = issueCert(ca, "server", { cn: "localhost", ips: ["127.0.0.1"] });
  const server = await startServer({ port: 0, host: "127.0.0.1", dbFile: ":memory:", logLevel: "silent", dtlsPort: 0, dtlsCert: cert.pem, dtlsKey: cert.keyPem });
  await fetch(server.httpUrl + "/api/device?accessToken=WAKE_TOKEN", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "wake" }) });
  const node = await createSimNode({
    storageDir: path.join(dir, "node"), rtcMs: "host", caPem: ca.pem, wifi: { connectMs: 0 },
    config: { server: `coaps://127.0.0.1:${server.dtlsPort}`, token: "WAKE_TOKEN", intervalS: 5, sleep: true },
  });
  const full = [];
  const resumed = [];
  let wokeAt = 0;
  let wake = 0;
  let resumedNow = false;
  node.device.on("trace", (e) => {
    if (e.type === "boot") {
      wake++;
      resumedNow = false;
    }
    // Every other wake starts without its saved session: a full handshake under the same conditions. Storage is
    // written from outside while the chip sleeps (the host refuses it while the chip runs).
    if (e.type === "sleep" && (wake + 1) % 2 === 0) node.device.storage.erase("dtls.ses");
  });
  let finished;
  const allDone = new Promise((r) => (finished = r));
  node.device.on("output", (line) => {
    // The wake is timed from the firmware's first words (its boot banner): creating the simulator's JavaScript
    // context is a cost of the simulation, not of the node.
    if (/^node: .* up, readings /.test(line)) wokeAt = performance.now();
    if (/^node: DTLS session resumed/.test(line)) resumedNow = true;
    if (process.env.BENCH_DEBUG) console.log("   ", (performance.now() - wokeAt).toFixed(2), line.slice(0, 60));
    if (/^node: telemetry \d+ reading\(s\) -> 2\.01$/.test(line) && wake > 2) {
      (resumedNow ? resumed : full).push(performance.now() - wokeAt);
      if (full.length >= 5 && resumed.length >= 5) finished();
    }
  });
  const run = node.start({});
  await Promise.race([allDone, new Promise((r) => setTimeout(r, 60000))]);
  await node.stop();
  await run;
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
  if (full.length < 3 || resumed.length < 3) throw new Error(`too few wakes measured: ${full.length} full, ${resumed.length} resumed`);
  const median = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
  return { full: median(full), resumed: median(resumed) };
}

export async function run() {
  const { ours, theirs } = await bytesPerReading();
  console.log(`  one reading: node ${ours.bytes} B in ${ours.datagrams} datagrams, coap-client ${theirs.bytes} B in ${theirs.datagrams} datagrams (payload ${ours.payload})`);
  const wake = await wakeTimes();
  console.log(`  wake to acknowledged over coaps: full handshake ${wake.full.toFixed(1)} ms, resumed ${wake.resumed.toFixed(1)} ms`);
  return {
    "node.bytes_per_reading": ours.bytes,
    "node.bytes_per_reading_vs_coap_client": ours.bytes / theirs.bytes,
    "node.wake_to_sent_ms_full": wake.full,
    "node.wake_to_sent_ms_resumed": wake.resumed,
    "node.wake_resumed_vs_full": wake.resumed / wake.full,
    "node.bundle_bytes": fs.statSync(path.join(ROOT, "dist/esp32/firmware.js")).size,
  };
}
