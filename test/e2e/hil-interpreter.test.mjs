// npm run hil on the real Espruino interpreter (--engine linux): the shipped scenarios that run in real time within
// half a minute each.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tempDir } from "../sim-support.mjs";
import { hil, assertAllPassed } from "../hil-support.mjs";

test("shipped scenarios on the real Espruino interpreter (--engine linux): OTA update, RPC round trip, shared attribute change", async (t) => {
  const dir = tempDir(t, "hil-reports-");
  // The real-time scenarios that take under half a minute each (first-boot and deep-sleep take two minutes, the
  // six-minute outage of store-forward eight: `npm run hil -- --engine linux` runs them all).
  const names = ["ota", "rpc", "shared-attributes"];
  const r = await hil(["--engine", "linux", "--no-build", "--reports", dir, ...names]);
  const json = assertAllPassed(r, dir, names, { kind: "interpreter", board: "esp32", suite: "hil esp32 on the real Espruino interpreter" });
  assert.match(r.stdout, /the board runs Espruino 2v29\.277 for NODE_ESP32/);
  assert.match(json.scenarios.find((s) => s.name === "rpc").steps.find((s) => s.name.startsWith("RPC getStatus")).detail, /"board":"esp32"/);
  assert.ok(json.scenarios.find((s) => s.name === "ota").console.some((l) => /^node: espruino-coap-node 9\.9\.9 on esp32, server /.test(l)), "the update runs on the interpreter");
});
