// npm run hil's reports and targets: a deliberately failing scenario (non-zero exit, the failed step named with
// what was seen), and the board path (a console on a port, observed over it) on a simulated board's TCP console.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { startNode, tempDir } from "../sim-support.mjs";
import { hil, reports, FIXTURES } from "../hil-support.mjs";

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
