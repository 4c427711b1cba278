// Saves a board's bundle to its Storage as .bootcde through the real EspruinoTools CLI (npm espruino 0.1.67), with
// the flags that work offline and around its known bugs:
// --no-ble (no D-Bus here), --board dist/<id>/board.json (no download, no process.env query), no -m (its minifier
// breaks classes; rollup already minified), SERIAL_THROTTLE_SEND=2 with XON/XOFF, Storage-write delays on (a quarter
// of a second after each write, 8 s for a 31 kB bundle) unless the board is the simulator, and never an upload of
// 512 bytes or less (0.1.67 then never finishes). Before the upload the board is asked
// what it runs, so a wrong interpreter or an old one is refused in words.
import fs from "node:fs";
import os from "node:os";
import zlib from "node:zlib";
import path from "node:path";
import { spawn } from "node:child_process";
import { loadBoard, loadBoards } from "../../boards/board-file.mjs";
import { parsePort } from "./port.mjs";
import { Repl } from "./repl.mjs";

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");
export const CLI = path.join(ROOT, "node_modules", ".bin", "espruino");
/** Uploads of this size or less hit EspruinoTools 0.1.67's missing completion callback on a fast console. */
export const HANG_LIMIT = 512;

export class FlashError extends Error {}

/** A board by its id (boards/ID.json, or a FlashError listing the boards there are) or by its file's path (*.json). */
export function boardById(id) {
  if (typeof id === "string" && id.endsWith(".json")) {
    if (!fs.existsSync(id)) throw new FlashError(`no board file ${id}`);
    return loadBoard(path.resolve(id));
  }
  const file = path.join(ROOT, "boards", `${id}.json`);
  if (typeof id !== "string" || !/^[a-z0-9_-]+$/i.test(id) || !fs.existsSync(file)) {
    const known = loadBoards().map((b) => b.id).join(", ");
    throw new FlashError(`unknown board ${JSON.stringify(id)} (boards: ${known})`);
  }
  return loadBoard(file);
}

/** "2v29.277" -> [2, 29]; null when it is not an Espruino version. */
export function parseVersion(v) {
  const m = /^(\d+)v(\d+)/.exec(String(v));
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/** process.env.BOARD of the real interpreter's Linux variants (firmware/espruino/boards/). */
export const HOST_INTERPRETERS = ["NODE_ESP32", "NODE_LINUX", "NODE_WASM"];
/**
 * The simulator's interpreter. Its console hands the interpreter a few bytes at a time and runs it until they are
 * taken, so nothing is lost while a Storage write runs and the upload needs no pauses. A chip's UART, and the Linux
 * builds' console queue (4 kB, filled by a thread of its own), drop what arrives while the interpreter is busy.
 */
export const LOSSLESS_CONSOLE = "NODE_WASM";

/**
 * Checks what the board says it runs against what the firmware was built for. Returns null or the problem in words.
 * `info` is {VERSION, BOARD} from process.env; `board` the board file; `needed` the interpreter version ("2v29").
 */
export function firmwareMismatch(info, board, needed) {
  if (!info || typeof info !== "object") return "the board did not say what it runs (process.env)";
  // The project's own Linux builds of the interpreter (scripts/espruino.sh) run every board's bundle.
  if (info.BOARD !== board.espruinoBoard && !HOST_INTERPRETERS.includes(info.BOARD)) {
    return `board mismatch: the board runs Espruino for ${info.BOARD}, but boards/${board.id}.json is for ${board.espruinoBoard} ` +
      `(pick the matching --board, or write the ${board.espruinoBoard} interpreter with --firmware)`;
  }
  const have = parseVersion(info.VERSION);
  const want = parseVersion(needed);
  if (!have) return `firmware version mismatch: the board reports VERSION ${JSON.stringify(info.VERSION)}, not an Espruino version`;
  if (want && (have[0] < want[0] || (have[0] === want[0] && have[1] < want[1]))) {
    return `firmware version mismatch: the board runs Espruino ${info.VERSION}, this firmware needs ${needed} or later ` +
      "(write a newer interpreter with npm run flash -- --firmware espruino_<board>.bin)";
  }
  return null;
}

/** The bundle as uploaded: padded past the hang limit with a trailing comment when it is that small. */
export function uploadable(code) {
  const text = code.endsWith("\n") ? code : code + "\n";
  if (text.length > HANG_LIMIT) return text;
  return text + "//" + " ".repeat(HANG_LIMIT + 64 - text.length) + "\n";
}

/** The EspruinoTools arguments for a Storage upload of `file` (see the header for why each). */
export function cliArgs({ port, boardJson, file, baud = 115200, throttle = false, storageWriteDelays = true }) {
  const p = parsePort(port);
  return ["--no-ble", "-p", p.text, ...(p.kind === "serial" ? ["-b", String(baud)] : []), "--board", boardJson,
    "--config", `SERIAL_THROTTLE_SEND=${throttle ? 1 : 2}`, "--config", `STORAGE_UPLOAD_METHOD=${storageWriteDelays ? 0 : 1}`, "--storage", ".bootcde:-", file];
}

/** Runs the EspruinoTools CLI; resolves with its output, rejects with it on failure or after `timeoutMs`. */
export function runEspruinoCli(args, { timeoutMs = 300000, onLine = (_line) => {} } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(CLI, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let partial = "";
    const take = (d) => {
      out += d;
      partial += d;
      const lines = partial.split("\n");
      partial = lines.pop();
      for (const l of lines) onLine(l);
    };
    child.stdout.setEncoding("latin1").on("data", take);
    child.stderr.setEncoding("latin1").on("data", take);
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new FlashError(`EspruinoTools did not finish within ${timeoutMs / 1000} s; its output:\n${out.slice(-2000)}`));
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new FlashError(`cannot run EspruinoTools (${CLI}): ${e.message} (run npm run setup)`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new FlashError(`EspruinoTools exited with code ${code}:\n${out.slice(-2000)}`));
      if (!/Upload Complete/.test(out)) return reject(new FlashError(`EspruinoTools did not complete the upload:\n${out.slice(-2000)}`));
      resolve(out);
    });
  });
}

/**
 * Flashes `bundle` (default dist/<board>/firmware.js) to the board on `port`.
 * @param {object} o
 * @param {string} o.port serial device or tcp://host:port
 * @param {string} o.board board id (boards/<id>.json)
 * @param {string} [o.bundle] firmware file to upload instead of dist/<board>/firmware.js
 * @param {boolean} [o.erase] erase all of Storage first (configuration, queued readings, OTA slots)
 * @param {number} [o.baud] the console's speed
 * @param {boolean} [o.throttle] slow the upload down (EspruinoTools' throttling)
 * @param {(text: string) => void} [o.progress]
 * @param {number} [o.timeoutMs] how long EspruinoTools may take
 * @returns {Promise<{bytes: number, crc: number, info: any}>}
 */
export async function flashBundle({ port, board: boardId, bundle, erase = false, baud = 115200, throttle = false, progress = () => {}, timeoutMs }) {
  const board = boardById(boardId);
  parsePort(port);
  const boardJson = path.join(ROOT, "dist", board.id, "board.json");
  const file = bundle ?? path.join(ROOT, "dist", board.id, "firmware.js");
  if (!fs.existsSync(file)) throw new FlashError(`no bundle ${path.relative(ROOT, file)} (run npm run build)`);
  if (!fs.existsSync(boardJson)) throw new FlashError(`no ${path.relative(ROOT, boardJson)} (run npm run build)`);
  const needed = JSON.parse(fs.readFileSync(boardJson, "utf8")).info.binary_version;

  progress(`checking the board on ${port}`);
  const repl = await Repl.open(port, { baud, name: port });
  let info;
  try {
    await repl.prompt();
    info = await repl.boardInfo();
    progress(`the board runs Espruino ${info.VERSION} for ${info.BOARD} (console ${info.CONSOLE})`);
    const problem = firmwareMismatch(info, board, needed);
    if (problem) throw new FlashError(problem);
    if (erase) {
      // The running firmware's functions execute from Storage: stop it (reset() runs no .bootcde) before erasing.
      progress("stopping the running code and erasing Storage");
      await repl.write("\x10reset();\n");
      await repl.prompt(10000);
      await repl.eval("require('Storage').eraseAll()", 60000);
    }
  } finally {
    await repl.close();
  }

  // EspruinoTools reads a private copy of what is checked afterwards (a build may rewrite dist/ meanwhile), padded
  // when the bundle is small enough to hang the upload.
  const sent = uploadable(fs.readFileSync(file, "latin1"));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "flash-"));
  const upload = path.join(tmp, "firmware.js");
  fs.writeFileSync(upload, sent, "latin1");
  progress(`uploading ${sent.length} bytes to Storage .bootcde with EspruinoTools`);
  const started = Date.now();
  const ticker = setInterval(() => progress(`  ... ${Math.round((Date.now() - started) / 1000)} s`), 5000);
  try {
    await runEspruinoCli(cliArgs({ port, boardJson, file: upload, baud, throttle, storageWriteDelays: info.BOARD !== LOSSLESS_CONSOLE }), {
      timeoutMs,
      onLine: (l) => {
        if (/^--\] /.test(l) && l.length > 4) progress(`  board: ${l.slice(4)}`);
      },
    });
  } finally {
    clearInterval(ticker);
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  progress("verifying");
  const check = await Repl.open(port, { baud, name: port });
  try {
    await check.prompt();
    const stored = await check.eval('(function(f){return f===undefined?null:{n:f.length,crc:E.CRC32(f)}})(require("Storage").read(".bootcde"))');
    const crc = zlib.crc32(Buffer.from(sent, "latin1"));
    if (!stored) throw new FlashError("the upload finished but Storage has no .bootcde");
    if (stored.n !== sent.length || stored.crc >>> 0 !== crc) {
      throw new FlashError(`.bootcde on the board is not the bundle (${stored.n} bytes, CRC-32 ${(stored.crc >>> 0).toString(16)}; sent ${sent.length}, ${crc.toString(16)})`);
    }
    return { bytes: sent.length, crc, info };
  } finally {
    await check.close();
  }
}
