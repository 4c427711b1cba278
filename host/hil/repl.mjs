// A client of Espruino's console (REPL) on an open port: collects what the board prints as lines, evaluates
// expressions with echo off (a \x10 line) and reads their JSON value back between markers, and writes Storage files
// in chunks with a CRC check. The same on a serial board, a TelnetServer and the simulator's console.
import { consoleLine } from "../interpreter/interpreter.mjs";
import zlib from "node:zlib";
import { openPort } from "./port.mjs";

/** A JS string literal for 8-bit text that survives any console: printable ASCII as is, every other byte \xNN. */
export function jsByteString(bytes) {
  const b = typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes;
  let out = '"';
  for (const c of b) {
    if (c === 0x22 || c === 0x5c) out += "\\" + String.fromCharCode(c);
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += "\\x" + c.toString(16).padStart(2, "0");
  }
  return out + '"';
}

/** Bytes per Storage.write line: well inside Espruino's input line buffer even with every byte escaped. */
const CHUNK = 256;

export class Repl {
  constructor(link, { name = "board" } = {}) {
    this.link = link;
    this.name = name;
    this.text = "";
    this.partial = "";
    /** Every complete line printed since the port was opened. */
    this.lines = [];
    this.listeners = new Set();
    this.seq = 0;
    /** The port went away (a board's USB re-enumerating, a Telnet session dropped). */
    this.closed = false;
    link.onData((d) => this.receive(d));
    link.onClose(() => {
      this.closed = true;
    });
  }

  static async open(port, options = {}) {
    return new Repl(await openPort(port, options), options);
  }

  receive(d) {
    this.text += d;
    if (this.text.length > 65536) this.text = this.text.slice(-32768);
    this.partial += d;
    const parts = this.partial.split("\n");
    this.partial = parts.pop();
    for (const raw of parts) {
      const line = consoleLine(raw);
      this.lines.push(line);
      for (const l of this.listeners) l(line);
    }
    for (const l of this.listeners) l(null);
  }

  onLine(cb) {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  write(text) {
    return this.link.write(text);
  }

  /** Waits until received text satisfies `test(text)`, for at most `ms`. */
  waitText(test, ms, what) {
    return new Promise((resolve, reject) => {
      if (test(this.text)) return resolve();
      const stop = this.onLine(() => {
        if (!test(this.text)) return;
        stop();
        clearTimeout(timer);
        resolve();
      });
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`${this.name}: no ${what} within ${ms / 1000} s; last output: ${JSON.stringify(this.text.slice(-300))}`));
      }, ms);
    });
  }

  /**
   * Gets a prompt as EspruinoTools does: a newline, and the reply must show ">"; if it does not (half-typed input,
   * a continuation line), one Ctrl-C clears the input line and the newline is tried again.
   */
  async prompt(ms = 5000) {
    const isPrompt = (t) => /(^|\n)>/.test(t);
    this.text = "";
    await this.write("\n");
    try {
      await this.waitText(isPrompt, Math.min(ms, 2000), "prompt");
      return;
    } catch {
      // fall through to Ctrl-C
    }
    await this.write("\x03");
    await new Promise((r) => setTimeout(r, 200));
    this.text = "";
    await this.write("\n");
    await this.waitText(isPrompt, ms, "prompt (\">\") even after Ctrl-C");
  }

  /**
   * Evaluates `expr` on the board and resolves with its JSON value. Rejects with the board's error text if it threw,
   * or after `ms` with what was printed.
   */
  async eval(expr, ms = 10000) {
    const id = `${process.pid.toString(36)}${(++this.seq).toString(36)}`;
    const start = `<hil${id}<`;
    const end = `>hil${id}>`;
    // The markers are split in the code, so they appear whole only in what the board prints.
    const code = `\x10print("<hil"+"${id}<"+JSON.stringify(${expr})+">hil"+"${id}>")\n`;
    this.text = "";
    await this.write(code);
    let failure = null;
    const stop = this.onLine((l) => {
      if (l !== null && /^Uncaught /.test(l)) failure = l;
    });
    try {
      await this.waitText((t) => t.includes(end) || failure !== null, ms, `answer to ${expr.length > 60 ? expr.slice(0, 60) + "..." : expr}`);
    } finally {
      stop();
    }
    const i = this.text.indexOf(start);
    const j = this.text.indexOf(end);
    if (i < 0 || j < 0) throw new Error(`${this.name}: ${failure}`);
    const json = this.text.slice(i + start.length, j);
    return json === "" || json === "undefined" ? undefined : JSON.parse(json);
  }

  /** process.env's VERSION, BOARD and CONSOLE. */
  boardInfo() {
    return this.eval("{VERSION:process.env.VERSION,BOARD:process.env.BOARD,CONSOLE:process.env.CONSOLE}");
  }

  /**
   * Writes `data` (Buffer or latin1 text) to Storage file `name`, a chunk per confirmed line, and checks the
   * stored file's CRC-32. `onChunk(done, total)` reports progress.
   */
  async writeFile(name, data, { onChunk = (_done, _total) => {} } = {}) {
    const bytes = typeof data === "string" ? Buffer.from(data, "latin1") : data;
    if (!bytes.length) throw new Error(`${name}: Storage cannot hold an empty file`);
    for (let off = 0; off < bytes.length; off += CHUNK) {
      const chunk = jsByteString(bytes.subarray(off, off + CHUNK));
      const call = off === 0
        ? `require("Storage").write(${JSON.stringify(name)},${chunk},0,${bytes.length})`
        : `require("Storage").write(${JSON.stringify(name)},${chunk},${off})`;
      const ok = await this.eval(call);
      if (ok !== true) throw new Error(`${this.name}: writing ${name} at byte ${off} failed (Storage full?)`);
      onChunk(Math.min(off + CHUNK, bytes.length), bytes.length);
    }
    const crc = await this.eval(`E.CRC32(require("Storage").read(${JSON.stringify(name)}))`);
    const want = zlib.crc32(bytes);
    if (crc >>> 0 !== want) throw new Error(`${this.name}: ${name} did not arrive intact (CRC-32 ${(crc >>> 0).toString(16)}, sent ${want.toString(16)})`);
  }

  close() {
    return this.link.close();
  }
}
