// npm run hil: every shipped scenario against the simulator through the real EspruinoTools CLI, with the JSON and
// JUnit reports checked; a deliberately failing scenario (non-zero exit, the failed step named with what was seen);
// and the board path (a console on a port, observed over it) on a simulated board's TCP console.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { execFile } from "node:child_process";
import { ROOT, startNode, tempDir } from "./sim-support.mjs";

const HIL = path.join(ROOT, "host", "hil", "cli.mjs");
const FIXTURES = path.join(ROOT, "test", "fixtures", "hil");

function hil(args, timeoutMs = 280000) {
  return new Promise((resolve) => {
    execFile(process.execPath, [HIL, ...args], { cwd: ROOT, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 16 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? err.code ?? err.signal : 0, stdout, stderr }));
  });
}

function reports(dir) {
  return {
    json: JSON.parse(fs.readFileSync(path.join(dir, "hil-report.json"), "utf8")),
    junit: fs.readFileSync(path.join(dir, "hil-junit.xml"), "utf8"),
  };
}

function assertAllPassed(r, dir, names, { kind = "sim", board = "sim", suite = "hil simulated sim" } = {}) {
  assert.equal(r.code, 0, `hil failed:\n${r.stdout.split("\n").filter((l) => /FAIL|failed/.test(l)).join("\n")}\n${r.stderr}`);
  const { json, junit } = reports(dir);
  assert.equal(json.target.kind, kind);
  assert.deepEqual(json.scenarios.map((s) => [s.name, s.status]), names.map((n) => [n, "passed"]));
  for (const s of json.scenarios) {
    assert.ok(s.steps.length >= 3 && s.steps.every((st) => st.status === "passed"), s.name);
    assert.equal(s.steps[0].name, "flash the firmware with EspruinoTools");
    assert.ok(s.console.some((l) => new RegExp(`^node: .+ \\(${board}\\) up, readings `).test(l)), `${s.name}: the boot banner is in the report`);
  }
  assert.match(junit, new RegExp(`<testsuite name="${suite}" tests="${names.length}" failures="0" errors="0" skipped="0"`));
  for (const n of names) assert.match(junit, new RegExp(`<testcase classname="hil\\.${kind}" name="${n}" time="\\d+\\.\\d{3}">`));
  return json;
}

test("shipped scenarios on the simulator: first boot, RPC round trip, shared attribute change", async (t) => {
  const dir = tempDir(t, "hil-reports-");
  const names = ["first-boot", "rpc", "shared-attributes"];
  const r = await hil(["--sim", "--no-build", "--reports", dir, ...names]);
  const json = assertAllPassed(r, dir, names);
  const rpc = json.scenarios.find((s) => s.name === "rpc");
  assert.match(rpc.steps.find((s) => s.name.startsWith("RPC setLed")).detail, /^\{"led":true\}$/);
});

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

test("a failing scenario exits non-zero and the reports name the failed step and what was seen instead", async (t) => {
  const dir = tempDir(t, "hil-reports-");
  const r = await hil(["--sim", "--no-build", "--reports", dir, path.join(FIXTURES, "never.mjs")]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /hil: FAILED never: step 3 "console prints \/\^node: this line never appears\$\/" failed: expected a console line matching \/\^node: this line never appears\$\/ within 30 s; seen 0 such line\(s\); last lines: /);
  const { json, junit } = reports(dir);
  const s = json.scenarios[0];
  assert.equal(s.status, "failed");
  assert.equal(s.failure.step, 3);
  assert.equal(s.failure.stepName, "console prints /^node: this line never appears$/");
  assert.match(s.failure.message, /seen 0 such line\(s\); last lines: .*node: /);
  assert.equal(s.failure.expected, "a console line matching /^node: this line never appears$/ within 30 s");
  assert.match(s.failure.seen, /^0 such line\(s\); last lines: /);
  assert.deepEqual(s.steps.map((st) => st.status), ["passed", "passed", "failed", "not run"]);
  assert.ok(s.steps[2].deviceS >= 30, "it waited the 30 s of device time it was given");
  assert.match(junit, /tests="1" failures="1"/);
  assert.match(junit, /<failure message="step 3 &quot;console prints \/\^node: this line never appears\$\/&quot; failed: expected a console line/);
  assert.match(junit, /3\. \[failed\] console prints/);
});

test("the board path on a console port: observed over the console, EspruinoTools in between; simulator-only scenarios are skipped", async (t) => {
  // A simulated board someone started with a console, reached like a board on a port (tcp://).
  const node = await startNode(t, { bundle: null, consolePort: 0, rtcMs: "host" });
  const dir = tempDir(t, "hil-reports-");
  const r = await hil(["--port", `tcp://127.0.0.1:${node.console.port}`, "--board", "sim", "--no-build", "--reports", dir,
    path.join(FIXTURES, "board-quick.mjs"), "store-forward"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const { json, junit } = reports(dir);
  assert.equal(json.target.kind, "board");
  assert.deepEqual(json.scenarios.map((s) => [s.name, s.status]), [["board-quick", "passed"], ["store-forward", "skipped"]]);
  assert.match(json.scenarios[1].skipped, /needs network conditions, which only the simulator \(--sim\) has/);
  assert.ok(json.scenarios[0].console.some((l) => /^node: telemetry 1 reading\(s\) -> 2\.01$/.test(l)), "console lines observed over the port");
  assert.match(junit, /tests="2" failures="0" errors="0" skipped="1"/);
  assert.match(junit, /<skipped message="needs network conditions/);
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
