// A digital input in a board file: validated by the build, read by the firmware with its pull resistor, and fed by
// the same simulated signal (high at or above half the range) in the emulator and on the real interpreter. The board
// file and its bundle are made in a copy of the build inputs, so boards/ and dist/ stay as they are.
import test from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { InterpreterNode, hardwareFor } from "../host/interpreter/interpreter.mjs";
import { loadBoard, validateBoard, BoardError } from "../scripts/board.mjs";
import { startTb, until } from "./node-support.mjs";
import { ROOT, startNode, tempDir } from "./sim-support.mjs";

const INPUTS = ["src", "boards", "scripts", "rollup.config.js", "tsconfig.json", "package.json", "package-lock.json"];

/** The sim board with a door contact on D4 (pull-up), open (1) for 10 s and closed (0) for 10 s in turn. */
function doorBoard() {
  const board = JSON.parse(fs.readFileSync(path.join(ROOT, "boards/sim.json"), "utf8"));
  board.id = "door";
  board.sensors.push({ key: "door", kind: "digital", pin: "D4", pull: "up", scale: 1, offset: 0, decimals: 0, unit: "",
    sim: { base: 0.5, amplitude: 0.5, periodS: 20, noise: 0 } });
  return board;
}

test("board files: a digital input takes a pull of up or down, and a pull is refused on an analog input", () => {
  const board = doorBoard();
  assert.equal(validateBoard(board, "door.json").sensors[2].pull, "up");
  const badPull = doorBoard();
  badPull.sensors[2].pull = "sideways";
  assert.throws(() => validateBoard(badPull, "door.json"), (e) => e instanceof BoardError && /sensors\[2\]\.pull.*must be "up", "down" or left out/.test(e.message));
  const analogPull = doorBoard();
  analogPull.sensors[0].pull = "up";
  assert.throws(() => validateBoard(analogPull, "door.json"), /sensors\[0\]\.pull.*is only for digital inputs/);
  const badKind = doorBoard();
  badKind.sensors[2].kind = "i2c";
  assert.throws(() => validateBoard(badKind, "door.json"), /sensors\[2\]\.kind.*must be "analog", "digital" or "internal"/);
});

test("a digital input's readings follow its simulated signal, in the emulator and on the real interpreter", { timeout: 240000 }, async (t) => {
  const dir = tempDir(t, "door-build-");
  for (const name of INPUTS) fs.cpSync(path.join(ROOT, name), path.join(dir, name), { recursive: true });
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  fs.writeFileSync(path.join(dir, "boards/door.json"), JSON.stringify(doorBoard(), null, 2));
  execFileSync(process.execPath, [path.join(dir, "scripts/build.mjs"), "--board", "door", "--quiet"], { cwd: dir, stdio: "pipe", timeout: 180000 });
  const bundle = fs.readFileSync(path.join(dir, "dist/door/firmware.js"), "latin1");
  const board = loadBoard(path.join(dir, "boards/door.json"));
  const doors = (lines) => lines.map((l) => /^node: reading \{.*"door":(\d)\}/.exec(l)).filter(Boolean).map((m) => Number(m[1]));

  // The emulator: 80 simulated seconds at a reading every 5 s.
  const sim = await startNode(t, { board, bundle, config: { server: "coap://127.0.0.1:9", token: "T", intervalS: 5 }, untilMs: 80000 });
  await sim.done;
  const simDoors = doors(sim.device.lines);
  assert.ok(simDoors.length >= 12 && simDoors.includes(0) && simDoors.includes(1), `door readings in the emulator: ${simDoors}`);

  // The real interpreter, reporting to the local server.
  const tb = await startTb(t);
  const id = await tb.createDevice("door-node", "door-token");
  const node = new InterpreterNode({ dir: tempDir(t, "door-node-"), hardware: hardwareFor(board) });
  t.after(() => node.stop());
  node.writeStorage({ ".bootcde": bundle, "node.cfg": JSON.stringify({ server: tb.uri, token: "door-token", wifi: { ssid: "sim" }, intervalS: 5 }) });
  node.start();
  await until(() => new Set(doors(node.lines)).size === 2, 45000, `both door states on the interpreter; console:\n${node.lines.join("\n")}`);
  await until(async () => new Set((await tb.history(id, "door")).map((p) => p.value)).size === 2, 15000, "both door states stored");
  assert.ok(!/Uncaught|Error|WARNING/.test(node.lines.join("\n")), node.lines.join("\n"));
});
