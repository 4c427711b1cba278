// The firmware bundle exactly as built for the ESP32-DevKitC (dist/esp32/firmware.js), flashed into Storage through
// the console, on Espruino's own interpreter compiled to WebAssembly (host/engine/) against the local
// ThingsBoard-compatible server over real UDP on 127.0.0.1: boot, telemetry, RPC, Storage kept across a reset, the
// virtual clock. Every wait is bounded.
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { EngineNode } from "../host/engine/node.mjs";
import { loadBoard } from "../scripts/board.mjs";
import { startTb, until } from "./node-support.mjs";
import { ROOT, interpreterNode } from "./sim-support.mjs";

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
  await node.start();
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
