// The build: board files are validated with clear errors, board constants are compiled in (code for absent
// hardware is dropped), and the TypeScript-to-Espruino pipeline output is correct and gate-clean.
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import vm from "node:vm";
import { spawnSync } from "node:child_process";
import { rollup } from "rollup";
import { validateBoard, loadBoard } from "../../boards/board-file.mjs";
import { firmwareConfig, boardModuleSource } from "../../scripts/bundles.mjs";
import { checkSource } from "../../scripts/gate.mjs";
import { fillArrayHoles } from "../../scripts/espruino-rewrites.mjs";
import { tempDir } from "../temp-dir.mjs";

const good = () => JSON.parse(fs.readFileSync("boards/esp32.json", "utf8"));

const BAD_BOARDS = [
  [(b) => { b.id = "other"; }, 'esp32.json: "id" is "other" but the file is named esp32.json'],
  [(b) => { b.espruinoBoard = "ESP8266"; }, 'esp32.json: "espruinoBoard" must be one of ESP32, ESP32C3_IDF4, ESP32S3_IDF4, ESP32_IDF4, LINUX (got "ESP8266")'],
  [(b) => { b.modules = ["Storage"]; }, 'esp32.json: "modules" must include "dgram": the firmware cannot run without it'],
  [(b) => { b.modules.push("bluetooth"); }, 'esp32.json: "modules" names an unknown module "bluetooth"'],
  [(b) => { b.pins.statusLed = "GPIO2"; }, 'esp32.json: "pins.statusLed" must be a pin name such as "D2", or null (got "GPIO2")'],
  [(b) => { b.sensors[1].pin = "D34"; }, 'esp32.json: "sensors[1].pin" D34 is already used on this board'],
  [(b) => { b.sensors[1].key = "temperature"; }, 'esp32.json: "sensors[1].key" "temperature" is used by two sensors'],
  [(b) => { b.sensors[0].scale = "330"; }, 'esp32.json: "sensors[0].scale" must be a number'],
  [(b) => { b.jsVarBudget = 20000; }, `esp32.json: "jsVarBudget" must be one of Espruino's variable settings 4095, 8191, 16383, 65535 (got 20000)`],
  [(b) => { b.udpRecvBufferSize = 100; }, 'esp32.json: "udpRecvBufferSize" must be an integer from 600 to 4096 bytes (a 1024-byte CoAP payload plus headers needs about 1152)'],
  [(b) => { b.ledPin = 2; }, 'esp32.json: "ledPin" is not a board field'],
];

for (const [mutate, message] of BAD_BOARDS) {
  test(`a bad board file is refused: ${message.slice(11, 60)}`, () => {
    const b = good();
    mutate(b);
    assert.throws(() => validateBoard(b, "esp32.json"), (e) => e.message.startsWith(message));
  });
}

test("every shipped board file is valid", () => {
  for (const f of fs.readdirSync("boards").filter((f) => f.endsWith(".json"))) loadBoard(path.join("boards", f));
});

test("npm run build fails with the file and field of a bad board, and a broken JSON file is named", (t) => {
  const dir = tempDir(t, "boards-");
  const b = good();
  b.pins.statusLed = 2;
  fs.writeFileSync(path.join(dir, "esp32.json"), JSON.stringify(b));
  let r = spawnSync(process.execPath, ["scripts/build.mjs", "--boards-dir", dir], { encoding: "utf8" });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /build failed: bad board file: .*esp32\.json: "pins\.statusLed" must be a pin name such as "D2", or null \(got 2\)/);
  fs.writeFileSync(path.join(dir, "esp32.json"), "{ \"id\": ");
  r = spawnSync(process.execPath, ["scripts/build.mjs", "--boards-dir", dir], { encoding: "utf8" });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /esp32\.json: is not valid JSON/);
});

/**
 * A copy of the build's inputs in a temporary folder, to build there without touching dist/, with one board (sim)
 * and a firmware of a few lines in place of src/ (its Espruino types kept): what these tests check is how the build
 * decides, reports and maps, not what it builds, and a build of these takes a second where the shipped sources take
 * eight. main.ts imports app/hardware.ts; src/lib/answer.ts makes one library bundle. Removed after test `t`.
 */
function buildTree(t, prefix) {
  const dir = tempDir(t, prefix);
  for (const name of ["src", "boards", "scripts", "tsconfig.json", "package.json", "package-lock.json"]) {
    fs.cpSync(name, path.join(dir, name), { recursive: true });
  }
  fs.symlinkSync(path.resolve("node_modules"), path.join(dir, "node_modules"), "dir");
  for (const f of fs.readdirSync(path.join(dir, "boards"))) if (f.endsWith(".json") && f !== "sim.json") fs.rmSync(path.join(dir, "boards", f));
  for (const e of fs.readdirSync(path.join(dir, "src"))) if (e !== "types") fs.rmSync(path.join(dir, "src", e), { recursive: true });
  const write = (file, text) => {
    fs.mkdirSync(path.dirname(path.join(dir, "src", file)), { recursive: true });
    fs.writeFileSync(path.join(dir, "src", file), text);
  };
  write("app/hardware.ts", 'export function label(id: string): string {\n  return "board " + id;\n}\n');
  write("main.ts", 'import { BOARD_ID } from "board";\nimport { label } from "./app/hardware";\nconsole.log(label(BOARD_ID));\n');
  write("lib/answer.ts", "export const ANSWER = 42;\n");
  return dir;
}

test("set-up rebuilds the bundles only when an input changed, and says so", (t) => {
  const dir = buildTree(t, "if-stale-");
  const run = () => spawnSync(process.execPath, ["scripts/build.mjs", "--quiet", "--if-stale"], { cwd: dir, encoding: "utf8" });
  let r = run();
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, "setup: building the bundles (no build of these sources yet)\n");
  const bundle = path.join(dir, "dist", "sim", "firmware.js");
  const built = fs.statSync(bundle).mtimeMs;
  r = run();
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr + r.stdout, "", "nothing to do, nothing said");
  assert.equal(fs.statSync(bundle).mtimeMs, built, "the bundle was not rewritten");
  fs.utimesSync(path.join(dir, "src", "main.ts"), new Date(), new Date());
  assert.equal(run().stderr, "", "a touched file with the same content changes nothing");
  fs.appendFileSync(path.join(dir, "src", "main.ts"), "// a change\n");
  r = run();
  assert.equal(r.stderr, "setup: building the bundles (sources changed)\n");
  assert.equal(run().stderr, "");
  // A one-board build (what --watch makes) of the same inputs keeps set-up's stamp; after a change it does not.
  const one = () => spawnSync(process.execPath, ["scripts/build.mjs", "--quiet", "--board", "sim"], { cwd: dir, encoding: "utf8" });
  assert.equal(one().status, 0);
  assert.equal(run().stderr, "", "a one-board build of unchanged inputs left the stamp");
  fs.appendFileSync(path.join(dir, "src", "main.ts"), "// another change\n");
  assert.equal(one().status, 0);
  assert.equal(run().stderr, "setup: building the bundles (no build of these sources yet)\n", "the other bundles are stale after a one-board build of a change");
});

test("a type error fails the build, named with its file, line and TypeScript code", (t) => {
  const dir = buildTree(t, "type-error-");
  const file = path.join(dir, "src", "app", "hardware.ts");
  const lines = fs.readFileSync(file, "utf8").split("\n").length;
  fs.appendFileSync(file, 'export const wrong: number = "text";\n');
  const r = spawnSync(process.execPath, ["scripts/build.mjs", "--board", "sim"], { cwd: dir, encoding: "utf8" });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.equal(r.stderr, `build failed: src/app/hardware.ts:${lines}:14: TS2322: Type 'string' is not assignable to type 'number'.\n`);
  assert.ok(!fs.existsSync(path.join(dir, "dist", "sim", "firmware.js")), "no bundle is written");
});

test("board constants are compiled in: the C3 bundle (no status LED) has no LED code", () => {
  const esp32 = fs.readFileSync("dist/esp32/firmware.js", "utf8");
  const c3 = fs.readFileSync("dist/esp32c3/firmware.js", "utf8");
  assert.match(esp32, /digitalWrite\("D2"/);
  assert.doesNotMatch(c3, /digitalWrite/);
  assert.doesNotMatch(c3, /"D35"/, "the C3 board has no battery sensor");
  const board = JSON.parse(fs.readFileSync("dist/esp32c3/board.json", "utf8"));
  assert.equal(board.info.id, "ESP32C3_IDF4");
  assert.ok(board.info.builtin_modules.includes("dgram"));
});

test("array holes become void 0, in nested arrays and at either end", () => {
  assert.equal(fillArrayHoles("x=[1,,2];y=[,[3,,4],];z=[1,2]"), "x=[1,void 0,2];y=[void 0,[3,void 0,4],];z=[1,2]");
});

test("the pipeline lowers classes, statics, spread, rest, destructuring, ?. and ** so Espruino can run them", async (t) => {
  const board = loadBoard("boards/esp32c3.json");
  const config = firmwareConfig(board);
  const dir = tempDir(t, "pipeline-");
  config.input = "test/fixtures/pipeline/entry.ts";
  config.output.file = path.join(dir, "out.js");
  config.plugins[1] = (await import("@rollup/plugin-typescript")).default({
    tsconfig: "test/fixtures/pipeline/tsconfig.json", tslib: path.resolve("src/platform/tslib.js"),
  });
  const bundle = await rollup(config);
  await bundle.write(config.output);
  await bundle.close();
  const code = fs.readFileSync(config.output.file, "utf8");
  assert.deepEqual(checkSource(code, "out.js"), [], "pipeline output must pass the gate");
  assert.doesNotMatch(code, /setPrototypeOf|Array\.prototype/);
  assert.doesNotMatch(code, /\bclass\b/, "classes are lowered to ES5 functions");
  const context = vm.createContext({ console });
  vm.runInContext(code.replace("globalThis", "this"), context);
  assert.deepEqual(JSON.parse(JSON.stringify(context.pipelineResult)), {
    statics: true,
    describe: "sensor t after base",
    spread: [1, 2, 3, 9],
    rest: ["b", "c"],
    holes: [1, 3],
    optional: "none",
    power: 1024,
    loopClosures: [0, 1, 2],
    led: "no led",
    sensors: 1,
  });
});

test("the board module source names every constant the firmware imports", () => {
  const src = boardModuleSource(loadBoard("boards/sim.json"));
  for (const name of ["BOARD_ID", "BOARD_NAME", "FW_TITLE", "FW_VERSION", "ESPRUINO_BOARD", "MODULES", "STATUS_LED", "STATUS_LED_ACTIVE_LOW",
    "SENSORS", "HAS_WIFI", "HAS_DEEP_SLEEP", "HAS_DTLS", "JSVAR_BUDGET", "UDP_RECV_BUFFER"]) {
    assert.match(src, new RegExp(`export var ${name} = `));
  }
  assert.doesNotMatch(src, /"sim"\s*:/, "simulation parameters stay out of the bundle");
});

test("a gate finding names the TypeScript line it comes from, beside its place in the minified bundle", (t) => {
  const dir = buildTree(t, "gate-source-");
  const file = path.join(dir, "src", "app", "hardware.ts");
  const lines = fs.readFileSync(file, "utf8").split("\n").length;
  // Type-correct, but a regular expression Espruino's engine cannot run.
  fs.appendFileSync(file, "export function seen(s: string): boolean {\n  return /(?:ab)+c/.test(s);\n}\n");
  fs.appendFileSync(path.join(dir, "src", "main.ts"), "import { seen } from \"./app/hardware\";\nconsole.log(seen(\"abc\"));\n");
  const r = spawnSync(process.execPath, ["scripts/build.mjs", "--board", "sim"], { cwd: dir, encoding: "utf8" });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  const [head, ...found] = r.stderr.trimEnd().split("\n");
  assert.equal(head, "build failed: Espruino compatibility gate failed:");
  assert.ok(found.some((l) => l.includes("non-capturing group (?:")), r.stderr);
  for (const l of found) assert.match(l, new RegExp(`^src/app/hardware\\.ts:${lines + 1}:10: .+  \\(dist/sim/firmware\\.js:1:\\d+\\)$`));
});
