// A simulated sensor node on the real interpreter compiled to WebAssembly (host/engine/wasm.mjs): the engine is the
// chip, this is the board around it. Its clock is the simulator's (host/espruino/scheduler.mjs: virtual, jumping
// from timer to timer while no reply can be on its way, or real); its UDP passes the simulated link; its flash image
// (Storage) lives in `dir/flash.bin` and survives resets, deep sleep and restarts of the simulator; the stand-ins'
// files (hardware.json from the board file, hardware.sleep, ...) are kept here.
//
// A reset (E.reboot(), a crash's restart) starts a new engine on the same flash 50 ms later; ESP32.deepSleep(us)
// starts it `us` later with the wake-up cause "timer", as a board wakes.
import fs from "node:fs";
import path from "node:path";
import { EventEmitter } from "node:events";
import { startEngine, EngineReset, FLASH_BYTES, NO_TIMER } from "./wasm.mjs";
import { createUdpSockets } from "./udp.mjs";
import { Scheduler } from "../espruino/scheduler.mjs";
import { seedFrom } from "../espruino/random.mjs";
import { createLink } from "../sim/link.mjs";
import { hardwareFor, evaluateOnConsole, consoleLine, literal } from "../interpreter/interpreter.mjs";

const BUSY = -1;
/** Busy turns in a row before other work (datagrams, host timers) gets its turn. */
const TURNS_PER_SLICE = 32;
const RESET_MS = 50;
const STORAGE_CHUNK = 768; // bytes per console line when writing Storage (base64: 1,024 characters)

export class EngineNode extends EventEmitter {
  /**
   * @param {object} o
   * @param {object} o.board a loaded board file (scripts/board.mjs)
   * @param {string} o.dir the node's folder (flash.bin)
   * @param {string} [o.name]
   * @param {"virtual"|"real"} [o.clock]
   * @param {number} [o.speed]
   * @param {number} [o.seed] the run's seed; the link's seeds derive from it and the name
   * @param {object} [o.network] link conditions (host/sim/link.mjs)
   * @param {object} [o.wifi] the access point (hardwareFor)
   * @param {string} [o.bindAddress]
   * @param {number} [o.epochMs] the real time at simulated time 0: the engine's clock is epochMs + simulated time
   * @param {Record<string, string>} [o.hosts] host names the node may resolve
   */
  constructor({ board, dir, name = "node1", clock = "virtual", speed, seed = 1, network = {}, wifi = {}, bindAddress = "127.0.0.1", epochMs = Date.now(), hosts = {} }) {
    super();
    this.board = board;
    this.dir = dir;
    this.name = name;
    this.lines = [];
    this.boots = 0;
    this.engine = null;
    this.stopped = true;
    this.partial = "";
    this.scheduler = new Scheduler({ clock, speed, onError: (e) => this.emit("error", e) });
    const scheduler = this.scheduler;
    this.clock = { get now() { return epochMs + scheduler.now(); } };
    this.link = createLink({
      scheduler,
      seed: seedFrom(`${seed}/${name}`),
      conditions: network,
      onTrace: (e) => {
        if (e.dir === "in" && (e.fate === "lost" || e.fate === "outage")) scheduler.io.droppedInbound(e.bytes, e.peer);
        this.trace(e);
      },
    });
    this.udp = createUdpSockets({
      link: this.link,
      bindAddress,
      hosts,
      onTrace: (e) => this.trace(e),
      onSent: (bytes, port, address) => scheduler.io.sent(bytes, port, address),
      onReceived: (bytes, rinfo) => scheduler.io.received(bytes, rinfo),
      onArrival: () => this.scheduler.queue(() => this.turn()),
    });
    this.files = new Map([["hardware.json", Buffer.from(JSON.stringify(hardwareFor(board, wifi)))]]);
    fs.mkdirSync(dir, { recursive: true });
    this.flashFile = path.join(dir, "flash.bin");
    this.flash = fs.existsSync(this.flashFile) ? new Uint8Array(fs.readFileSync(this.flashFile)) : new Uint8Array(FLASH_BYTES).fill(0xff);
    if (this.flash.length !== FLASH_BYTES) throw new Error(`${this.flashFile} is not a flash image of ${FLASH_BYTES} bytes`);
    this.timer = 0;
    this.running = null;
  }

  trace(event) {
    this.emit("trace", { t: this.scheduler.now(), ...event });
  }

  saveFlash() {
    fs.writeFileSync(this.flashFile, this.flash);
  }

  /**
   * Writes Storage files while the node is off, through the interpreter's own Storage code on its console (the
   * engine powered on with its boot code skipped): `files` maps a name to its content (Buffer or 8-bit text), or to
   * null to erase it. `eraseAll` empties Storage first.
   */
  async writeStorage(files, { eraseAll = false } = {}) {
    if (this.engine) throw new Error("writeStorage() needs the node off (stop() it first)");
    let out = "";
    const engine = await startEngine({ flash: this.flash, clock: { now: this.clock.now }, bootCode: false, onOutput: (s) => { out += s; } });
    try {
      const type = (line) => { engine.input(`\x10${line}\n`); engine.run(0); };
      if (eraseAll) type('require("Storage").eraseAll()');
      for (const [name, content] of Object.entries(files)) {
        if (content === null) { type(`require("Storage").erase(${literal(name)})`); continue; }
        const bytes = typeof content === "string" ? Buffer.from(content, "latin1") : Buffer.from(content);
        if (bytes.length === 0) { type(`require("Storage").write(${literal(name)},"")`); continue; }
        for (let at = 0; at < bytes.length; at += STORAGE_CHUNK) {
          const b64 = bytes.subarray(at, at + STORAGE_CHUNK).toString("base64");
          type(`if(!require("Storage").write(${literal(name)},atob("${b64}"),${at},${bytes.length}))print("<full "+${literal(name)}+">")`);
        }
      }
      type('print("<storage-written>")');
      const problem = /<full ([^>]*)>|Uncaught [^\r\n]*/.exec(out);
      if (problem) throw new Error(problem[1] ? `Storage is full writing ${problem[1]}` : `writing Storage failed: ${problem[0]}`);
      if (!out.includes("<storage-written>")) throw new Error(`writing Storage failed: ${out.trim().split(/\r?\n/).pop()}`);
    } finally {
      engine.kill();
    }
    this.saveFlash();
  }

  /** Flashes `code` as the boot code (.bootcde), as `npm run flash` does through EspruinoTools. */
  flashCode(code) {
    return this.writeStorage({ ".bootcde": code });
  }

  /** Powers the node on; it then runs (resetting, sleeping and waking) until stop(). */
  async start() {
    this.stopped = false;
    this.files.delete("hardware.sleep");
    this.files.delete("hardware.woke");
    this.running = this.scheduler.run();
    await this.powerOn();
  }

  async powerOn() {
    if (this.stopped) return;
    this.boots++;
    this.emit("boot", this.boots);
    this.engine = await startEngine({
      flash: this.flash,
      clock: this.clock,
      network: this.udp,
      files: this.files,
      onOutput: (text) => this.onOutput(text),
    }).catch((e) => {
      if (e instanceof EngineReset) return null; // the boot code reset the chip at once
      throw e;
    });
    if (!this.engine) return this.onReset();
    this.scheduler.queue(() => this.turn());
  }

  /** Runs the interpreter's main loop until it sleeps, and wakes it for its next timer. */
  turn() {
    const engine = this.engine;
    if (!engine) return;
    let next;
    try {
      next = engine.settle(TURNS_PER_SLICE);
    } catch (e) {
      if (e instanceof EngineReset) return this.onReset();
      throw e;
    }
    this.scheduler.removeTimer(this.timer, { kind: "internal" });
    if (next === BUSY) this.scheduler.queue(() => this.turn());
    else if (next !== NO_TIMER) this.timer = this.scheduler.addTimer(() => this.turn(), Math.max(1, next), { kind: "internal" });
  }

  onReset() {
    this.engine = null;
    this.scheduler.removeTimer(this.timer, { kind: "internal" });
    this.udp.closeAll();
    this.scheduler.forgetIo();
    this.flushPartial();
    this.saveFlash();
    if (this.stopped) return;
    const sleep = this.files.get("hardware.sleep");
    this.files.delete("hardware.sleep");
    if (sleep === undefined) {
      this.files.delete("hardware.woke");
      this.emit("reset");
      this.scheduler.addTimer(() => this.powerOn(), RESET_MS, { kind: "internal" });
    } else {
      const us = Number(sleep.toString("latin1")) || 0;
      this.files.set("hardware.woke", Buffer.from("timer"));
      this.emit("sleep", us);
      this.trace({ type: "sleep", ms: us / 1000 });
      this.scheduler.addTimer(() => this.powerOn(), Math.max(1, Math.round(us / 1000)), { kind: "internal" });
    }
  }

  onOutput(text) {
    this.emit("data", Buffer.from(text, "latin1"));
    const parts = (this.partial + text).split("\n");
    this.partial = parts.pop();
    for (const p of parts) this.pushLine(p);
  }

  flushPartial() {
    if (this.partial) this.pushLine(this.partial);
    this.partial = "";
  }

  pushLine(raw) {
    const line = consoleLine(raw);
    this.lines.push(line);
    this.emit("output", line);
  }

  /** Types on the console. */
  write(data) {
    if (!this.engine) return false;
    try {
      this.engine.input(Buffer.isBuffer(data) ? data.toString("latin1") : String(data));
    } catch (e) {
      if (e instanceof EngineReset) { this.onReset(); return true; }
      throw e;
    }
    this.scheduler.queue(() => this.turn());
    return true;
  }

  /** Evaluates `expression` on the console and resolves with its JSON value. */
  evaluate(expression, timeoutMs = 5000) {
    return evaluateOnConsole(this, expression, timeoutMs);
  }

  /** Powers the node off (Storage stays in flash.bin). */
  async stop() {
    this.stopped = true;
    this.scheduler.stop();
    if (this.engine) this.engine.kill();
    this.engine = null;
    this.udp.closeAll();
    this.saveFlash();
    await this.running;
  }
}
