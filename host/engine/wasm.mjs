// Espruino's own interpreter compiled to WebAssembly (build/espruino/wasm/, made by scripts/espruino.sh from the
// board firmware/espruino/boards/NODE_WASM.py), run inside Node. The module is compiled once per process; each
// engine is an instance of its own in a context of its own, because the interpreter reaches its host through
// global functions (targets/emscripten: jsHandleIO, hwFlashWritePtr, hwGetPinValue, hwSetPinValue, Date.now; the
// project's hardware layer, firmware/espruino/hardware/jswrap_node_wasm.c: hwNet* for UDP, hwFile* for the
// stand-ins' files, hwFlashReadPtr, hwSetTime, hwReboot, hwRandom; and hwDtlsPlaintext from the DTLS module): each
// engine gets its own console, flash image, pins, clock, network and files.
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
export const NO_TIMER = 0x7fffffff;

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

/** Thrown through the module by E.reboot() (and so by ESP32.deepSleep()): the chip resets, the engine is over. */
export class EngineReset extends Error {
  constructor() {
    super("the engine was reset (E.reboot)");
  }
}

// Espruino's UDP packet header in front of each datagram (libs/network/network.h JsNetUDPPacketHeader, packed,
// little-endian on wasm32): the IPv4 address's 4 bytes in order, the port, the length.
const UDP_HEADER = 8;
function cString(heap, ptr) {
  let end = ptr;
  while (heap[end]) end++;
  return Buffer.from(heap.subarray(ptr, end)).toString("latin1");
}

/**
 * The UDP sockets the engine's network driver reaches (host/engine/udp.mjs makes them).
 * @typedef {{ create(port: number): number, close(id: number): void,
 *   recv(id: number): { bytes: Uint8Array, address: string, port: number } | null,
 *   send(id: number, address: string, port: number, bytes: Buffer): boolean, resolve(name: string): string | null,
 *   plaintext?: (direction: "in" | "out", port: number, bytes: Buffer) => void }} EngineNetwork
 */
/**
 * The engine's clock: `now` in milliseconds since the epoch; `set` is how Espruino's setTime reaches it.
 * @typedef {{ now: number, set?: (ms: number) => void, virtual?: boolean, advance?: (ms: number) => void }} EngineClock
 */

/** A network that has no sockets (an engine that was given none).
 * @type {EngineNetwork} */
const NO_NETWORK = { create: () => -1, close() {}, recv: () => null, send: () => false, resolve: () => null };

/**
 * A clock the host moves: `now` in milliseconds since the epoch.
 * @returns {EngineClock}
 */
export function virtualClock(startMs = Date.now()) {
  return { now: startMs, virtual: true, advance(ms) { this.now += ms; } };
}

/**
 * The hardware layer the interpreter's jshardware calls (firmware/espruino/hardware/jswrap_node_wasm.c): flash,
 * pins, UDP sockets, the stand-ins' files, the DTLS plaintext hook, reset, time and randomness. `io.M` is the
 * Emscripten module once it exists; `io.traffic` counts the datagrams that moved.
 */
function hardwareLayer(io, { flash, onFlashWrite, pins, network, files, clock, random }) {
  return {
  hwFlashReadPtr: (addr, ptr, len) => io.M.HEAPU8.set(flash.subarray(addr, addr + len), ptr),
  hwFlashWritePtr: (addr, ptr, len) => {
    flash.set(io.M.HEAPU8.subarray(ptr, ptr + len), addr);
    // The module reads flash from its copy of the image (jswrap_node_wasm.c), filled a page at a time as it is
    // read: a page it has is updated, one it has not yet gets these bytes when it is first read.
    if (io.flashImage) io.M.HEAPU8.set(flash.subarray(addr, addr + len), io.flashImage + addr);
    onFlashWrite(addr, len);
  },
  hwGetPinValue: (pin) => (pins[pin] ? 1 : 0),
  hwSetPinValue: (pin, value) => { pins[pin] = Boolean(value); },
  hwNetCreate: (port) => network.create(port),
  hwNetClose: (id) => network.close(id),
  hwNetResolve: (ptr) => {
    const name = cString(io.M.HEAPU8, ptr);
    const ip = name === "localhost" ? "127.0.0.1" : network.resolve(name);
    if (!ip) return 0;
    const b = ip.split(".").map(Number);
    return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  },
  hwNetRecv: (id, ptr, len) => {
    const d = network.recv(id);
    if (!d) return 0;
    io.traffic++;
    const bytes = d.bytes.subarray(0, Math.max(0, len - UDP_HEADER)); // cut to the buffer, as the board's stack does
    const heap = io.M.HEAPU8;
    d.address.split(".").forEach((b, i) => { heap[ptr + i] = Number(b); });
    heap[ptr + 4] = d.port & 255; heap[ptr + 5] = d.port >> 8;
    heap[ptr + 6] = bytes.length & 255; heap[ptr + 7] = bytes.length >> 8;
    heap.set(bytes, ptr + UDP_HEADER);
    return UDP_HEADER + bytes.length;
  },
  hwNetSend: (id, ptr, len) => {
    const heap = io.M.HEAPU8;
    if (len < UDP_HEADER) return -1;
    const address = Array.from(heap.subarray(ptr, ptr + 4)).join(".");
    const port = heap[ptr + 4] | (heap[ptr + 5] << 8);
    const length = heap[ptr + 6] | (heap[ptr + 7] << 8);
    const bytes = Buffer.from(heap.subarray(ptr + UDP_HEADER, ptr + UDP_HEADER + length));
    io.traffic++;
    return network.send(id, address, port, bytes) ? UDP_HEADER + length : -1;
  },
  hwFileRead: (namePtr, ptr, len) => {
    const entry = files.get(cString(io.M.HEAPU8, namePtr));
    const data = typeof entry === "function" ? entry() : entry; // a file the host makes when it is read
    if (data === undefined) return -1;
    if (len) io.M.HEAPU8.set(data.subarray(0, len), ptr);
    return data.length;
  },
  hwFileWrite: (namePtr, ptr, len) => {
    files.set(cString(io.M.HEAPU8, namePtr), Buffer.from(io.M.HEAPU8.subarray(ptr, ptr + len)));
  },
  hwDtlsPlaintext: (out, port, ptr, len) => {
    if (network.plaintext) network.plaintext(out ? "out" : "in", port, Buffer.from(io.M.HEAPU8.subarray(ptr, ptr + len)));
  },
  hwReboot: () => { throw new EngineReset(); },
  hwSetTime: (ms) => { if (clock && clock.set) clock.set(ms); },
  hwRandom: () => random() >>> 0,
  };
}

/** A started interpreter (startEngine): console input and turns of its main loop. */
class Engine {
  constructor(io, { clock, flash, pins, drain }) {
    this.io = io;
    this.clock = clock;
    this.flash = flash;
    this.pins = pins;
    this.drain = drain;
    /** Set once E.reboot() or ESP32.deepSleep() reset the chip: the engine runs no more. */
    this.reset = false;
    this.killed = false;
  }

  /** Console input, as typed over a serial port. */
  input(text) {
    const bytes = Buffer.from(text, "latin1");
    const dev = this.io.M._jsiGetConsoleDevice();
    for (let i = 0; i < bytes.length; i += INPUT_CHUNK) {
      for (const b of bytes.subarray(i, i + INPUT_CHUNK)) this.io.M._jshPushIOCharEvent(dev, b);
      this.idle();
    }
  }

  /**
   * One turn of the main loop: -1 when more work is waiting, else the milliseconds to the next timer. Throws
   * EngineReset (once) when the turn reset the chip.
   */
  idle() {
    if (this.reset || this.killed) throw new Error("the engine was reset or killed: start a new one");
    let next;
    try {
      next = this.io.M._jsIdle();
    } catch (e) {
      if (e instanceof EngineReset) this.reset = true;
      throw e;
    } finally {
      this.drain();
    }
    return next;
  }

  /**
   * The milliseconds until the interpreter has work (0: now; NO_TIMER: none). While a socket is open its loop
   * never sleeps and idle() keeps answering -1: this is how far the clock may move meanwhile.
   */
  msUntilWork() {
    return this.io.M._jsMsUntilWork();
  }

  /**
   * Runs passes of the main loop until the interpreter has nothing to do now, and returns the milliseconds until
   * it next has work (NO_TIMER: none), or -1 when `maxPasses` ran out first. While a socket is open the loop never
   * sleeps (idle() is always -1), so the interpreter is done after a pass that began with no work waiting and
   * moved no datagram; a pass that ran work gets another, as what it sent leaves on the socket layer's next pass.
   */
  settle(maxPasses = 32) {
    let worked = true;
    for (let i = 0; i < maxPasses; i++) {
      const before = this.io.traffic;
      const next = this.idle();
      if (next !== BUSY) return next;
      const waiting = this.msUntilWork();
      const again = worked || this.io.traffic !== before || waiting === 0;
      worked = waiting === 0;
      if (!again) return waiting;
    }
    return BUSY;
  }

  /**
   * Runs the main loop for `ms` of the engine's time: on a virtual clock the clock jumps to each timer, so an hour
   * of timers takes as long as their work. Returns when the time is up or nothing is left to do.
   */
  run(ms = 0) {
    const end = (this.clock ? this.clock.now : Date.now()) + ms;
    for (let turns = 0; turns < 1_000_000; turns++) {
      const next = this.settle();
      if (next === BUSY) continue;
      const now = this.clock ? this.clock.now : Date.now();
      // A timer less than a millisecond away reads as 0: step over it, or the loop would never reach it.
      const wait = Math.max(1, next);
      if (next === NO_TIMER || now + wait > end || !this.clock) {
        if (this.clock && now < end) this.clock.now = end;
        return;
      }
      this.clock.now += wait;
    }
    throw new Error("the engine's main loop did not settle within a million turns");
  }

  kill() {
    if (this.killed) return;
    this.killed = true;
    if (!this.reset) this.io.M._jsKill();
  }
}

/**
 * flash: a Uint8Array of FLASH_BYTES (erased bytes are 0xFF) that holds Storage across restarts; clock: {now, set(ms)}
 * (virtualClock()) or null for the host's own clock; onOutput(text) gets the console's output.
 * network: the UDP sockets ({create(port) -> id or -1, close(id), recv(id) -> {bytes, address, port} or null,
 * send(id, address, port, bytes) -> bool, resolve(name) -> "a.b.c.d" or null, and optionally plaintext(dir, port,
 * bytes): the application data of a DTLS record to or from that port}; host/engine/udp.mjs);
 * files: a Map of the stand-ins' files (name -> Buffer: hardware.json, hardware.sleep, ..., or a function that makes
 * the content when the file is read), kept by the host.
 * bootCode: false powers on without running the boot code in Storage. onFlashWrite(addr, len) follows writes to flash.
 * @param {{ flash?: Uint8Array, clock?: EngineClock | null, onOutput?: (text: string) => void,
 *   onFlashWrite?: (address: number, length: number) => void, pins?: Record<number, number | boolean>, network?: EngineNetwork,
 *   files?: Map<string, Buffer | (() => Buffer)>, random?: () => number, bootCode?: boolean }} [options]
 */
export async function startEngine({ flash = new Uint8Array(FLASH_BYTES).fill(0xff), clock = virtualClock(), onOutput = (_text) => {}, onFlashWrite = (_address, _length) => {}, pins = {}, network = NO_NETWORK, files = new Map(), random = () => (Math.random() * 2 ** 32) >>> 0, bootCode = true } = {}) {
  if (flash.length !== FLASH_BYTES) throw new Error(`a flash image is ${FLASH_BYTES} bytes, not ${flash.length}`);
  const { glue, module } = load();
  /** M: the Emscripten module (its exports and heap); traffic: datagrams moved, so settle() tells a pass that moved one. */
  const io = { M: /** @type {any} */ (null), traffic: 0, flashImage: 0 };
  const HostDate = class extends Date {
    static now() { return clock ? clock.now : Date.now(); }
  };
  const drain = () => {
    let text = "";
    for (let dev; (dev = io.M._jshGetDeviceToTransmit()) !== 0;) text += String.fromCharCode(io.M._jshGetCharToTransmit(dev));
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
    exports: {},
    jsHandleIO: drain,
    ...hardwareLayer(io, { flash, onFlashWrite, pins, network, files, clock, random }),
  };
  sandbox.exports = sandbox.module.exports;
  const context = vm.createContext(sandbox);
  glue.runInContext(context);
  const create = /** @type {(options: object) => Promise<any>} */ (sandbox.module.exports);
  io.M = await create({
    print: (s) => onOutput(s + "\n"),
    printErr: (s) => onOutput(s + "\n"),
    // The module is compiled once; an engine is one more instance of it.
    instantiateWasm(imports, done) {
      done(new WebAssembly.Instance(module, imports), module);
      return {};
    },
  });
  // The module's own copy of the flash, which it reads (jswrap_node_wasm.c), made before anything reads Storage.
  io.flashImage = io.M._nodeFlashImage(flash.length);
  if (!io.flashImage) throw new Error("the engine has no memory for its flash image");
  // Without the boot code: as a board powered on with its boot button held (Storage written from the host).
  try {
    if (bootCode) io.M._jsInit();
    else io.M._jsInitWithoutBootCode();
  } finally {
    drain(); // what the boot code printed, even when it reset the chip
  }

  const engine = new Engine(io, { clock, flash, pins, drain });
  // Console input typed before the boot banner is out is dropped by the interpreter: start up to its prompt.
  engine.run(0);
  return engine;
}
