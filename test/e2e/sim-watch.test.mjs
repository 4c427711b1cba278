// `npm run sim -- --watch`: a change to the firmware's source is rebuilt and reloaded into the running node, which
// boots the new bundle with its Storage and against the same server. Run in a copy of the project, so the change and
// the rebuilt bundle stay out of this tree.
import test from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { copyProject, until } from "../sim-support.mjs";

test("--watch rebuilds on a source change and reloads the node, keeping its Storage and its server", { timeout: 180000 }, async (t) => {
  const dir = copyProject(t, "sim-watch-", { tools: true });
  const child = spawn(process.execPath, ["host/sim/cli.mjs", "--http-port", "0", "--watch", "--interval", "5", "--speed", "5"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => child.kill("SIGKILL"));
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  await until(() => /node: telemetry 1 reading\(s\) -> 2\.01/.test(out), 30000, `the first telemetry:\n${out}`);
  assert.match(out, /^sim: watching src\/ and boards\/; a change rebuilds and reloads the nodes$/m);

  const main = path.join(dir, "src/main.ts");
  fs.writeFileSync(main, fs.readFileSync(main, "utf8").replace('") up, readings "', '") up again, readings "'));
  await until(() => /^sim: reloaded dist\/sim\/firmware\.js into node1 \(\d+ -> \d+ bytes, \+6\) after a [\d.]+ s build$/m.test(out), 60000, `the reload:\n${out.slice(-2000)}`);
  const after = out.search(/^sim: reloaded /m); // the node may print its new boot in the same chunk
  await until(() => /node: Simulated ESP32 \(desktop simulator\) \(sim\) up again, readings \{/.test(out.slice(after)), 20000, `the new banner:\n${out.slice(after)}`);
  await until(() => /node: telemetry \d+ reading\(s\) -> 2\.01/.test(out.slice(after)), 30000, `telemetry after the reload:\n${out.slice(after)}`);
  assert.match(out.slice(after), /\* boot \(poweron, #2\)/, "the node booted again (its boot count kept in Storage)");

  // A change that does not compile keeps the running firmware.
  fs.writeFileSync(main, fs.readFileSync(main, "utf8") + "\nconst broken: number = \"text\";\n");
  await until(() => /^sim: rebuild failed, the nodes keep the firmware they run: src\/main\.ts:\d+:7: TS2322/m.test(out), 60000, `the failed rebuild:\n${out.slice(-1500)}`);
  assert.equal(child.exitCode, null, "the simulator keeps running");
});

test("flash --watch flashes again after a source change, over the board's console", { timeout: 240000 }, async (t) => {
  const { startNode } = await import("../sim-support.mjs");
  const dir = copyProject(t, "flash-watch-", { tools: true });
  const node = await startNode(t, { bundle: null, consolePort: 0, clock: "real" });
  const child = spawn(process.execPath, ["host/hil/flash-cli.mjs", "--board", "sim", "--port", `tcp://127.0.0.1:${node.console.port}`, "--watch"],
    { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => child.kill("SIGKILL"));
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  await until(() => /^flash: watching src\/ and boards\/; a change rebuilds and flashes again \(Ctrl-C stops\)$/m.test(out), 120000, `the first flash:\n${out}`);
  await until(() => node.device.lines.some((l) => /\) up, readings \{/.test(l)), 20000, "the first firmware's banner");

  const main = path.join(dir, "src/main.ts");
  fs.writeFileSync(main, fs.readFileSync(main, "utf8").replace('") up, readings "', '") up again, readings "'));
  await until(() => /^flash: rebuilt dist\/sim\/firmware\.js in [\d.]+ s; flashing it$/m.test(out), 120000, `the rebuild:\n${out.slice(-1500)}`);
  await until(() => /^flash: reloaded dist\/sim\/firmware\.js \(\d+ -> \d+ bytes, \+6\) in [\d.]+ s$/m.test(out), 120000, `the reload:\n${out.slice(-1500)}`);
  await until(() => node.device.lines.some((l) => /\) up again, readings \{/.test(l)), 20000, `the new firmware's banner:\n${node.device.lines.slice(-10).join("\n")}`);
  assert.match(node.device.storage.read(".bootcde").toString("latin1"), / up again, readings /, "the new bundle is in Storage");
});
