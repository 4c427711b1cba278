// npm run hil on the simulator: the shipped first-boot, RPC and shared-attribute scenarios through the real
// EspruinoTools CLI, with the JSON and JUnit reports checked; and the usage errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tempDir } from "../sim-support.mjs";
import { hil, assertAllPassed } from "../hil-support.mjs";

test("shipped scenarios on the simulator: first boot, RPC round trip, shared attribute change", async (t) => {
  const dir = tempDir(t, "hil-reports-");
  const names = ["first-boot", "rpc", "shared-attributes"];
  const r = await hil(["--sim", "--no-build", "--reports", dir, ...names]);
  const json = assertAllPassed(r, dir, names);
  const rpc = json.scenarios.find((s) => s.name === "rpc");
  assert.match(rpc.steps.find((s) => s.name.startsWith("RPC setLed")).detail, /^\{"led":true\}$/);
});

test("hil usage errors: no target or two, an unknown scenario; --list shows the shipped ones", async () => {
  const both = await hil(["--sim", "--port", "/dev/ttyUSB0"]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /give one of --port PORT \(a board\), --sim \(the simulator\) or --engine linux \(the real interpreter\)/);
  const unknown = await hil(["--sim", "nope"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no scenario "nope" \(scenarios: deep-sleep, first-boot, ota, rpc, shared-attributes, store-forward\)/);
  const list = await hil(["--list"]);
  assert.equal(list.code, 0);
  assert.equal(list.stdout.trim().split("\n").length, 6);
  assert.match(list.stdout, /store-forward\s+\(simulator only\) server outage with store and forward/);
});
