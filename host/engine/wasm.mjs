// Espruino's own interpreter compiled to WebAssembly (build/espruino/wasm/, made by scripts/espruino.sh from the
// board firmware/espruino/boards/NODE_WASM.py), run inside Node. The module is compiled once per process; each
// engine is an instance of its own in a context of its own, because the interpreter reaches its host through
// global functions (targets/emscripten: jsHandleIO, hwFlashRead, hwFlashWritePtr, hwGetPinValue, hwSetPinValue,
// Date.now): each engine gets its own console, flash image, pins and clock.
//
//   const engine = await startEngine({ flash, clock, onOutput });
//   engine.input("print(1+1)\n"); engine.run(0);            // console in and out, as over a serial port
//   engine.run(3_600_000);                                   // an hour of timers on a virtual clock, at once
import fs from "node:fs";
import vm from "node:vm";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

export const ENGINE_DIR = fileURLToPath(new URL("../../build/espruino/wasm/", import.meta.url));
/** The ESP32's Storage partition, as the board file's saved_code (224 pages of 4 kB). */
export const FLASH_BYTES = 896 * 1024;
const INPUT_CHUNK = 256; // the console's input buffer holds 1,024 bytes
// What jsIdle() returns (targets/emscripten/jshardware.c): -1 when the loop did not sleep (more work is waiting),
// else the milliseconds it would sleep, whole and capped, this cap meaning no timer at all.
const BUSY = -1;
const NO_TIMER = 0x7fffffff;

let loaded = null;
function load() {
  if (loaded) return loaded;
  const files = ["espruino.js", "espruino.wasm"].map((f) => path.join(ENGINE_DIR, f));
  for (const f of files) if (!fs.existsSync(f)) throw new Error(`the WebAssembly build of Espruino is missing (${f}): run npm run setup`);
  loaded = {
    glue: new vm.Script(fs.readFileSync(files[0], "utf8"), { filename: files[0] }),
    module: new WebAssembly.Module(fs.readFileSync(files[1])),
  };
  return loaded;
}

/** A clock the host moves: `now` in milliseconds since the epoch. */
export function virtualClock(startMs = Date.now()) {
  return { now: startMs, virtual: true, advance(ms) { this.now += ms; } };
}

/**
 * flash: a Uint8Array of FLASH_BYTES (erased bytes are 0xFF) that holds Storage across restarts; clock: {now}
 * (virtualClock()) or null for the host's own clock; onOutput(text) gets the console's output.
 */
export async function startEngine({ flash = new Uint8Array(FLASH_BYTES).fill(0xff), clock = virtualClock(), onOutput = () => {}, pins = {} } = {}) {
  if (flash.length !== FLASH_BYTES) throw new Error(`a flash image is ${FLASH_BYTES} bytes, not ${flash.length}`);
  const { glue, module } = load();
  let M = null;
  const HostDate = class extends Date {
    static now() { return clock ? clock.now : Date.now(); }
  };
  const drain = () => {
    let text = "";
    for (let dev; (dev = M._jshGetDeviceToTransmit()) !== 0;) text += String.fromCharCode(M._jshGetCharToTransmit(dev));
    if (text) onOutput(text);
  };
  const sandbox = {
    Date: HostDate,
    WebAssembly,
    console,
    setTimeout, clearTimeout,
    TextDecoder, TextEncoder,
    require: createRequire(import.meta.url),
    __dirname: ENGINE_DIR,
    __filename: path.join(ENGINE_DIR, "espruino.js"),
    // The glue's Node set-up would hook the real process (uncaught exceptions, exit): it gets a stand-in.
    process: { argv: ["node", "espruino"], versions: process.versions, platform: process.platform, env: {}, on() {}, exit(code) { throw new Error(`the engine exited (${code})`); } },
    module: { exports: {} },
    jsHandleIO: drain,
    hwFlashRead: (addr) => flash[addr],
    hwFlashWritePtr: (addr, ptr, len) => flash.set(M.HEAPU8.subarray(ptr, ptr + len), addr),
    hwGetPinValue: (pin) => (pins[pin] ? 1 : 0),
    hwSetPinValue: (pin, value) => { pins[pin] = Boolean(value); },
  };
  sandbox.exports = sandbox.module.exports;
  const context = vm.createContext(sandbox);
  glue.runInContext(context);
  const create = sandbox.module.exports;
  M = await create({
    print: (s) => onOutput(s + "\n"),
    printErr: (s) => onOutput(s + "\n"),
    // The module is compiled once; an engine is one more instance of it.
    instantiateWasm(imports, done) {
      done(new WebAssembly.Instance(module, imports), module);
      return {};
    },
  });
  M._jsInit();

  let killed = false;
  const engine = {
    clock,
    flash,
    pins,
    /** Console input, as typed over a serial port. */
    input(text) {
      const bytes = Buffer.from(text, "latin1");
      const dev = M._jsiGetConsoleDevice();
      for (let i = 0; i < bytes.length; i += INPUT_CHUNK) {
        for (const b of bytes.subarray(i, i + INPUT_CHUNK)) M._jshPushIOCharEvent(dev, b);
        engine.idle();
      }
    },
    /** One turn of the main loop: -1 when more work is waiting, else the milliseconds to the next timer. */
    idle() {
      const next = M._jsIdle();
      drain();
      return next;
    },
    /**
     * Runs the main loop for `ms` of the engine's time: on a virtual clock the clock jumps to each timer, so an hour
     * of timers takes as long as their work. Returns when the time is up or nothing is left to do.
     */
    run(ms = 0) {
      const end = (clock ? clock.now : Date.now()) + ms;
      for (let turns = 0; turns < 1_000_000; turns++) {
        const next = engine.idle();
        if (next === BUSY) continue;
        const now = clock ? clock.now : Date.now();
        // A timer less than a millisecond away reads as 0: step over it, or the loop would never reach it.
        const wait = Math.max(1, next);
        if (next === NO_TIMER || now + wait > end || !clock) {
          if (clock && now < end) clock.now = end;
          return;
        }
        clock.now += wait;
      }
      throw new Error("the engine's main loop did not settle within a million turns");
    },
    kill() {
      if (killed) return;
      killed = true;
      M._jsKill();
    },
  };
  // Console input typed before the boot banner is out is dropped by the interpreter: start up to its prompt.
  engine.run(0);
  return engine;
}
