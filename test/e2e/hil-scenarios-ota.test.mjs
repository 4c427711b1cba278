// npm run hil on the simulator: the shipped OTA update, store-and-forward and deep-sleep scenarios through the real
// EspruinoTools CLI, with the reports checked.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tempDir } from "../sim-support.mjs";
import { hil, assertAllPassed } from "../hil-support.mjs";

test("shipped scenarios on the simulator: OTA update, store and forward through an outage, deep sleep", async (t) => {
  const dir = tempDir(t, "hil-reports-");
  const names = ["ota", "store-forward", "deep-sleep"];
  const r = await hil(["--sim", "--no-build", "--reports", dir, ...names]);
  const json = assertAllPassed(r, dir, names);
  const ota = json.scenarios.find((s) => s.name === "ota");
  assert.ok(ota.console.some((l) => /^node: espruino-coap-node 9\.9\.9 on sim, server /.test(l)), "the update runs");
  const sf = json.scenarios.find((s) => s.name === "store-forward");
  assert.ok(sf.console.some((l) => /^node: reading .*, \d+ queued$/.test(l)), "readings were queued during the outage");
});
