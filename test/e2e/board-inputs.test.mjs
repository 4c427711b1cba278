// Digital inputs and I2C sensors in a board file: validated by the build, read by the firmware (a pull resistor; an
// I2C register's bytes, shift and sign), and fed by the same simulated signals in the simulator and on the real
// interpreter's Linux build. The board file and its bundle are made in a copy of the build inputs, so boards/ and dist/ stay as
// they are.
import test from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { hardwareFor, runScript } from "../../host/interpreter/interpreter.mjs";
import { loadBoard, validateBoard, BoardError } from "../../boards/board-file.mjs";
import { startTb, until } from "../node-support.mjs";
import { ROOT, copyProject, startNode, interpreterNode, tempDir } from "../sim-support.mjs";

/**
 * The sim board with a door contact on D4 (pull-up), open (1) for 10 s and closed (0) for 10 s in turn, and a TMP102
 * on I2C (address 0x48, register 0: 12 bits in the top of two bytes, two's complement, 0.0625 degC a count) swinging
 * between -5 and 35 degC every 23 s (not a multiple of the 5 s interval, so readings see every phase).
 */
function doorBoard() {
  const board = JSON.parse(fs.readFileSync(path.join(ROOT, "boards/sim.json"), "utf8"));
  board.id = "door";
  board.sensors.push({ key: "door", kind: "digital", pin: "D4", pull: "up", scale: 1, offset: 0, decimals: 0, unit: "",
    sim: { base: 0.5, amplitude: 0.5, periodS: 20, noise: 0 } });
  board.sensors.push({ key: "air", kind: "i2c", sda: "D21", scl: "D22", address: 0x48, register: 0, bytes: 2, shift: 4, signed: true,
    scale: 0.0625, offset: 0, decimals: 4, unit: "C", sim: { base: 240, amplitude: 320, periodS: 23, noise: 0 } });
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
  badKind.sensors[2].kind = "spi";
  assert.throws(() => validateBoard(badKind, "door.json"), /sensors\[2\]\.kind.*must be "analog", "digital", "i2c" or "internal"/);
  const badAddress = doorBoard();
  badAddress.sensors[3].address = 200;
  assert.throws(() => validateBoard(badAddress, "door.json"), /sensors\[3\]\.address.*must be the device's 7-bit I2C address \(1 to 127\)/);
  const clash = doorBoard();
  clash.sensors[3].sda = "D4";
  assert.throws(() => validateBoard(clash, "door.json"), /sensors\[3\]\.sda.*D4 is already used on this board/);
  assert.deepEqual(validateBoard(doorBoard(), "door.json").sensors[3].i2c, { sda: "D21", scl: "D22", address: 0x48, register: 0, bytes: 2, shift: 4, signed: true });
});

test("digital and I2C readings follow their simulated signals, in the simulator and on the real interpreter's Linux build", { timeout: 240000 }, async (t) => {
  const dir = copyProject(t, "door-build-");
  fs.writeFileSync(path.join(dir, "boards/door.json"), JSON.stringify(doorBoard(), null, 2));
  execFileSync(process.execPath, [path.join(dir, "scripts/build.mjs"), "--board", "door", "--quiet"], { cwd: dir, stdio: "pipe", timeout: 180000 });
  const bundle = fs.readFileSync(path.join(dir, "dist/door/firmware.js"), "latin1");
  const board = loadBoard(path.join(dir, "boards/door.json"));
  const doors = (lines) => lines.map((l) => /^node: reading \{.*"door":(\d)[,}]/.exec(l)).filter(Boolean).map((m) => Number(m[1]));
  const airs = (lines) => lines.map((l) => /^node: reading \{.*"air":(-?[\d.]+)[,}]/.exec(l)).filter(Boolean).map((m) => Number(m[1]));
  // Every I2C reading is a whole number of 1/16 degC within the swing, and both signs show up.
  const plausible = (values) => values.length >= 3 && values.every((v) => v >= -5 && v <= 35 && Number.isInteger(v * 16)) &&
    values.some((v) => v < 0) && values.some((v) => v > 20);

  // The simulator (the interpreter as WebAssembly): 80 simulated seconds at a reading every 5 s.
  const sim = await startNode(t, { board, bundle, config: { server: "coap://127.0.0.1:9", token: "T", intervalS: 5 }, untilMs: 80000 });
  await sim.done;
  const simDoors = doors(sim.device.lines);
  assert.ok(simDoors.length >= 12 && simDoors.includes(0) && simDoors.includes(1), `door readings in the simulator: ${simDoors}`);
  assert.ok(plausible(airs(sim.device.lines)), `I2C readings in the simulator: ${airs(sim.device.lines)}`);

  // The real interpreter, reporting to the local server.
  const tb = await startTb(t);
  const id = await tb.createDevice("door-node", "door-token");
  const node = interpreterNode(t, "door-node-", { hardware: hardwareFor(board) });
  node.writeStorage({ ".bootcde": bundle, "node.cfg": JSON.stringify({ server: tb.uri, token: "door-token", wifi: { ssid: "sim" }, intervalS: 5 }) });
  node.start();
  await until(() => new Set(doors(node.lines)).size === 2 && plausible(airs(node.lines)), 60000,
    "both door states and I2C readings of both signs on the interpreter").catch((e) => {
    throw new Error(`${e.message}; console:\n${node.lines.join("\n")}`);
  });
  await until(async () => new Set((await tb.history(id, "door")).map((p) => p.value)).size === 2, 15000, "both door states stored");
  assert.ok(!/Uncaught|Error|WARNING/.test(node.lines.join("\n")), node.lines.join("\n"));
});

test("the interpreter's I2C stand-in gives a register's exact bytes at the ends of its range (Espruino's Math.pow(2, 12) is not 4096)", (t) => {
  const dir = tempDir(t, "i2c-");
  const sensor = (base, bytes, shift, signed) => ({ sim: { base, amplitude: 0, noise: 0 }, bytes, shift, signed });
  // -80 counts (the TMP102 above at its lowest), clamped at +2047 and -2048, and an unsigned byte rounded.
  const i2c = { "72/0": sensor(-80, 2, 4, true), "72/1": sensor(5000, 2, 4, true), "72/2": sensor(-5000, 2, 4, true), "72/3": sensor(200.4, 1, 0, false) };
  fs.writeFileSync(path.join(dir, "hardware.json"), JSON.stringify({ i2c }));
  const r = runScript('var r = [];\nfor (var reg = 0; reg < 4; reg++) { I2C1.writeTo(72, reg); r.push([].slice.call(I2C1.readFrom(72, 2))); }\nprint("<i2c>" + JSON.stringify(r));\n', { dir, timeoutMs: 10000 });
  const line = r.stdout.split(/\r?\n/).find((l) => l.startsWith("<i2c>"));
  assert.ok(line, r.stdout);
  assert.deepEqual(JSON.parse(line.slice(5)), [[0xfb, 0x00], [0x7f, 0xf0], [0x80, 0x00], [200, 0]]);
  const pow = runScript('print("<pow>" + (Math.pow(2, 12) === 4096));\n', { dir, timeoutMs: 10000 }).stdout;
  assert.match(pow, /<pow>false/, "Espruino computes Math.pow(2, 12) as exp(log(2) * 12)");
});
