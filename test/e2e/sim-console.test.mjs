// The simulated board's TCP console (Espruino's own REPL): by hand, and the real EspruinoTools CLI (npm espruino 0.1.67)
// uploading dist/sim/firmware.js to RAM and to Storage (.bootcde) as it would to a board.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { execFile } from "node:child_process";
import { ROOT, startNode, tempDir, until } from "../sim-support.mjs";

const CLI = path.join(ROOT, "node_modules", ".bin", "espruino");
const BOARD_JSON = path.join(ROOT, "dist", "sim", "board.json");
const BUNDLE_FILE = path.join(ROOT, "dist", "sim", "firmware.js");

function espruinoCli(args) {
  return new Promise((resolve, reject) => {
    execFile(CLI, args, { cwd: ROOT, timeout: 60000, killSignal: "SIGKILL" }, (err, stdout, stderr) => {
      if (err) reject(new Error(`espruino ${args.join(" ")} failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout + stderr);
    });
  });
}

/** A raw TCP client of the console; `text()` is everything received so far. */
async function rawConsole(t, port) {
  const sock = net.connect(port, "127.0.0.1");
  await new Promise((resolve, reject) => sock.once("connect", resolve).once("error", reject));
  let received = "";
  sock.on("data", (d) => (received += d.toString("latin1")));
  t.after(() => sock.destroy());
  return { send: (s) => sock.write(Buffer.from(s, "latin1")), text: () => received, clear: () => (received = "") };
}

test("the console is Espruino's REPL: echo, =results, \x10 lines run silently, open brackets continue", async (t) => {
  const node = await startNode(t, { bundle: null, consolePort: 0 });
  const c = await rawConsole(t, node.console.port);
  c.send("\n");
  await until(() => c.text().endsWith("\r\n>"), 5000, "a prompt");
  c.clear();
  c.send("1+2\n");
  await until(() => c.text().endsWith(">"), 5000, "=3");
  assert.equal(c.text(), "1+2\r\n=3\r\n>");
  c.clear();
  c.send('\x10print("<","<<",JSON.stringify(process.env),">>",">")\n');
  await until(() => c.text().endsWith(">> >\r\n>"), 5000, "the env reply");
  const env = JSON.parse(/< << (.*) >> >/.exec(c.text())[1]);
  assert.match(env.VERSION, /^2v29\.\d+$/);
  assert.equal(env.BOARD, "NODE_WASM");
  assert.equal(env.STORAGE, 896 * 1024, "the ESP32's Storage partition");
  for (const m of ["dgram", "Storage", "Wifi", "ESP32", "DTLS", "crypto"]) assert.ok(env.MODULES.split(",").includes(m), `${m} in ${env.MODULES}`);
  c.clear();
  c.send("\x10\x1b[1dvar o = {\x1b\n a: [1,\n 'x'] }\n");
  await until(async () => (await node.device.exec("typeof o")) === "object", 5000, "the object");
  c.clear();
  c.send("o\n");
  await until(() => c.text().endsWith("}\r\n>"), 5000, "=o");
  assert.ok(c.text().endsWith('o\r\n={ \r\n  a: [ 1, \r\n    "x"\r\n   ]\r\n }\r\n>'), c.text());
  c.clear();
  c.send("nope()\n");
  await until(() => c.text().endsWith("^\r\n>"), 5000, "the error");
  assert.equal(c.text(), 'nope()\r\nUncaught ReferenceError: "nope" is not defined\r\n    at REPL (:1:1)\r\nnope()\r\n^\r\n>');
});

test("espruino CLI uploads the bundle to RAM and it runs; nothing is stored", async (t) => {
  const node = await startNode(t, { bundle: null, consolePort: 0 });
  const out = await espruinoCli(["--no-ble", "-p", `tcp://127.0.0.1:${node.console.port}`, "--board", BOARD_JSON, BUNDLE_FILE]);
  // The bundle's own first words ("node: ...") came back over the console.
  assert.match(out, /--\] >?node: /);
  assert.match(out, /Upload Complete/);
  assert.ok(node.device.lines.some((l) => l.startsWith("node: ")));
  assert.equal(node.device.storage.read(".bootcde"), undefined);
});

test("espruino CLI --storage .bootcde:- stores the exact bundle, load()s it, and it boots again after deep sleep", async (t) => {
  const node = await startNode(t, { bundle: null, consolePort: 0 });
  const out = await espruinoCli(["--no-ble", "-p", `tcp://127.0.0.1:${node.console.port}`, "--board", BOARD_JSON,
    "--storage", ".bootcde:-", BUNDLE_FILE]);
  assert.match(out, /Upload Complete/);
  assert.deepEqual(node.device.storage.read(".bootcde"), fs.readFileSync(BUNDLE_FILE));
  assert.ok(node.device.lines.some((l) => l.startsWith("node: ")), "the stored bundle ran");
  let woke = -1;
  node.device.on("trace", (e) => {
    if (e.type === "boot" && e.cause === "deepsleep") woke = node.device.lineCount;
  });
  node.device.write('\x10require("ESP32").deepSleep(5e6)\n'); // typed: the chip sleeps before any answer
  await until(() => woke >= 0, 10000, "the wake-up");
  await node.device.waitForOutput(/^node: /, { fromLine: woke });
});

test("espruino CLI finishes an upload under 512 bytes (0.1.67's completion bug) and the code runs", async (t) => {
  const node = await startNode(t, { bundle: null, consolePort: 0 });
  const small = path.join(tempDir(t), "small.js");
  fs.writeFileSync(small, 'var n = 6 * 7;\nprint("small upload ran: " + n);\n');
  const out = await espruinoCli(["--no-ble", "-p", `tcp://127.0.0.1:${node.console.port}`, "--board", BOARD_JSON, small]);
  assert.match(out, /small upload ran: 42/);
  assert.ok(node.device.lines.includes("small upload ran: 42"));
});
