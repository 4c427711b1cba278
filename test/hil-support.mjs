// Shared by the HIL tests: `npm run hil` as a child process, its JSON and JUnit reports, and the check that every
// scenario of a run passed with the firmware flashed through EspruinoTools and its boot banner in the report.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { execFile } from "node:child_process";
import { ROOT } from "./sim-support.mjs";

export const HIL = path.join(ROOT, "host", "hil", "cli.mjs");
export const FIXTURES = path.join(ROOT, "test", "fixtures", "hil");

export function hil(args, timeoutMs = 280000) {
  return new Promise((resolve) => {
    execFile(process.execPath, [HIL, ...args], { cwd: ROOT, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 16 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? err.code ?? err.signal : 0, stdout, stderr }));
  });
}

export function reports(dir) {
  return {
    json: JSON.parse(fs.readFileSync(path.join(dir, "hil-report.json"), "utf8")),
    junit: fs.readFileSync(path.join(dir, "hil-junit.xml"), "utf8"),
  };
}

export function assertAllPassed(r, dir, names, { kind = "sim", board = "sim", suite = "hil simulated sim" } = {}) {
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
