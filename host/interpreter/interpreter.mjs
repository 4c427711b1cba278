// The real Espruino interpreter (Espruino's Linux build, made by scripts/espruino.sh) as a sensor node: one process
// per power cycle, its Storage in a folder of its own (espruino.flash), its console on standard input and output,
// and its hardware (Wi-Fi, ADC, deep sleep) described to the stand-ins compiled into the build
// (firmware/espruino/hardware/) by hardware.json in that folder.
//
// A process ending is the chip resetting: E.reboot() and a crash restart it at once; ESP32.deepSleep(us) leaves the
// sleep's length in hardware.sleep, and the process starts again that much later, as a board wakes.
import fs from "node:fs";
import path from "node:path";
import net from "node:net";
import { spawn, spawnSync } from "node:child_process";
import { EventEmitter } from "node:events";

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");

/** The two builds: "esp32" has the ESP32's 16,383 fixed variables and 8-bit strings; "linux" the stock settings. */
export const VARIANTS = ["esp32", "linux"];
/** The benchmark's build of "esp32" for 32-bit x86 (14-byte variables, as the ESP32's; scripts/espruino.sh --i386). */
export const BENCH_VARIANTS = ["i386"];

export function interpreterBinary(variant = "esp32") {
  if (!VARIANTS.includes(variant) && !BENCH_VARIANTS.includes(variant)) throw new Error(`no interpreter variant "${variant}" (variants: ${VARIANTS.join(", ")})`);
  return path.join(ROOT, "build", "espruino", variant, "espruino");
}

/** Throws, saying how to build it, when the interpreter has not been built. */
export function requireInterpreter(variant = "esp32") {
  const bin = interpreterBinary(variant);
  if (!fs.existsSync(bin)) {
    throw new Error(`the real Espruino interpreter is not built (${path.relative(ROOT, bin)} is missing): run npm run setup, which runs scripts/espruino.sh`);
  }
  return bin;
}

/**
 * Runs `code` as a script on the interpreter in folder `dir` (its Storage is dir/espruino.flash) and returns what it
 * printed: the interpreter exits once the script and its timers are done (or after `timeoutMs`).
 */
/**
 * @param {string} code
 * @param {{ dir: string, variant?: string, timeoutMs?: number }} options
 */
export function runScript(code, { dir, variant = "esp32", timeoutMs = 30000 }) {
  const bin = requireInterpreter(variant);
  const file = path.join(dir, `script-${process.pid}-${Date.now()}.js`);
  fs.writeFileSync(file, code);
  try {
    // SIGKILL: the Linux build ignores SIGTERM, and spawnSync would wait for it for ever.
    const r = spawnSync(bin, [path.basename(file)], { cwd: dir, encoding: "latin1", timeout: timeoutMs, killSignal: "SIGKILL", input: "" });
    return { stdout: r.stdout || "", stderr: r.stderr || "", status: r.status };
  } finally {
    fs.rmSync(file, { force: true });
  }
}

/** The hardware description the stand-ins read: the board file's simulated ADC signals and the access point. */
export function hardwareFor(board, wifi = {}) {
  const adc = {};
  const digital = {};
  const i2c = {};
  for (const s of board.sensors || []) {
    if (!s.sim) continue;
    if (s.kind === "i2c") i2c[`${s.i2c.address}/${s.i2c.register}`] = { sim: s.sim, bytes: s.i2c.bytes, shift: s.i2c.shift, signed: s.i2c.signed };
    else if (s.pin) (s.kind === "digital" ? digital : adc)[s.pin] = s.sim;
  }
  return { adc, digital, i2c, wifi: { ssid: "sim", password: "", connectMs: 1000, failConnects: 0, ...wifi } };
}

/** A JavaScript string literal of 8-bit text, as Espruino reads it (every byte outside printable ASCII escaped). */
export function literal(text) {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) out += "\\" + text[i];
    else if (c >= 0x20 && c < 0x7f) out += text[i];
    else out += "\\x" + c.toString(16).padStart(2, "0");
  }
  return out + '"';
}

/**
 * A console line as the firmware printed it: what shares the line with it removed (the prompt, the input echo, a
 * line overwritten with \r, which counts from its last \r, and the terminal codes Espruino puts in front, such as
 * \x1b[J after load()).
 */
export function consoleLine(raw) {
  return raw.replace(/\r$/, "").split("\r").pop().replace(/^(>|\x1b\[[0-9;]*[A-Za-z])+/, "");
}

/**
 * Evaluates `expression` on a node's console and resolves with its JSON value (echo off, so nothing of it is shown):
 * how a person at the REPL reads the node's state. `node` emits "output" lines and has write().
 */
export function evaluateOnConsole(node, expression, timeoutMs = 5000) {
  const tag = `ev${Math.random().toString(36).slice(2, 8)}`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      node.off("output", onLine);
      reject(new Error(`the interpreter did not answer ${expression} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onLine = (line) => {
      const m = line.indexOf(`<${tag}<`);
      if (m < 0) return;
      const end = line.indexOf(`>${tag}>`);
      clearTimeout(timer);
      node.off("output", onLine);
      const body = line.slice(m + tag.length + 2, end);
      try {
        resolve(body === "undefined" ? undefined : JSON.parse(body));
      } catch (e) {
        reject(new Error(`the interpreter answered ${expression} with ${body}`));
      }
    };
    node.on("output", onLine);
    node.write(`\x10print("<${tag}<"+JSON.stringify(${expression})+">${tag}>")\n`);
  });
}

/**
 * Sends Ctrl-C on to the interpreter at most once per 5 s: Espruino's Linux build exits on a second Ctrl-C within
 * 5 s on an empty line, where a board ignores it (EspruinoTools and the HIL console send two to get a prompt).
 */
function ctrlCFilter() {
  let last = -Infinity;
  return (buf) => {
    if (!buf.includes(3)) return buf;
    const out = [];
    for (const b of buf) {
      if (b === 3) {
        if (Date.now() - last < 5000) continue;
        last = Date.now();
      }
      out.push(b);
    }
    return Buffer.from(out);
  };
}

/**
 * Serves a node's console on TCP (for EspruinoTools, `npm run configure`, the HIL runner): bytes from a client are
 * typed on the console (`node.write`), the console's output (`node`'s "data" events) goes to every client.
 * `onConnect()` may return a function that is called when that client leaves. Resolves with the port and close().
 */
export async function serveConsole(node, { port = 0, onConnect = () => null } = {}) {
  const clients = new Set();
  const forward = (d) => { for (const c of clients) c.write(d); };
  node.on("data", forward);
  const server = net.createServer((sock) => {
    clients.add(sock);
    const left = onConnect();
    sock.setNoDelay(true);
    sock.on("data", (d) => node.write(d));
    sock.on("close", () => {
      clients.delete(sock);
      if (left) left();
    });
    sock.on("error", () => {});
  });
  await new Promise((resolve, reject) => server.listen(port, "127.0.0.1", () => resolve(undefined)).on("error", reject));
  const close = () => new Promise((resolve) => {
    node.off("data", forward);
    for (const c of clients) c.destroy();
    server.close(() => resolve());
  });
  return { port: /** @type {import("node:net").AddressInfo} */ (server.address()).port, close };
}

const LINE_LOG_LIMIT = 5000;

/**
 * A node seen through its console: "data" events carry what the interpreter printed, "output" events each line of
 * it (consoleLine), `lines` the last LINE_LOG_LIMIT lines and `lineCount` every line ever printed.
 */
export class ConsoleNode extends EventEmitter {
  /** @param {string} name what the node is called in messages */
  constructor(name) {
    super();
    this.name = name;
    this.lines = [];
    this.lineCount = 0;
    this.partial = "";
  }

  /** What the interpreter printed (a Buffer or 8-bit text). */
  consoleOutput(data) {
    const text = Buffer.isBuffer(data) ? data.toString("latin1") : data;
    this.emit("data", Buffer.isBuffer(data) ? data : Buffer.from(text, "latin1"));
    const parts = (this.partial + text).split("\n");
    this.partial = parts.pop();
    for (const p of parts) this.pushLine(p);
  }

  /** The chip stopped: an unfinished last line is a line too. */
  flushPartial() {
    if (this.partial) this.pushLine(this.partial);
    this.partial = "";
  }

  pushLine(raw) {
    const line = consoleLine(raw);
    this.lines.push(line);
    this.lineCount++;
    if (this.lines.length > LINE_LOG_LIMIT) this.lines.splice(0, this.lines.length - LINE_LOG_LIMIT);
    this.emit("output", line);
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
}

export class InterpreterNode extends ConsoleNode {
  /**
   * @param {object} o
   * @param {string} o.dir the node's folder: its Storage (espruino.flash) and hardware files
   * @param {string} [o.variant] "esp32" (default) or "linux"
   * @param {object} [o.hardware] what hardwareFor() gives
   * @param {string} [o.name]
   */
  constructor({ dir, variant = "esp32", hardware = { adc: {}, wifi: { ssid: "sim" } }, name = "node1" }) {
    super(name);
    this.bin = requireInterpreter(variant);
    this.variant = variant;
    this.dir = dir;
    this.boots = 0;
    this.proc = null;
    this.stopped = true;
    this.toStdin = ctrlCFilter();
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "hardware.json"), JSON.stringify(hardware));
  }

  /**
   * Writes Storage files while the node is off, with the interpreter's own Storage code (one run of the interpreter
   * on a script, which exits when done): `files` maps a Storage name to its content (a Buffer, or 8-bit text), or
   * to null to erase it. `eraseAll` empties Storage first.
   */
  writeStorage(files, { eraseAll = false } = {}) {
    if (this.proc) throw new Error("writeStorage() needs the node off (stop() it first)");
    const lines = [eraseAll ? 'require("Storage").eraseAll();' : ""];
    const staged = [];
    Object.entries(files).forEach(([name, content], i) => {
      if (content === null) return lines.push(`require("Storage").erase(${literal(name)});`);
      const file = `upload-${i}.bin`;
      fs.writeFileSync(path.join(this.dir, file), typeof content === "string" ? Buffer.from(content, "latin1") : content);
      staged.push(file);
      lines.push(`if(!require("Storage").write(${literal(name)},require("fs").readFileSync(${literal(file)})))throw new Error("Storage full writing "+${literal(name)});`);
    });
    lines.push('print("<storage-written>");');
    try {
      const r = runScript(lines.join("\n") + "\n", { dir: this.dir, variant: this.variant });
      if (!/<storage-written>/.test(r.stdout)) {
        throw new Error(`writing Storage on the interpreter failed: ${(r.stdout + r.stderr).split(/\r?\n/).filter((l) => /Error|error/.test(l)).join("; ") || `exit ${r.status}`}`);
      }
    } finally {
      for (const f of staged) fs.rmSync(path.join(this.dir, f), { force: true });
    }
  }

  /** A Storage file's content as 8-bit text (undefined when there is none), read while the node is off. */
  readStorage(name) {
    if (this.proc) throw new Error("readStorage() needs the node off (stop() it first)");
    const r = runScript(`var f = require("Storage").read(${literal(name)});\nprint(f === undefined ? "<none>" : "<file>" + btoa(f) + "</file>");\n`, { dir: this.dir, variant: this.variant });
    const m = /<file>([A-Za-z0-9+/=]*)<\/file>/.exec(r.stdout);
    if (m) return Buffer.from(m[1], "base64").toString("latin1");
    if (r.stdout.includes("<none>")) return undefined;
    throw new Error(`reading Storage file ${name} on the interpreter failed: ${r.stdout.trim().split(/\r?\n/).pop()}`);
  }

  /** Flashes `code` as the boot code (.bootcde), as `npm run flash` does through EspruinoTools. */
  flash(code) {
    this.writeStorage({ ".bootcde": code });
  }

  /** Powers the node on; it then runs (rebooting, sleeping and waking) until stop(). */
  start() {
    this.stopped = false;
    for (const f of ["hardware.sleep", "hardware.woke"]) fs.rmSync(path.join(this.dir, f), { force: true });
    this.spawn();
  }

  spawn() {
    this.boots++;
    const proc = spawn(this.bin, [], { cwd: this.dir, stdio: ["pipe", "pipe", "pipe"] });
    this.proc = proc;
    this.emit("boot", this.boots);
    proc.stdout.on("data", (d) => this.consoleOutput(d));
    proc.stderr.on("data", () => {}); // the build's own start-up notes ("Interactive mode." ...)
    proc.stdin.on("error", () => {});
    proc.on("exit", (code, signal) => {
      if (this.proc === proc) this.proc = null;
      this.flushPartial();
      this.emit("exit", { code, signal });
      if (this.stopped) return this.emit("off");
      const sleepFile = path.join(this.dir, "hardware.sleep");
      let sleepUs = null;
      if (fs.existsSync(sleepFile)) {
        sleepUs = +fs.readFileSync(sleepFile, "latin1") || 0;
        fs.rmSync(sleepFile);
      }
      if (sleepUs === null) {
        fs.rmSync(path.join(this.dir, "hardware.woke"), { force: true });
        this.emit("reset", { code, signal });
        this.restart = setTimeout(() => this.spawn(), 50);
      } else {
        this.emit("sleep", sleepUs);
        fs.writeFileSync(path.join(this.dir, "hardware.woke"), "timer");
        this.restart = setTimeout(() => this.spawn(), Math.max(1, Math.round(sleepUs / 1000)));
      }
    });
  }

  /** Types on the console (bytes as the serial line would carry them). */
  write(data) {
    if (!this.proc) return false;
    this.proc.stdin.write(this.toStdin(Buffer.isBuffer(data) ? data : Buffer.from(data, "latin1")));
    return true;
  }

  /** Evaluates `expression` on the console and resolves with its JSON value. */
  evaluate(expression, timeoutMs = 5000) {
    return evaluateOnConsole(this, expression, timeoutMs);
  }

  /** Serves the console on TCP (serveConsole below). */
  serveConsole(port = 0) {
    return serveConsole(this, { port });
  }

  /** Powers the node off (the process is killed as a power cut would; Storage stays). */
  async stop() {
    this.stopped = true;
    clearTimeout(this.restart);
    const proc = this.proc;
    if (!proc) return;
    await new Promise((resolve) => {
      proc.once("exit", resolve);
      proc.kill("SIGKILL");
    });
  }
}
