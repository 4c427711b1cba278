// A simulated sensor node on the real interpreter compiled to WebAssembly (host/engine/wasm.mjs): the engine is the
// chip, this is the board around it. Its clock is the simulator's (host/engine/scheduler.mjs: virtual, jumping
// from timer to timer while no reply can be on its way, or real); its UDP passes the simulated link; its flash image
// (Storage) lives in `dir/flash.bin` and survives resets, deep sleep and restarts of the simulator; the stand-ins'
// files (hardware.json from the board file, hardware.sleep, ...) are kept here.
//
// A reset (E.reboot(), a crash's restart) starts a new engine on the same flash 50 ms later; ESP32.deepSleep(us)
// starts it `us` later with the wake-up cause "timer", as a board wakes.
import fs from "node:fs";
import path from "node:path";
import { startEngine, EngineReset, FLASH_BYTES, NO_TIMER } from "./wasm.mjs";
import { createUdpSockets } from "./udp.mjs";
import { Scheduler } from "./scheduler.mjs";
import { seedFrom } from "./random.mjs";
import { createLink } from "../sim/link.mjs";
import { ConsoleNode, hardwareFor, evaluateOnConsole, literal, serveConsole } from "../interpreter/interpreter.mjs";
import { storageFiles } from "./storage.mjs";

const BUSY = -1;
/** Busy turns in a row before other work (datagrams, host timers) gets its turn. */
const TURNS_PER_SLICE = 32;
const RESET_MS = 50;
const STORAGE_CHUNK = 768; // bytes per console line when writing Storage (base64: 1,024 characters)

/**
 * The node's Storage seen from outside the chip: read from the flash image at any time; written while the node is
 * off (the writes wait for the next power-on, where the interpreter's own Storage code makes them).
 */
class FlashStorage {
  constructor(node) {
    this.node = node;
    this.dir = node.flashFile;
    /** name -> Buffer, or null to erase: written at the next power-on. */
    this.pending = new Map();
  }

  /** name -> its bytes as they will be at the next power-on (views into the image, or pending writes). */
  current() {
    const files = storageFiles(this.node.image);
    for (const [name, bytes] of this.pending) {
      if (bytes === null) files.delete(name);
      else files.set(name, bytes);
    }
    return files;
  }

  /** A copy of the file's bytes (the image changes under a view as the chip writes). */
  read(name) {
    const bytes = this.current().get(name);
    return bytes === undefined ? undefined : Buffer.from(bytes);
  }

  names() {
    return [...this.current().keys()];
  }

  write(name, data) {
    this.whileOff("write");
    this.pending.set(name, Buffer.isBuffer(data) ? Buffer.from(data) : Buffer.from(String(data), "latin1"));
  }

  erase(name) {
    this.whileOff("erase");
    this.pending.set(name, null);
  }

  whileOff(what) {
    if (this.node.powered) throw new Error(`${this.node.name}: Storage ${what} from outside while the node runs (use its console)`);
  }

  /** Makes the pending writes, with the interpreter's Storage code. */
  async commit() {
    if (!this.pending.size) return;
    const files = Object.fromEntries(this.pending);
    await this.node.writeStorage(files);
    for (const [name, bytes] of Object.entries(files)) if (this.pending.get(name) === bytes) this.pending.delete(name);
  }
}

function pinNumber(name) {
  const m = /^D(\d+)$/.exec(String(name));
  if (!m) throw new Error(`not a pin name: ${name} (D0, D1, ...)`);
  return Number(m[1]);
}

export class EngineNode extends ConsoleNode {
  /**
   * @param {object} o
   * @param {object} o.board a loaded board file (boards/board-file.mjs)
   * @param {string} o.dir the node's folder (flash.bin)
   * @param {string} [o.name]
   * @param {"virtual"|"real"} [o.clock]
   * @param {number} [o.speed]
   * @param {number} [o.seed] the run's seed; the link's seeds derive from it and the name
   * @param {object} [o.network] link conditions (host/sim/link.mjs)
   * @param {object} [o.wifi] the access point (hardwareFor)
   * @param {string} [o.bindAddress]
   * @param {number} [o.epochMs] the real time at simulated time 0 (what a time server tells the node)
   * @param {number|"host"} [o.rtcMs] the chip's RTC at simulated time 0: 0 (1970) as an ESP32 after power-on, until
   *   SNTP or setTime() sets it; "host" for a clock set to the real time
   * @param {Record<string, string>} [o.hosts] host names the node may resolve
   */
  constructor({ board, dir, name = "node1", clock = "virtual", speed, seed = 1, network = {}, wifi = {}, bindAddress = "127.0.0.1", epochMs = Date.now(), rtcMs = 0, hosts = {} }) {
    super(name);
    this.board = board;
    this.dir = dir;
    this.boots = 0;
    this.engine = null;
    this.stopped = true;
    this.powered = false; // from power-on (Storage written, engine starting) until the chip stops
    this.scheduler = new Scheduler({ clock, speed, onError: (e) => this.emit("error", e) });
    const scheduler = this.scheduler;
    let rtcOffset = rtcMs === "host" ? epochMs : Number(rtcMs) || 0;
    this.clock = {
      get now() { return rtcOffset + scheduler.now(); },
      set(ms) { rtcOffset = ms - scheduler.now(); },
    };
    /** The real time at the current simulated time. */
    this.wallMs = () => epochMs + scheduler.now();
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
      onArrival: () => this.wake(),
      onPlaintext: (dir, port, bytes) => this.plaintext(dir, port, bytes),
      onClose: () => { for (const port of [...this.handshakes.keys()]) this.handshakeOver(port); },
    });
    /** DTLS plaintext sent to a port whose record has not left yet (it leaves on the socket layer's next pass). */
    this.pendingPlaintext = [];
    /** The address each DTLS peer port was last seen at. */
    this.peerAddress = new Map();
    /** DTLS handshakes under way: peer port -> release() of the real pace they hold. */
    this.handshakes = new Map();
    /** @type {Map<string, Buffer | (() => Buffer)>} */
    this.files = new Map();
    this.files.set("hardware.json", Buffer.from(JSON.stringify(hardwareFor(board, wifi))));
    this.files.set("hardware.ntp", () => Buffer.from(String(Math.round(this.wallMs())))); // what SNTP would learn
    fs.mkdirSync(dir, { recursive: true });
    this.flashFile = path.join(dir, "flash.bin");
    /** The flash image of the Storage partition, as the engine reads and writes it. */
    this.image = fs.existsSync(this.flashFile) ? new Uint8Array(fs.readFileSync(this.flashFile)) : new Uint8Array(FLASH_BYTES).fill(0xff);
    if (this.image.length !== FLASH_BYTES) throw new Error(`${this.flashFile} is not a flash image of ${FLASH_BYTES} bytes`);
    this.timer = 0;
    this.running = null;
    this.dirty = null; // the range of the flash image written since flash.bin was last saved
    this.storage = new FlashStorage(this);
    /** GPIO levels by pin number, as the engine drives and reads them; a change the chip makes is traced. */
    /** @type {Record<string | symbol, number>} */
    const levels = {};
    this.pins = new Proxy(levels, {
      set: (target, pin, value) => {
        const v = value ? 1 : 0;
        if ((target[pin] ? 1 : 0) !== v) this.trace({ type: "pin", pin: `D${String(pin)}`, value: v });
        target[pin] = v;
        return true;
      },
    });
    this.levels = levels;
  }

  /** A pin's level ("D2"): what the chip drives, or what drives its input. */
  pin(name) {
    return { value: this.levels[pinNumber(name)] ? 1 : 0 };
  }

  /** Drives an input pin from outside (a test's button press). */
  setInput(name, value) {
    this.levels[pinNumber(name)] = value ? 1 : 0;
  }

  trace(event) {
    this.emit("trace", { t: this.scheduler.now(), ...event });
    if (event.type === "udp") this.followHandshake(event);
    const out = event.dir === "out" && (event.type === "udp" || (event.type === "link" && (event.fate === "lost" || event.fate === "outage")));
    if (!out) return;
    const port = event.type === "udp" ? event.port : event.peer.port;
    const address = event.type === "udp" ? event.address : event.peer.address;
    this.peerAddress.set(port, address);
    // The record that carries pending plaintext went out, or was lost on the way.
    const lost = event.type === "link";
    const i = this.pendingPlaintext.findIndex((p) => p.port === port);
    if (i < 0) return;
    const [{ bytes }] = this.pendingPlaintext.splice(i, 1);
    this.emit("trace", { t: this.scheduler.now(), type: "dtls-data", dir: "out", bytes, port, lost });
    if (!lost) this.scheduler.io.sent(bytes, port, address);
  }

  /**
   * While a DTLS handshake runs with a peer the clock keeps real pace: the peer retransmits its flights on real
   * timers, and a clock that jumped over them would make every lost flight look like a dead server. The handshake
   * begins with a handshake record (22) and ends with the peer's ChangeCipherSpec (20) or application data, an alert
   * either way (21), or the socket closing.
   */
  followHandshake(e) {
    const b = e.bytes;
    if (b.length < 13 || b[1] !== 0xfe) return;
    const held = this.handshakes.get(e.port);
    if (b[0] === 22 && e.dir === "out" && !held) this.handshakes.set(e.port, this.scheduler.io.hold());
    else if (held && (b[0] === 21 || (e.dir === "in" && (b[0] === 20 || b[0] === 23 || b[0] === 25)))) this.handshakeOver(e.port);
  }

  handshakeOver(port) {
    const held = this.handshakes.get(port);
    this.handshakes.delete(port);
    if (held) held();
  }

  /** DTLS application data to or from `port`: traced beside its record, and followed by the virtual clock. */
  plaintext(dir, port, bytes) {
    if (dir === "out") {
      this.pendingPlaintext.push({ port, bytes });
      return;
    }
    const address = this.peerAddress.get(port) || "127.0.0.1";
    this.scheduler.io.plaintextFrom(address, port);
    this.trace({ type: "dtls-data", dir: "in", bytes, port });
    this.scheduler.io.received(bytes, { address, port });
  }

  /** The chip wrote flash from `addr` for `len` bytes: that range goes to flash.bin at the next save. */
  flashWritten(addr, len) {
    if (!this.dirty) this.dirty = { from: addr, to: addr + len };
    else this.dirty = { from: Math.min(this.dirty.from, addr), to: Math.max(this.dirty.to, addr + len) };
  }

  /** Writes what changed in the flash image to flash.bin (all of it the first time). */
  saveFlash() {
    if (!fs.existsSync(this.flashFile)) {
      fs.writeFileSync(this.flashFile, this.image);
    } else if (this.dirty) {
      const fd = fs.openSync(this.flashFile, "r+");
      try {
        fs.writeSync(fd, this.image, this.dirty.from, this.dirty.to - this.dirty.from, this.dirty.from);
      } finally {
        fs.closeSync(fd);
      }
    }
    this.dirty = null;
  }

  /**
   * Writes Storage files while the node is off, through the interpreter's own Storage code on its console (the
   * engine powered on with its boot code skipped): `files` maps a name to its content (Buffer or 8-bit text), or to
   * null to erase it. `eraseAll` empties Storage first.
   */
  async writeStorage(files, { eraseAll = false } = {}) {
    if (this.engine) throw new Error("writeStorage() needs the node off (stop() it first)");
    let out = "";
    const engine = await startEngine({ flash: this.image, clock: { now: this.clock.now }, bootCode: false, onOutput: (s) => { out += s; },
      onFlashWrite: (addr, len) => this.flashWritten(addr, len) });
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

  /** Flashes `code` as the boot code (.bootcde) at the next power-on, as `npm run flash` does through EspruinoTools. */
  flash(code) {
    this.storage.write(".bootcde", code);
  }

  /**
   * Powers the node on (at once, or `powerOnMs` into the simulation) and runs it, resetting, sleeping and waking,
   * until stop() or `untilMs` of simulated time; resolves when the run ends.
   */
  start({ untilMs = undefined, powerOnMs = 0 } = {}) {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.stopped = false;
    this.files.delete("hardware.sleep");
    this.files.delete("hardware.woke");
    const powerOn = () => this.powerOn("poweron");
    if (powerOnMs > 0) this.scheduler.addTimer(powerOn, powerOnMs, { kind: "internal" });
    else this.scheduler.queue(powerOn);
    this.running = this.scheduler.run({ untilMs }).finally(() => this.ended());
    return this.running;
  }

  async powerOn(cause) {
    if (this.stopped || this.powered) return;
    this.powered = true;
    await this.storage.commit();
    if (this.stopped) return;
    this.boots++;
    this.emit("boot", this.boots);
    this.trace({ type: "boot", cause, bootCount: this.boots });
    this.engine = await startEngine({
      flash: this.image,
      onFlashWrite: (addr, len) => this.flashWritten(addr, len),
      clock: this.clock,
      pins: this.pins,
      network: this.udp,
      files: this.files,
      onOutput: (text) => this.consoleOutput(text),
    }).catch((e) => {
      if (e instanceof EngineReset) return null; // the boot code reset the chip at once
      throw e;
    });
    if (!this.engine) return this.onReset();
    this.emit("running");
    this.wake();
  }

  /** Resolves once the chip runs (at once if it does). */
  whenRunning() {
    return this.engine ? Promise.resolve() : new Promise((resolve) => this.once("running", resolve));
  }

  /**
   * The power switched off and on from outside (a reload of new firmware, the reset button): what runs stops at once
   * and the chip boots from flash, which is kept; `files` (name -> content) are written to Storage while it is off.
   */
  powerCycle(cause = "poweron", files = {}) {
    this.scheduler.queue(() => {
      this.halt();
      for (const [name, content] of Object.entries(files)) this.storage.write(name, content); // as over the boot loader
      this.files.delete("hardware.sleep");
      this.files.delete("hardware.woke");
      return this.powerOn(cause);
    });
  }

  /** The reset button. */
  reboot() {
    this.powerCycle("reboot");
  }

  /** The local {address, port} of each of the chip's open sockets. */
  sockets() {
    return this.udp.addresses();
  }

  /** NAT rebinding: every open socket moves to a new local port. */
  async rebindSockets() {
    const ports = await this.udp.rebindAll();
    this.trace({ type: "rebind", ports });
    return ports;
  }

  /** The chip stops: the engine is gone, its sockets closed, its flash saved. */
  halt() {
    if (this.engine) this.engine.kill();
    this.engine = null;
    this.powered = false;
    this.scheduler.removeTimer(this.timer, { kind: "internal" });
    this.udp.closeAll();
    this.pendingPlaintext = [];
    this.handshakes.clear();
    this.scheduler.forgetIo();
    this.flushPartial();
    this.saveFlash();
  }

  /** The chip has work (a datagram, console input): a turn of its loop as soon as the clock allows. */
  wake() {
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
    if (next === BUSY) this.wake();
    else if (next !== NO_TIMER) this.timer = this.scheduler.addTimer(() => this.turn(), Math.max(1, next), { kind: "internal" });
  }

  onReset() {
    this.halt();
    if (this.stopped) return;
    const sleep = this.files.get("hardware.sleep");
    this.files.delete("hardware.sleep");
    if (sleep === undefined) {
      this.files.delete("hardware.woke");
      this.emit("reset");
      this.scheduler.addTimer(() => this.powerOn("reboot"), RESET_MS, { kind: "internal" });
    } else {
      const us = Number(sleep.toString("latin1")) || 0;
      this.files.set("hardware.woke", Buffer.from("timer"));
      this.emit("sleep", us);
      this.trace({ type: "sleep", ms: us / 1000 });
      this.scheduler.addTimer(() => this.powerOn("deepsleep"), Math.max(1, Math.round(us / 1000)), { kind: "internal" });
    }
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
    this.wake();
    return true;
  }

  /** Evaluates `expression` on the console and resolves with its JSON value. */
  async evaluate(expression, timeoutMs = 5000) {
    await this.whenRunning();
    return evaluateOnConsole(this, expression, timeoutMs);
  }

  /**
   * Runs `code` (statements, on as many lines as it likes) and resolves with the JSON value of the last one; an
   * instance of a class (a socket, say) is no JSON value, and resolves undefined.
   */
  exec(code, timeoutMs = 5000) {
    const value = `(function(v){return v!==null&&typeof v=="object"&&v.constructor!==Object&&v.constructor!==Array?undefined:v;})(eval(${literal(code)}))`;
    return this.evaluate(value, timeoutMs);
  }

  /** Serves the console on TCP; while a client is connected the clock runs no faster than real time. */
  serveConsole(port = 0) {
    return serveConsole(this, { port, onConnect: () => this.scheduler.holdRealTime() });
  }

  /** Powers the node off (Storage stays in flash.bin); resolves when its run has ended. */
  async stop() {
    this.stopped = true;
    this.scheduler.stop();
    this.halt();
    await this.running;
  }

  /** The run ended (stop(), or the simulated time given to start() is up). */
  ended() {
    this.stopped = true;
    this.halt();
    this.running = null;
  }
}
