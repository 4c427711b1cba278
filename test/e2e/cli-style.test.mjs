// Every command of the project speaks one way: `--help` prints its usage and exits 0, an unknown option is one line
// `tool: unknown option --x (see --help)` with exit 2, an unknown board lists the boards there are, and the HIL
// runner stops at the first set-up error instead of repeating it for every scenario.
import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ROOT, tempDir } from "../sim-support.mjs";

const COMMANDS = [
  { tool: "sim", script: "host/sim/cli.mjs", usage: "usage: npm run sim -- ", board: true },
  { tool: "server", script: "host/server/cli.mjs", usage: "usage: npm run server -- " },
  { tool: "coap", script: "host/cli/coap.mjs", usage: "usage: npm run coap -- " },
  { tool: "flash", script: "host/hil/flash-cli.mjs", usage: "usage: npm run flash -- ", board: ["--port", "/dev/null"] },
  { tool: "configure", script: "host/hil/configure-cli.mjs", usage: "usage: npm run configure -- ", board: ["--dry-run", "--server", "coap://192.0.2.1", "--token", "x"] },
  { tool: "hil", script: "host/hil/cli.mjs", usage: "usage: npm run hil -- ", board: ["--sim", "--no-build"] },
  { tool: "build", script: "scripts/build.mjs", usage: "usage: npm run build -- ", board: [] },
  { tool: "bench", script: "bench/run.mjs", usage: "usage: npm run bench " },
  { tool: "gate", script: "scripts/gate.mjs", usage: "usage: npm run gate " },
];
const BOARDS = fs.readdirSync(path.join(ROOT, "boards")).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5)).sort().join(", ");

const run = (script, args) => spawnSync(process.execPath, [script, ...args], { cwd: ROOT, encoding: "utf8", timeout: 60000 });

for (const c of COMMANDS) {
  test(`${c.tool}: --help, an unknown option${c.board ? " and an unknown board" : ""} in the common style`, () => {
    const help = run(c.script, ["--help"]);
    assert.equal(help.status, 0, help.stderr);
    assert.ok(help.stdout.startsWith(c.usage), `${c.tool} --help starts with its usage:\n${help.stdout.slice(0, 200)}`);
    assert.equal(help.stderr, "");

    const bad = run(c.script, ["--no-such-option"]);
    assert.equal(bad.status, 2, `${c.tool}: exit status for an unknown option`);
    assert.equal(bad.stderr, `${c.tool}: unknown option --no-such-option (see --help)\n`);
    assert.equal(bad.stdout, "");

    if (c.board) {
      const unknown = run(c.script, ["--board", "nosuch", ...(Array.isArray(c.board) ? c.board : [])]);
      assert.equal(unknown.status, 2, unknown.stderr);
      assert.equal(unknown.stderr, `${c.tool}: unknown board "nosuch" (boards: ${BOARDS})\n`);
    }
  });
}

test("hil: a missing serial port is reported once, before anything starts; a failed set-up stops the run", (t) => {
  const missing = run("host/hil/cli.mjs", ["--port", "/dev/ttyNO-SUCH-BOARD", "--no-build"]);
  assert.equal(missing.status, 2);
  assert.equal(missing.stderr, "hil: serial port /dev/ttyNO-SUCH-BOARD does not exist (is the board plugged in? try ls /dev/ttyUSB* /dev/ttyACM*)\n");
  assert.equal(missing.stdout, "", "no server started, no scenario run");

  const reports = tempDir(t, "hil-stop-");
  const refused = run("host/hil/cli.mjs", ["--port", "tcp://127.0.0.1:1", "--no-build", "--reports", reports]);
  assert.equal(refused.status, 1);
  const failures = refused.stdout.split("\n").filter((l) => l.includes("connection refused"));
  assert.equal(failures.length, 2, `the set-up error once as it happens and once in the summary:\n${refused.stdout}`);
  const shipped = fs.readdirSync(path.join(ROOT, "host/hil/scenarios")).filter((f) => f.endsWith(".mjs")).length;
  assert.match(refused.stdout, new RegExp(`hil: stopping: the set-up failed, so the remaining ${shipped - 1} scenario\\(s\\) are not run\\n`));
  assert.match(refused.stdout, new RegExp(`hil: 0 passed, 1 failed, ${shipped - 1} skipped;`));
  const report = JSON.parse(fs.readFileSync(path.join(reports, "hil-report.json"), "utf8"));
  assert.ok(report.scenarios.slice(1).every((s) => s.status === "skipped" && /^not run: the set-up failed in /.test(s.skipped)));
});
