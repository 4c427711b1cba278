// The firmware bundle exactly as built for the ESP32-DevKitC (dist/esp32/firmware.js), flashed into Storage through
// the console, on Espruino's own interpreter compiled to WebAssembly (host/engine/) against the local
// ThingsBoard-compatible server over real UDP on 127.0.0.1: boot, telemetry, RPC, Storage kept across a reset, the
// virtual clock. Every wait is bounded.
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { EngineNode } from "../../host/engine/node.mjs";
import { loadBoard } from "../../boards/board-file.mjs";
import { startTb, until } from "../node-support.mjs";
import { ROOT, interpreterNode } from "../sim-support.mjs";

const board = loadBoard(path.join(ROOT, "boards/esp32.json"));
const bundle = fs.readFileSync(path.join(ROOT, "dist/esp32/firmware.js"));

const engineNode = (t, options) => interpreterNode(t, "engine-node-", { board, ...options }, EngineNode);

test("engine: the bundle as built boots, reports telemetry the server stores and answers RPC", { timeout: 60000 }, async (t) => {
  const tb = await startTb(t);
  const token = "etok" + Math.random().toString(36).slice(2, 10);
  const id = await tb.createDevice("engine-node", token);
  const node = engineNode(t);
  await node.writeStorage({
    ".bootcde": bundle,
    "node.cfg": JSON.stringify({ server: tb.uri, token, wifi: { ssid: "sim" }, intervalS: 5 }),
  });
  node.start();
  const lines = () => node.lines.join("\n");
  const seen = (re, ms, what) => until(() => re.test(lines()), ms, `${what}; console so far:\n${lines()}`);
  await seen(/node: ESP32-DevKitC \(classic ESP32\) \(esp32\) up, readings \{"temperature":[0-9.]+,"battery":[0-9.]+\}/, 10000, "the boot banner");
  await seen(/node: telemetry 1 reading\(s\) -> 2\.01/, 15000, "the first telemetry");
  assert.ok(!/Uncaught|Error/.test(lines()), lines());
  await until(async () => (await tb.attributes(id, "CLIENT_SCOPE")).fw_title === "espruino-coap-node", 10000, "client attributes");
  const status = await tb.rpc(id, "getStatus", {}, 8000);
  assert.equal(status.board, "esp32");
  const usage = 16383 - status.memFree;
  assert.ok(usage > 500 && usage < 16383, `JsVars in use: ${usage}`);
  assert.equal(await node.evaluate("process.memory().blocksize"), 14, "the ESP32's variable size");
});

/** A node on the engine configured for `tb`, started; lines, a bounded wait on them, and the simulated seconds. */
async function startedNode(t, tb, config, options = {}) {
  const node = engineNode(t, options);
  await node.writeStorage({
    ".bootcde": bundle,
    ...(tb.caPem ? { "ca.pem": tb.caPem } : {}),
    "node.cfg": JSON.stringify({ server: tb.uri, wifi: { ssid: "sim" }, ...(tb.caPem ? { ca: "ca.pem" } : {}), ...config }),
  });
  node.start();
  const text = () => node.lines.join("\n");
  return {
    node,
    text,
    seen: (re, ms, what) => until(() => re.test(text()), ms, `${what}; console so far:\n${text()}`),
    simS: () => node.scheduler.now() / 1000,
  };
}

test("engine: an hour of readings every 60 s on the virtual clock, each stored once, 60 s apart on the node's clock", { timeout: 60000 }, async (t) => {
  const tb = await startTb(t);
  const token = "htok" + Math.random().toString(36).slice(2, 10);
  const id = await tb.createDevice("engine-hour", token);
  const { simS, text } = await startedNode(t, tb, { token, intervalS: 60 });
  await until(() => simS() >= 3600, 30000, "an hour of simulated time");
  const history = await tb.history(id, "temperature");
  assert.ok(history.length >= 60 && history.length <= 62, `${history.length} readings in an hour; console:\n${text()}`);
  const gaps = history.slice(1).map((h, i) => h.ts - history[i].ts);
  assert.ok(gaps.every((g) => Math.abs(g - 60000) < 1000), `gaps between readings: ${gaps.join(", ")}`);
  assert.ok(!/Uncaught|retransmi/i.test(text()), `no error or retransmission on a clean link:\n${text()}`);
});

test("engine: deep sleep between readings: each wake is a fresh boot from Storage by the timer, on schedule", { timeout: 60000 }, async (t) => {
  const tb = await startTb(t);
  const token = "stok" + Math.random().toString(36).slice(2, 10);
  const id = await tb.createDevice("engine-sleep", token);
  const { node, simS, text } = await startedNode(t, tb, { token, intervalS: 60, sleep: true });
  const sleeps = [];
  node.on("sleep", (us) => sleeps.push(us));
  await until(() => simS() >= 330, 30000, `five and a half minutes; console:\n${text()}`);
  assert.ok(node.boots >= 6, `${node.boots} boots`);
  assert.ok(sleeps.length >= 5 && sleeps.every((us) => us > 50e6 && us <= 60e6), `deep sleeps (µs): ${sleeps.join(", ")}`);
  const history = await tb.history(id, "temperature");
  assert.ok(history.length >= 5, `${history.length} readings stored; console:\n${text()}`);
  const gaps = history.slice(1).map((h, i) => h.ts - history[i].ts);
  assert.ok(gaps.every((g) => Math.abs(g - 60000) < 2000), `readings keep their schedule across deep sleep: ${gaps.join(", ")}`);
});

test("engine, coaps://: the handshake survives lost first flights, the server is verified, telemetry stored, no secret printed", { timeout: 60000 }, async (t) => {
  const tb = await startTb(t, { secure: true });
  const token = "dtok" + Math.random().toString(36).slice(2, 10);
  const id = await tb.createDevice("engine-dtls", token);
  const out = [];
  const { node, seen, text } = await startedNode(t, tb, { token, intervalS: 5 }, { network: { outage: { startMs: 0, lenMs: 1500 } } });
  node.on("trace", (e) => { if (e.type === "udp" && e.dir === "out") out.push(e.bytes); });
  await seen(/node: espruino-coap-node \S+ on esp32, server 127\.0\.0\.1:\d+ \(DTLS\)/, 10000, "the firmware line");
  await seen(/node: DTLS handshake done with 127\.0\.0\.1/, 15000, "the handshake");
  await until(async () => (await tb.history(id, "temperature")).length >= 2, 20000, `two readings over DTLS; console:\n${text()}`);
  assert.ok(node.link.stats.out.dropped >= 1, "the first flights were lost in the outage");
  assert.ok(out.length > 4 && out.every((b) => b[0] >= 20 && b[0] <= 25), "only DTLS records left the node");
  assert.ok(!text().includes(token), "the token never appears on the console");
  assert.ok(!/Uncaught|Error/.test(text()), `no error on the console:\n${text()}`);
});
