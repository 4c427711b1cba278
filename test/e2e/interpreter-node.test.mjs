// The firmware bundle exactly as built for the ESP32-DevKitC (dist/esp32/firmware.js), saved in Storage as flashing
// saves it, on the real Espruino interpreter (ESP32-like build) against the local ThingsBoard-compatible server over
// real UDP on 127.0.0.1, through a relay that can cut the link. Real time throughout; every wait is bounded.
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { coap } from "../../host/lib.mjs";
import { hardwareFor } from "../../host/interpreter/interpreter.mjs";
import { startRelay } from "../../host/interpreter/relay.mjs";
import { loadBoard } from "../../boards/board-file.mjs";
import { startTb, until } from "../node-support.mjs";
import { ROOT, interpreterNode } from "../sim-support.mjs";


/** "attributes" or "rpc" for a CON GET registering an observation (Observe 0), else null. */
function registration(bytes) {
  let m;
  try {
    m = coap.decodeMessage(new Uint8Array(bytes));
  } catch (e) {
    return null;
  }
  const obs = coap.getOption(m, coap.Opt.OBSERVE);
  if (m.code !== coap.Code.GET || obs === undefined || coap.readUint(obs) !== 0) return null;
  const path = coap.getOptions(m, coap.Opt.URI_PATH).map((v) => coap.readString(v));
  return path[path.length - 1];
}

test("real interpreter: boot, telemetry, both observations once, every built-in RPC, a shared intervalS, an outage, a reboot", { timeout: 240000 }, async (t) => {
  const tb = await startTb(t);
  const token = "itok" + Math.random().toString(36).slice(2, 10);
  const id = await tb.createDevice("interp-node", token);
  const registrations = [];
  const relay = await startRelay({ serverPort: tb.port, onDatagram: (dir, bytes) => {
    const r = dir === "out" && registration(bytes);
    if (r) registrations.push({ what: r, at: Date.now() });
  } });
  t.after(() => relay.close());
  const node = interpreterNode(t, "interp-node-", { hardware: hardwareFor(loadBoard(path.join(ROOT, "boards/esp32.json"))) });
  node.writeStorage({
    ".bootcde": fs.readFileSync(path.join(ROOT, "dist/esp32/firmware.js")),
    "node.cfg": JSON.stringify({ server: `coap://127.0.0.1:${relay.port}`, token, wifi: { ssid: "sim" }, intervalS: 5 }),
  });
  const lines = () => node.lines.join("\n");
  const seen = (re, ms, what) => until(() => re.test(lines()), ms, `${what}; console so far:\n${lines()}`);
  node.start();

  // Boot: the banner with a reading, the firmware line, the first telemetry answered, client attributes.
  await seen(/node: ESP32-DevKitC \(classic ESP32\) \(esp32\) up, readings \{"temperature":[0-9.]+,"battery":[0-9.]+\}/, 10000, "the boot banner");
  await seen(/node: espruino-coap-node \S+ on esp32, server 127\.0\.0\.1:\d+/, 10000, "the firmware line");
  await seen(/node: telemetry 1 reading\(s\) -> 2\.01/, 15000, "the first telemetry");
  await until(async () => (await tb.attributes(id, "CLIENT_SCOPE")).fw_title === "espruino-coap-node", 10000, "client attributes");
  const client = await tb.attributes(id, "CLIENT_SCOPE");
  assert.equal(client.board, "esp32");
  assert.equal(typeof client.memFree, "number", "the real interpreter reports its free variables");
  await until(() => registrations.length >= 2, 10000, "two registrations");
  await new Promise((r) => setTimeout(r, 2000));
  assert.deepEqual(registrations.map((r) => r.what).sort(), ["attributes", "rpc"], "each observation registered once");

  // Every built-in RPC, answered over the observation.
  assert.deepEqual(Object.keys((await tb.rpc(id, "getReading", {}, 8000))).sort(), ["battery", "temperature"]);
  assert.deepEqual(await tb.rpc(id, "setLed", { on: true }, 8000), { led: true });
  assert.deepEqual(await tb.rpc(id, "setInterval", { intervalS: 1 }, 8000), { error: "intervalS must be a number of seconds from 5 to 86400" });
  assert.deepEqual(await tb.rpc(id, "nosuch", {}, 8000), { error: "unknown method nosuch" });
  const status = await tb.rpc(id, "getStatus", {}, 8000);
  assert.equal(status.board, "esp32");
  assert.equal(status.intervalS, 5);
  const usage = 16383 - status.memFree;
  assert.ok(usage > 500 && usage < 16383, `JsVars in use: ${usage}`);
  assert.deepEqual(await tb.rpc(id, "setInterval", { intervalS: 6 }, 8000), { intervalS: 6 });

  // A shared intervalS reaches the node through its observation, is kept in node.cfg and paces the readings.
  await tb.setShared(id, { intervalS: 7 });
  await seen(/node: reading every 7 s/, 10000, "the shared interval");
  const before = node.lines.filter((l) => l.startsWith("node: reading {")).length;
  await until(() => node.lines.filter((l) => l.startsWith("node: reading {")).length >= before + 2, 20000, "two readings at 7 s");

  // An outage: readings are kept in flash and sent once the link is back, each stored exactly once.
  relay.outage(16000);
  await seen(/node: reading \{[^}]*\}, 2 queued/, 20000, "a reading queued during the outage");
  await until(() => Date.now() > 0 && relay.stats.dropped > 0, 1000, "dropped datagrams");
  await new Promise((r) => setTimeout(r, 16000));
  const printed = () => node.lines.filter((l) => l.startsWith("node: reading {"));
  await until(async () => (await tb.history(id, "temperature")).length === printed().length, 40000, "every reading on the server after the outage");
  const stored = await tb.history(id, "temperature");
  assert.equal(new Set(stored.map((p) => p.ts)).size, stored.length, "no reading stored twice");

  // A reboot (RPC): the interpreter restarts from Storage, boots and reports again.
  assert.deepEqual(await tb.rpc(id, "reboot", {}, 8000), { rebooting: true });
  await until(() => node.boots === 2, 10000, "the reboot");
  const from = node.lines.length;
  await until(() => node.lines.slice(from).some((l) => /^node: telemetry \d+ reading\(s\) -> 2\.01/.test(l)), 20000, "telemetry after the reboot")
    .catch((e) => { throw new Error(`${e.message}; console since the reboot:\n${node.lines.slice(from).join("\n")}`); });
  assert.ok(!lines().includes(token), "the access token never appears on the console");
  await node.stop();
  assert.equal(JSON.parse(node.readStorage("node.cfg")).intervalS, 7, "the shared interval is kept in node.cfg");
  assert.ok(!/Uncaught|Error/.test(lines()), `no error on the console:\n${lines()}`);
});

test("npm run sim -- --engine linux: the flashed bundle on the real interpreter against the local server", { timeout: 60000 }, async () => {
  const { spawnSync } = await import("node:child_process");
  const r = spawnSync(process.execPath, ["host/sim/cli.mjs", "--http-port", "0", "--engine", "linux", "--duration", "8", "--interval", "5", "--token", "SECRET_TOKEN_42"], { cwd: ROOT, encoding: "utf8", timeout: 40000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /sim: node1 \(Simulated ESP32 \(desktop simulator\)\) on the real Espruino interpreter \(esp32 build\)/);
  assert.match(r.stdout, /\[node1 \d\d:\d\d:\d\d\.\d{3}\] node: Simulated ESP32 \(desktop simulator\) \(sim\) up, readings \{"temperature":/);
  assert.match(r.stdout, /\* -> CON POST \/api\/v1\/<token>\/telemetry mid=\d+/);
  assert.match(r.stdout, /node: telemetry 1 reading\(s\) -> 2\.01/);
  assert.ok(!(r.stdout + r.stderr).includes("SECRET_TOKEN_42"), "the token is never printed");
  const bad = spawnSync(process.execPath, ["host/sim/cli.mjs", "--engine", "linux", "--loss", "0.1"], { cwd: ROOT, encoding: "utf8" });
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, "sim: --engine linux runs in real time in a process of its own: --clock, --speed, --loss, --dup, --reorder, --delay and --nat-rebind need the simulator's engine (wasm)\n");
});
