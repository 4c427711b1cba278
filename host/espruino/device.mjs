// One simulated Espruino board: a `vm` context whose globals are Espruino's (not Node's), the board's modules, its
// Storage folder, pins and sensors, and its life cycle (boot code, reset(), load(), deep sleep, reboot).
//
// What persists across a reboot or deep sleep is what persists on an ESP32: Storage, the RTC and the simulated clock.
// Everything else (the context, timers, queued events, sockets, Wifi association) is thrown away.
import vm from "node:vm";
import { EventEmitter } from "node:events";
import { createDgramModule, directLink } from "./dgram.mjs";
import { createE } from "./E.mjs";
import { EspruinoEmitter, runOnBoard } from "./events.mjs";
import { formatArgs } from "./format.mjs";
import { makeEspruinoRealm } from "./realm.mjs";
import { createSensorBank } from "./sensors.mjs";
import { StorageFolder, createStorageModule } from "./storage.mjs";
import { createCryptoModule } from "./crypto.mjs";
import { DEFAULT_WIFI, createWifiModule } from "./wifi.mjs";
import { checkSource, formatFinding } from "../../scripts/gate.mjs";

export const VERSION = "2v29";
/** ESP-IDF's esp_sleep_wakeup_cause_t values that ESP32.getWakeupCause() reports. */
export const WAKEUP = { POWERON: 0, TIMER: 4 };
const BOOT_FILES = [".boot0", ".boot1", ".boot2", ".boot3"];
const PIN_COUNT = 49;
const LINE_LOG_LIMIT = 20000;
const BYTES_PER_JSVAR = { 4095: 13, 8191: 13, 16383: 14, 65535: 16 };

const GATE_CACHE_LIMIT = 64;
const gateCache = new Map();

/**
 * What the project's Espruino compatibility gate (scripts/gate.mjs) finds in `code`: constructs Espruino cannot run or
 * runs wrongly, which V8 would run without complaint. Cached, since the same boot code runs at every wake.
 */
function gateFindings(code, filename) {
  const key = `${filename}\n${code}`;
  let findings = gateCache.get(key);
  if (!findings) {
    findings = checkSource(code, filename).map(formatFinding);
    if (gateCache.size >= GATE_CACHE_LIMIT) gateCache.delete(gateCache.keys().next().value);
    gateCache.set(key, findings);
  }
  return findings;
}

/** Thrown through the firmware's stack when it calls ESP32.deepSleep() or E.reboot(): neither returns on a board. */
const HALTED = Object.freeze({ halted: true, toString: () => "the device is going down" });

function pinsInContext(names, api) {
  // Evaluated in the device's context: Espruino's pin objects (D0...), whose toString() is their name.
  function Pin(name) {
    Object.defineProperty(this, "name", { value: name, enumerable: false });
  }
  var methods = {
    toString: function () { return this.name; },
    read: function () { return api.read(this.name) === 1; },
    write: function (v) { api.write(this.name, v); },
    set: function () { api.write(this.name, 1); },
    reset: function () { api.write(this.name, 0); },
    toggle: function () { var v = api.read(this.name) ? 0 : 1; api.write(this.name, v); return v === 1; },
    mode: function (m) { api.mode(this.name, m); },
    getMode: function () { return api.getMode(this.name); },
    analog: function () { return api.analog(this.name); },
  };
  Object.keys(methods).forEach(function (k) {
    Object.defineProperty(Pin.prototype, k, { value: methods[k], enumerable: false, writable: true });
  });
  var pins = {};
  names.forEach(function (n) { pins[n] = new Pin(n); });
  return pins;
}

export class Device extends EventEmitter {
  /**
   * @param {object} o
   * @param {object} o.board a validated board file (scripts/board.mjs)
   * @param {string} o.storageDir the folder holding this device's Storage
   * @param {import("./scheduler.mjs").Scheduler} o.scheduler the device's clock and event loop
   * @param {string} [o.name] shown in output ("node1")
   * @param {object} [o.link] network conditions between the device and the world (see dgram.mjs directLink)
   * @param {number} [o.epochMs] host wall-clock time at simulated time 0 (sensors and SNTP follow it)
   * @param {number|"host"} [o.rtcMs] the RTC at power-on in ms since 1970: 0 like a fresh ESP32, or "host"
   * @param {object} [o.wifi] the simulated access point (wifi.mjs DEFAULT_WIFI)
   * @param {number} [o.seed] seeds sensor noise
   * @param {object} [o.modules] extra module factories by name, e.g. { DTLS: (env) => module }; `env` has
   *   { device, realm, queue, timers, dgram, noteIo, trace }
   */
  constructor({ board, storageDir, scheduler, name = "node1", link = directLink, epochMs = Date.now(), rtcMs = 0, wifi = {}, seed = 1, modules = {}, bindAddress = "127.0.0.1" }) {
    super();
    this.board = board;
    this.name = name;
    this.scheduler = scheduler;
    this.link = link;
    this.epochMs = epochMs;
    this.rtcOffsetMs = rtcMs === "host" ? epochMs : Number(rtcMs) || 0;
    this.wifiConfig = { ...DEFAULT_WIFI, ...wifi };
    this.wifiState = { failedConnects: 0 };
    this.moduleFactories = modules;
    // Loopback unless the node must reach a server elsewhere: a socket bound to 127.0.0.1 can only talk to loopback.
    this.bindAddress = bindAddress;
    this.storage = new StorageFolder(storageDir);
    this.sensors = createSensorBank(board, seed);
    /** The last LINE_LOG_LIMIT console lines; `lineCount` counts every line ever printed. */
    this.lines = [];
    this.lineCount = 0;
    this.bootCount = 0;
    this.wakeCause = WAKEUP.POWERON;
    this.gen = 0;
    this.context = null;
    this.halted = true;
    this.pending = null;
    this.running = null;
    this.pinState = new Map();
    scheduler.onError = (e) => this.reportUncaught(e);
    scheduler.afterCall = () => this.runPending();
  }

  // --- clock --------------------------------------------------------------------------------------------------

  /** The RTC, ms since 1970 (what getTime() and Date report). */
  rtcMs() {
    return this.rtcOffsetMs + this.scheduler.now();
  }

  /** The host's idea of real time at the current simulated time. */
  wallMs() {
    return this.epochMs + this.scheduler.now();
  }

  // --- output -------------------------------------------------------------------------------------------------

  /** A line the board prints on its console. */
  print(text) {
    for (const line of String(text).split("\n")) {
      this.lines.push(line);
      this.lineCount++;
      if (this.lines.length > LINE_LOG_LIMIT) this.lines.splice(0, this.lines.length - LINE_LOG_LIMIT);
      this.emit("output", line);
    }
  }

  trace(event) {
    this.emit("trace", { t: this.scheduler.now(), ...event });
  }

  reportUncaught(e) {
    if (e === HALTED) return;
    let text;
    try {
      text = e !== null && typeof e === "object" && typeof e.toString === "function" ? e.toString() : String(e);
    } catch {
      text = String(e);
    }
    // Where in the firmware (a Storage file, "REPL"...) it happened; frames in the simulator's own files say nothing.
    const frames = e && typeof e.stack === "string" ? [...e.stack.matchAll(/\n\s+at (?:.*\()?([^()\n]+:\d+:\d+)\)?/g)] : [];
    const where = frames.map((m) => m[1]).find((f) => !/^(file|node):/.test(f));
    this.print(`Uncaught ${text}${where ? `\n at ${where}` : ""}`);
  }

  // --- life cycle ---------------------------------------------------------------------------------------------

  /** Stores `code` as the boot code (.bootcde), as `espruino --storage .bootcde:-` does. */
  flash(code) {
    this.storage.write(".bootcde", code);
  }

  /**
   * Powers the board on (at once, or `powerOnMs` into the simulation, so that nodes of one run are not in lockstep)
   * and runs its event loop until stop() (or `untilMs` of simulated time).
   */
  start({ untilMs, powerOnMs = 0 } = {}) {
    if (this.running) throw new Error(`${this.name} is already running`);
    const powerOn = () => this.boot({ cause: "poweron" });
    if (powerOnMs > 0) this.scheduler.addTimer(powerOn, powerOnMs, { kind: "power" });
    else this.scheduler.queue(powerOn);
    this.running = this.scheduler.run({ untilMs }).finally(() => this.dispose());
    return this.running;
  }

  async stop() {
    this.scheduler.stop();
    if (this.running) await this.running;
    this.running = null;
  }

  /** Runs the deferred action of reset(), load() or a deep sleep once the current code has returned. */
  runPending() {
    while (this.pending) {
      const p = this.pending;
      this.pending = null;
      p();
    }
  }

  dispose() {
    if (this.dgram) this.dgram.closeAll();
    this.dgram = null;
    this.scheduler.clear();
    this.scheduler.forgetIo();
    this.halted = true;
    this.gen++;
    this.context = null;
    this.realm = null;
    this.required = null;
  }

  /** Code that never returns on the board (deep sleep, reboot): stop the caller's code, then do `then`. */
  halt(then) {
    this.halted = true;
    this.pending = then;
    throw HALTED;
  }

  deepSleep(us) {
    const ms = Number(us) / 1000;
    if (!(ms >= 0)) throw new this.realm.Error("ESP32.deepSleep: needs a time in microseconds");
    this.halt(() => {
      this.dispose();
      this.wakeCause = WAKEUP.TIMER;
      this.trace({ type: "sleep", ms });
      this.scheduler.addTimer(() => this.boot({ cause: "deepsleep" }), ms, { kind: "internal" });
    });
  }

  /**
   * The power switched off and on from outside the board (a reload of new firmware): what runs stops at once and the
   * board boots from Storage, which is kept.
   */
  powerCycle() {
    this.scheduler.queue(() => {
      this.killed();
      this.dispose();
      this.wakeCause = WAKEUP.POWERON;
      this.boot({ cause: "poweron" });
    });
  }

  reboot() {
    this.halt(() => {
      this.killed();
      this.dispose();
      this.wakeCause = WAKEUP.POWERON;
      this.boot({ cause: "reboot" });
    });
  }

  /** reset(): the interpreter is cleared after the current command; only .bootrst runs again. */
  softReset() {
    this.pending = () => {
      this.killed();
      this.dispose();
      this.boot({ cause: "reset", afterReset: true });
    };
  }

  /** load(file): after the current command, clear the interpreter and run `file` (or the boot code). */
  load(file) {
    this.pending = () => {
      this.killed();
      this.dispose();
      this.boot({ cause: "load", file });
    };
  }

  killed() {
    if (this.E) for (const l of this.E._listeners.kill || []) this.guard(() => l.call(this.E));
  }

  guard(fn) {
    try {
      return fn();
    } catch (e) {
      this.reportUncaught(e);
      return undefined;
    }
  }

  /** Creates a fresh interpreter and runs the boot code from Storage. */
  boot({ cause, file, afterReset = false }) {
    this.gen++;
    this.halted = false;
    this.bootCount++;
    const firstBoot = this.bootCount === 1;
    this.createContext();
    this.trace({ type: "boot", cause, bootCount: this.bootCount });
    // The boot code runs in this boot's scope, so host modules it starts (sockets, DTLS) queue onto this boot.
    runOnBoard(this.scheduler.board, () => {
      if (file !== undefined) this.runFile(String(file));
      else {
        if (firstBoot) this.runFile(".bootPowerOn", { optional: true });
        if (!afterReset) for (const f of BOOT_FILES) this.runFile(f, { optional: true });
        if (this.storage.size(".bootrst") !== undefined) this.runFile(".bootrst");
        else if (!afterReset) this.runFile(".bootcde", { optional: true });
      }
    });
    if (this.halted) return;
    this.E.emit("init");
    const gen = this.gen;
    this.queue(() => {
      if (gen === this.gen && typeof this.context.onInit === "function") this.context.onInit();
    });
  }

  runFile(name, { optional = false } = {}) {
    if (this.halted) return;
    const bytes = this.storage.read(name);
    if (bytes === undefined) {
      if (!optional) this.print(`ERROR: file "${name}" not found in Storage`);
      return;
    }
    this.runCode(bytes.toString("latin1"), name);
  }

  /**
   * Runs firmware code (a Storage file or a console line) in the current interpreter; an exception is printed as
   * Espruino prints an uncaught one. Code the compatibility gate rejects is not run: Espruino would fail on it (at
   * parse time, or later on the path that uses it), while V8 would run it and hide the mistake.
   */
  runCode(code, filename = "REPL") {
    if (!this.context) throw new Error(`${this.name} is not running`);
    const findings = gateFindings(code, filename);
    if (findings.length) {
      const shown = findings.slice(0, 5).map((f) => `Uncaught SyntaxError: Espruino cannot run ${f}`);
      if (findings.length > 5) shown.push(`... and ${findings.length - 5} more`);
      this.print(shown.join("\n"));
      return { error: new this.realm.Error(findings[0]) };
    }
    try {
      return { value: vm.runInContext(code, this.context, { filename }) };
    } catch (e) {
      this.reportUncaught(e);
      return { error: e };
    }
  }

  /** Queues an event on the device that runs `code` and resolves with its value (rejects with its exception). */
  exec(code) {
    return new Promise((resolve, reject) => {
      this.scheduler.queue(() => {
        if (!this.context) return reject(new Error(`${this.name} is not running`));
        let value;
        try {
          value = vm.runInContext(code, this.context, { filename: "exec" });
        } catch (e) {
          if (e === HALTED) return resolve(undefined);
          return reject(e);
        }
        resolve(value);
      });
    });
  }

  /**
   * Resolves with the first output line matching `pattern`, looking at lines from number `fromLine` on (a
   * `lineCount` taken earlier).
   */
  waitForOutput(pattern, { fromLine = 0, realTimeoutMs = 20000 } = {}) {
    const test = (l) => (pattern instanceof RegExp ? pattern.test(l) : l.includes(pattern));
    const seen = this.lines.slice(Math.max(0, fromLine - (this.lineCount - this.lines.length))).find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const onLine = (l) => {
        if (!test(l)) return;
        clearTimeout(timer);
        this.off("output", onLine);
        resolve(l);
      };
      const timer = setTimeout(() => {
        this.off("output", onLine);
        reject(new Error(`${this.name}: no output matching ${pattern} within ${realTimeoutMs} ms; output:\n${this.lines.slice(-40).join("\n")}`));
      }, realTimeoutMs);
      this.on("output", onLine);
    });
  }

  /** Queues a callback on the current interpreter's event queue; dropped if the board reboots first. */
  queue(fn) {
    const gen = this.gen;
    this.scheduler.queue(() => {
      if (gen === this.gen) fn();
    });
  }

  // --- the interpreter's globals ------------------------------------------------------------------------------

  createContext() {
    const context = vm.createContext({}, { name: `${this.name} (Espruino ${VERSION})` });
    const gen = this.gen;
    const queue = (fn) =>
      this.scheduler.queue(() => {
        if (gen === this.gen) fn();
      });
    const realm = makeEspruinoRealm(context, {
      queue,
      nowMs: () => this.rtcMs(),
      onUnhandled: (v) => this.print(`Uncaught Error: Unhandled promise rejection: ${formatArgs([v])}`),
    });
    this.context = context;
    this.realm = realm;
    // Host modules queueing through events.mjs (queueEvent) inside this boot's callbacks reach this boot only.
    this.scheduler.board = { ...this.scheduler.board, queue };
    this.required = new Map();
    this.cachedModules = new Map();
    this.pinState = new Map();
    this.E = this.createE(queue);
    this.dgram = null;
    const globals = { ...this.apiGlobals(queue), ...vm.runInContext(`(${pinsInContext})`, context)(this.pinNames(), this.pinApi()) };
    for (const [name, value] of Object.entries(globals)) {
      Object.defineProperty(context, name, { value, writable: true, configurable: true, enumerable: false });
    }
  }

  toRealm(value) {
    return value === undefined ? undefined : this.realm.JSON.parse(JSON.stringify(value));
  }

  pinNames() {
    return Array.from({ length: PIN_COUNT }, (_, i) => `D${i}`);
  }

  pinName(pin) {
    const name = typeof pin === "number" ? `D${pin}` : String(pin);
    if (!/^D\d+$/.test(name) || Number(name.slice(1)) >= PIN_COUNT) throw new this.realm.Error(`Invalid pin: ${name}`);
    return name;
  }

  pin(name) {
    let p = this.pinState.get(name);
    if (!p) this.pinState.set(name, (p = { mode: "undefined", value: 0, input: 0 }));
    return p;
  }

  writePin(pin, value) {
    const name = this.pinName(pin);
    const p = this.pin(name);
    const v = value ? 1 : 0;
    if (p.mode !== "output") p.mode = "output";
    if (p.value !== v) this.trace({ type: "pin", pin: name, value: v });
    p.value = v;
  }

  readPin(pin) {
    const name = this.pinName(pin);
    const p = this.pin(name);
    if (p.mode === "output") return p.value;
    const simulated = this.sensors.digital(name, this.wallMs() / 1000);
    return simulated === undefined ? p.input : simulated;
  }

  /** Drives an input pin from outside (a test's button press). */
  setInput(pin, value) {
    this.pin(String(pin)).input = value ? 1 : 0;
  }

  /** The first I2C bus, with the board file's simulated sensors on it (a register is chosen by writing its number). */
  i2cBus() {
    let register = 0;
    return {
      setup: () => {},
      writeTo: (address, data) => {
        const d = typeof data === "number" ? [data] : typeof data === "string" ? [...data].map((c) => c.charCodeAt(0)) : Array.from(data);
        register = d[0] ?? register;
        this.trace({ type: "i2c", op: "write", address, bytes: d });
      },
      readFrom: (address, count) => {
        const answer = this.sensors.i2c(address, register, this.wallMs() / 1000);
        if (!answer) throw new this.realm.Error(`I2C1: no device answers at address 0x${Number(address).toString(16)}`);
        this.trace({ type: "i2c", op: "read", address, bytes: answer });
        return new this.realm.Uint8Array(answer.slice(0, count));
      },
    };
  }

  analogRead(pin) {
    const name = this.pinName(pin);
    const p = this.pin(name);
    p.mode = "analog";
    const v = this.sensors.read(name, this.wallMs() / 1000);
    this.trace({ type: "analog", pin: name, value: v });
    return v;
  }

  pinApi() {
    return {
      read: (n) => this.readPin(n),
      write: (n, v) => this.writePin(n, v),
      mode: (n, m) => {
        this.pin(this.pinName(n)).mode = String(m);
      },
      getMode: (n) => this.pin(this.pinName(n)).mode,
      analog: (n) => this.analogRead(n),
    };
  }

  addTimer(fn, ms, args, interval) {
    if (this.halted) return 0;
    let call = fn;
    if (typeof fn === "string") {
      const code = fn;
      call = () => vm.runInContext(code, this.context, { filename: "timer" });
    } else if (typeof fn !== "function") throw new this.realm.Error("setTimeout/setInterval: the first argument must be a function");
    const id = this.scheduler.addTimer(() => call.apply(undefined, args), ms, { interval });
    return id;
  }

  clearTimer(name, args) {
    if (args.length === 0) {
      // Espruino: clearTimeout()/clearInterval() with no argument stops every timer.
      this.scheduler.removeTimers("board");
      return;
    }
    // As the real interpreter (src/jswrap_interactive.c): an explicit undefined is refused, not taken as "all".
    if (args[0] === undefined) throw new this.realm.Error(`${name}(undefined) not allowed. Use ${name}() instead`);
    this.scheduler.removeTimer(Number(args[0]));
  }

  apiGlobals(queue) {
    const dev = this;
    const out = (...args) => {
      if (!dev.halted) dev.print(formatArgs(args));
    };
    // The emulator cannot know how many variables the interpreter would use (an estimate was 3 to 7 times too low
    // against the real one), so `free` and `usage` are left out: measure on the real interpreter (--engine espruino).
    const memory = () => {
      const total = dev.board.jsVarBudget;
      return dev.toRealm({ total, history: 0, gc: 0, gctime: 0, blocksize: BYTES_PER_JSVAR[total] || 14 });
    };
    return {
      print: out,
      console: Object.assign(new dev.realm.Object(), { log: out }),
      require: (name) => dev.require(String(name)),
      Modules: Object.assign(new dev.realm.Object(), {
        addCached: (name, factory) => {
          dev.cachedModules.set(String(name), factory);
          dev.required.delete(String(name));
        },
        removeCached: (name) => {
          dev.cachedModules.delete(String(name));
          dev.required.delete(String(name));
        },
        removeAllCached: () => {
          dev.cachedModules.clear();
        },
        getCached: () => {
          const a = new dev.realm.Array();
          for (const n of dev.cachedModules.keys()) a.push(n);
          return a;
        },
      }),
      setTimeout: (fn, ms, ...args) => dev.addTimer(fn, ms, args, false),
      setInterval: (fn, ms, ...args) => dev.addTimer(fn, ms, args, true),
      clearTimeout: (...args) => dev.clearTimer("clearTimeout", args),
      clearInterval: (...args) => dev.clearTimer("clearInterval", args),
      changeInterval: (id, ms) => {
        dev.scheduler.changeInterval(Number(id), ms);
      },
      getTime: () => dev.rtcMs() / 1000,
      setTime: (seconds) => {
        dev.rtcOffsetMs = Number(seconds) * 1000 - dev.scheduler.now();
      },
      digitalWrite: (pin, value) => {
        if (Array.isArray(pin)) pin.forEach((p, i) => dev.writePin(p, (Number(value) >> (pin.length - 1 - i)) & 1));
        else dev.writePin(pin, value);
      },
      digitalRead: (pin) => (Array.isArray(pin) ? pin.reduce((acc, p) => (acc << 1) | dev.readPin(p), 0) : dev.readPin(pin)),
      I2C1: dev.i2cBus(),
      analogRead: (pin) => dev.analogRead(pin),
      analogWrite: (pin, value) => {
        const name = dev.pinName(pin);
        dev.pin(name).mode = "output";
        dev.trace({ type: "analogWrite", pin: name, value: Number(value) });
      },
      pinMode: (pin, mode) => {
        dev.pin(dev.pinName(pin)).mode = String(mode);
      },
      getPinMode: (pin) => dev.pin(dev.pinName(pin)).mode,
      load: (file) => dev.load(file),
      reset: () => dev.softReset(),
      save: () => {
        throw new dev.realm.Error("save() is not emulated by the simulator: store code with E.setBootCode or Storage .bootcde");
      },
      setDeepSleep: () => {},
      setSleepIndicator: () => {},
      setBusyIndicator: () => {},
      getSerial: () => `sim-${dev.name}`,
      process: Object.assign(new dev.realm.Object(), {
        version: VERSION,
        env: dev.toRealm(dev.processEnv()),
        memory,
      }),
      E: dev.E,
    };
  }

  processEnv() {
    return {
      VERSION,
      BOARD: this.board.espruinoBoard,
      CONSOLE: "Telnet",
      MODULES: this.board.modules.join(","),
      RAM: (this.board.jsVarBudget * (BYTES_PER_JSVAR[this.board.jsVarBudget] || 14)),
      SERIAL: `sim-${this.name}`,
      STORAGE: this.storage.capacity,
      EXPTR: 0,
    };
  }

  createE(queue) {
    const dev = this;
    const E = new EspruinoEmitter(queue);
    Object.assign(E, createE(this.realm), {
      setBootCode(code, alwaysExec) {
        dev.storage.erase(".bootcde");
        dev.storage.erase(".bootrst");
        if (code) dev.storage.write(alwaysExec ? ".bootrst" : ".bootcde", String(code));
      },
      toArrayBuffer: (s) => E.toUint8Array(s).buffer,
      reboot: () => dev.reboot(),
      setTimeZone: () => {},
      setDST: () => {},
      enableWatchdog: () => {},
      kickWatchdog: () => {},
      getErrorFlags: () => new dev.realm.Array(),
      defrag: () => {},
    });
    return E;
  }

  // --- modules ------------------------------------------------------------------------------------------------

  require(name) {
    if (this.required.has(name)) return this.required.get(name);
    let mod;
    if (this.cachedModules.has(name)) mod = this.evalCachedModule(name);
    else if (!this.board.modules.includes(name)) throw new this.realm.Error(`Module ${name} not found`);
    else mod = this.builtinModule(name);
    this.required.set(name, mod);
    return mod;
  }

  evalCachedModule(name) {
    const factory = this.cachedModules.get(name);
    const source = typeof factory === "function" ? factory.toString().replace(/^[^{]*\{/, "").replace(/\}\s*$/, "") : String(factory);
    const module = new this.realm.Object();
    module.exports = new this.realm.Object();
    new this.realm.Function("exports", "module", source)(module.exports, module);
    return module.exports;
  }

  builtinModule(name) {
    const queue = (fn) => this.queue(fn);
    switch (name) {
      case "dgram": {
        // The firmware sees only createSocket; the simulator keeps the module (to close and rebind sockets).
        const dgram = this.dgramModule();
        return Object.assign(new this.realm.Object(), { createSocket: (options, cb) => dgram.createSocket(options, cb) });
      }
      case "Storage":
        return Object.assign(new this.realm.Object(), createStorageModule(this.storage, this.realm));
      case "Wifi":
        return createWifiModule({
          config: this.wifiConfig,
          state: this.wifiState,
          queue,
          timers: {
            add: (fn, ms) => this.scheduler.addTimer(() => fn(), ms, { kind: "module" }),
            remove: (id) => this.scheduler.removeTimer(id, { kind: "module" }),
          },
          toRealm: (v) => this.toRealm(v),
          onTrace: (e) => this.trace(e),
          onSntp: () => {
            this.rtcOffsetMs = this.epochMs;
          },
        });
      case "crypto":
        return createCryptoModule(this.realm);
      case "ESP32":
        return Object.assign(new this.realm.Object(), {
          deepSleep: (us) => this.deepSleep(us),
          reboot: () => this.reboot(),
          getWakeupCause: () => this.wakeCause,
          getState: () => this.toRealm({ sdkVersion: "sim", freeHeap: 100000, BLE: false, Wifi: true, minHeap: 90000 }),
          setAtten: () => {},
          enableWifi: () => {},
          enableBLE: () => {},
          setOTAValid: () => {},
        });
      default: {
        const factory = this.moduleFactories[name];
        if (!factory) throw new this.realm.Error(`Module ${name} is not emulated by the simulator (no provider for it was given)`);
        return factory({
          device: this,
          realm: this.realm,
          queue,
          timers: {
            add: (fn, ms) => this.scheduler.addTimer(() => fn(), ms, { kind: "module" }),
            remove: (id) => this.scheduler.removeTimer(id, { kind: "module" }),
          },
          dgram: this.dgramModule(),
          noteIo: () => this.scheduler.noteIo(),
          trace: (e) => this.trace(e),
        });
      }
    }
  }

  dgramModule() {
    if (this.dgram) return this.dgram;
    const link = this.link;
    const sched = this.scheduler;
    const dev = this;
    const traced = {
      outbound(bytes, port, address, deliver) {
        link.outbound(bytes, port, address, (b, p, a) => {
          sched.io.sent(b, p, a);
          dev.trace({ type: "udp", dir: "out", bytes: b, port: p, address: a });
          deliver(b, p, a);
        });
      },
      inbound(bytes, rinfo, deliver) {
        sched.io.received(bytes, rinfo);
        link.inbound(bytes, rinfo, (b, from) => {
          dev.trace({ type: "udp", dir: "in", bytes: b, port: from.port, address: from.address });
          deliver(b, from);
        });
      },
    };
    this.dgram = createDgramModule({ link: traced, bindAddress: this.bindAddress, queue: (fn) => this.queue(fn), TypeError: this.realm.TypeError });
    return this.dgram;
  }

  /** NAT rebinding: every open socket of the device moves to a new local port. */
  async rebindSockets() {
    if (!this.dgram) return [];
    const ports = await this.dgram.rebindAll();
    this.trace({ type: "rebind", ports });
    return ports;
  }
}
