// `npm run sim -- --watch`: a change to the firmware's source is rebuilt and reloaded into the running node, which
// boots the new bundle with its Storage and against the same server. Run in a copy of the project, so the change and
// the rebuilt bundle stay out of this tree.
import test from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ROOT, tempDir, until } from "./sim-support.mjs";

const COPIED = ["src", "boards", "scripts", "host", "rollup.config.js", "tsconfig.json", "package.json", "package-lock.json", "dist"];

test("--watch rebuilds on a source change and reloads the node, keeping its Storage and its server", { timeout: 180000 }, async (t) => {
  const dir = tempDir(t, "sim-watch-");
  for (const name of COPIED) fs.cpSync(path.join(ROOT, name), path.join(dir, name), { recursive: true });
  for (const name of ["node_modules", "build"]) fs.symlinkSync(path.join(ROOT, name), path.join(dir, name), "dir");
  const child = spawn(process.execPath, ["host/sim/cli.mjs", "--watch", "--interval", "5", "--speed", "5"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => child.kill("SIGKILL"));
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  await until(() => /node: telemetry 1 reading\(s\) -> 2\.01/.test(out), 30000, `the first telemetry:\n${out}`);
  assert.match(out, /^sim: watching src\/ and boards\/; a change rebuilds and reloads the nodes$/m);

  const main = path.join(dir, "src/main.ts");
  fs.writeFileSync(main, fs.readFileSync(main, "utf8").replace('") up, readings "', '") up again, readings "'));
  await until(() => /^sim: reloaded dist\/sim\/firmware\.js into node1 \(\d+ -> \d+ bytes, \+6\) after a [\d.]+ s build$/m.test(out), 60000, `the reload:\n${out.slice(-2000)}`);
  const after = out.length;
  await until(() => /node: Simulated ESP32 \(desktop simulator\) \(sim\) up again, readings \{/.test(out.slice(after)), 20000, `the new banner:\n${out.slice(after)}`);
  await until(() => /node: telemetry \d+ reading\(s\) -> 2\.01/.test(out.slice(after)), 30000, `telemetry after the reload:\n${out.slice(after)}`);
  assert.match(out.slice(after), /\* boot \(poweron, #2\)/, "the node booted again (its boot count kept in Storage)");

  // A change that does not compile keeps the running firmware.
  fs.writeFileSync(main, fs.readFileSync(main, "utf8") + "\nconst broken: number = \"text\";\n");
  await until(() => /^sim: rebuild failed, the nodes keep the firmware they run: src\/main\.ts:\d+:7: TS2322/m.test(out), 60000, `the failed rebuild:\n${out.slice(-1500)}`);
  assert.equal(child.exitCode, null, "the simulator keeps running");
});
