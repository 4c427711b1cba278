// Espruino compiled to WebAssembly (host/engine/wasm.mjs), the simulator's engine to be: it is the real interpreter
// (its answers, errors and memory layout are the board's, checked against the native ESP32-like build where the two
// should agree), on a clock the host moves, with Storage in a flash image that outlives the engine.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startEngine, virtualClock, FLASH_BYTES } from "../../host/engine/wasm.mjs";
import { runScript } from "../../host/interpreter/interpreter.mjs";
import { tempDir } from "../sim-support.mjs";

/** An engine whose console output is collected; `eval(line)` types a line (echo off) and returns what it printed. */
async function engine(t, options = {}) {
  let out = "";
  const e = await startEngine({ onOutput: (text) => (out += text), ...options });
  t.after(() => e.kill());
  e.run(0);
  out = "";
  e.type = (line, ms = 0) => {
    out = "";
    e.input(`\x10${line}\n`);
    e.run(ms);
    return out.replace(/\r\n>$/, "").replace(/^\r\x1b\[J/, "");
  };
  return e;
}

/** The same lines on the native ESP32-like interpreter (build/espruino/esp32), its console output. */
function native(t, code) {
  return runScript(code + "\n", { dir: tempDir(t, "engine-native-") }).stdout;
}

test("the engine is Espruino with the ESP32's variables: 16,383 of 14 bytes, and the device's regular expressions", async (t) => {
  const e = await engine(t);
  const m = JSON.parse(e.type("print(JSON.stringify(process.memory()))"));
  assert.equal(m.total, 16383);
  assert.equal(m.blocksize, 14, "a variable takes 14 bytes, as on the ESP32 (the native Linux build: 18)");
  const version = e.type("print(process.version)");
  assert.equal(version, "2v29.277");
  assert.ok(native(t, "print(process.version)").includes(`\r\n${version}\r\n`), "the native build is the same version");
  // The regular expression engine is Espruino's, with its limits: this is false on a board (docs/espruino.md).
  assert.equal(e.type('print(/^ab?c$/.test("abc"), /^a.c$/.test("abc"))'), "false true");
  assert.equal(e.type('print(typeof require("dgram").createSocket, require("crypto").SHA256("abc").length)'), "function 32");
});

test("errors read as on the real interpreter: the same message and position as the native build", async (t) => {
  const e = await engine(t);
  const line = 'var o = {}; o.missing.call();';
  const ours = e.type(line);
  assert.match(ours, /^Uncaught Error: Can't read property 'call' of undefined\r\n {4}at REPL \(:1:22\)\r\n/);
  // Typed at the console it is "REPL"; the native build ran it from a file, "[raw]": same words, same column.
  assert.ok(native(t, line).includes("Uncaught Error: Can't read property 'call' of undefined\r\n    at [raw] (:1:22)\r\n"));
  assert.equal(e.type("print(1 + 1)"), "2", "the engine goes on after an uncaught error");
});

test("timers run on the host's clock: a virtual hour of minute ticks is over at once, and Date follows the clock", async (t) => {
  const clock = virtualClock(1_800_000_000_000);
  const e = await engine(t, { clock });
  const started = clock.now;
  e.type('var ticks = []; setInterval(function () { ticks.push(Date.now()); }, 60000);');
  e.run(3_600_000 + 500);
  const ticks = JSON.parse(e.type("print(JSON.stringify(ticks))"));
  assert.equal(ticks.length, 60);
  assert.deepEqual(ticks.slice(0, 3).map((ts) => Math.round((ts - started) / 1000)), [60, 120, 180]);
  assert.equal(clock.now, started + 3_600_500);
  assert.equal(Number(e.type("print(Date.now())")), clock.now);
});

test("Storage lives in the flash image: it outlives the engine, as a board's flash outlives a reset", async (t) => {
  const flash = new Uint8Array(FLASH_BYTES).fill(0xff);
  const first = await engine(t, { flash });
  assert.equal(first.type('print(require("Storage").write("node.cfg", JSON.stringify({intervalS: 5})))'), "true");
  const free = Number(first.type('print(require("Storage").getFree())'));
  assert.ok(free > 880 * 1024 && free < FLASH_BYTES, `the ESP32's 896 kB Storage: ${free} bytes free`);
  first.kill();
  assert.ok(flash.some((b) => b !== 0xff), "the engine wrote into the image");
  const second = await engine(t, { flash });
  assert.equal(second.type('print(require("Storage").read("node.cfg"))'), '{"intervalS":5}');
  await assert.rejects(startEngine({ flash: new Uint8Array(1024) }), /a flash image is 917504 bytes, not 1024/);
});

test("engines in one process are separate boards: their own variables, timers, clock and flash", async (t) => {
  const a = await engine(t, { clock: virtualClock(1_000_000) });
  const b = await engine(t, { clock: virtualClock(2_000_000) });
  a.type("var who = 'a'; setTimeout(function () { who = 'a later'; }, 1000);");
  assert.equal(b.type("print(typeof who)"), "undefined");
  b.run(5000);
  assert.equal(a.type("print(who)"), "a", "b's time passing fires none of a's timers");
  a.run(1000);
  assert.equal(a.type("print(who)"), "a later");
  assert.ok(Number(b.type("print(Date.now())")) >= 2_005_000 && Number(a.type("print(Date.now())")) < 1_100_000);
});
