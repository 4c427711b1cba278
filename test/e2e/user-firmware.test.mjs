// The README's firmware-author example, exactly as written there, as src/app/user.ts: built for the ESP32-DevKitC
// in a copy of the build inputs (dist/ untouched) and run on the real interpreter against the local server. The
// boot sequence of src/main.ts stays (banner, built-in RPCs), and the example's own RPC and client-side RPC work.
import test from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { hardwareFor } from "../../host/interpreter/interpreter.mjs";
import { loadBoard } from "../../boards/board-file.mjs";
import { startTb, until } from "../node-support.mjs";
import { ROOT, copyProject, interpreterNode } from "../sim-support.mjs";

function readmeExample() {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const m = /<!-- example:user\.ts -->\n```ts\n([\s\S]*?)```\n<!-- \/example:user\.ts -->/.exec(readme);
  assert.ok(m, "the README holds the src/app/user.ts example between its markers");
  return m[1];
}

test("the README's src/app/user.ts example builds and runs on the real interpreter, with the boot sequence kept", { timeout: 240000 }, async (t) => {
  const dir = copyProject(t, "user-firmware-");
  fs.writeFileSync(path.join(dir, "src/app/user.ts"), readmeExample());
  execFileSync(process.execPath, [path.join(dir, "scripts/build.mjs"), "--board", "esp32", "--quiet"], { cwd: dir, stdio: "pipe", timeout: 180000 });
  const bundle = fs.readFileSync(path.join(dir, "dist/esp32/firmware.js"));
  assert.notDeepEqual(bundle, fs.readFileSync(path.join(ROOT, "dist/esp32/firmware.js")), "the example is in the bundle");

  const asked = [];
  const tb = await startTb(t, { clientRpcHandlers: { getCurrentTime: (params) => (asked.push(params), { time: 1767225600000 }) } });
  const token = "utok" + Math.random().toString(36).slice(2, 10);
  const id = await tb.createDevice("user-node", token);
  const node = interpreterNode(t, "user-node-", { hardware: hardwareFor(loadBoard(path.join(ROOT, "boards/esp32.json"))) });
  node.writeStorage({ ".bootcde": bundle, "node.cfg": JSON.stringify({ server: tb.uri, token, wifi: { ssid: "sim" }, intervalS: 30 }) });
  node.start();
  const text = () => node.lines.join("\n");
  await until(() => /node: ESP32-DevKitC \(classic ESP32\) \(esp32\) up, readings \{/.test(text()), 10000, `the boot banner; console:\n${text()}`);
  await until(() => /node: telemetry 1 reading\(s\) -> 2\.01/.test(text()), 15000, `the first telemetry; console:\n${text()}`);
  assert.deepEqual(await tb.rpc(id, "blink", { times: 2 }, 8000), { blinking: 2 }, "the example's own RPC");
  assert.equal((await tb.rpc(id, "getStatus", {}, 8000)).board, "esp32", "the built-in RPCs are still there");
  await until(() => /^server time \{"time":1767225600000\}$/m.test(text()), 15000, `the client-side RPC's answer; console:\n${text()}`);
  assert.deepEqual(asked, [{}]);
  assert.ok(!/Uncaught|Error/.test(text()), `no error on the console:\n${text()}`);
});
