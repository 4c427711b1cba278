// npm run flash: the bundle saved to Storage .bootcde through the real EspruinoTools CLI on a simulated board's
// console, the guard against 0.1.67's small-upload hang, refusals for a wrong board or an old interpreter, and the
// interpreter writer (esptool-js over the Web Serial adapter) up to where real hardware would be needed.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { execFile } from "node:child_process";
import { MockBinding } from "@serialport/binding-mock";
import { SerialPortStream } from "@serialport/stream";
import { ROOT, startNode, tempDir } from "../sim-support.mjs";
import { writeFirmware, FirmwareError } from "../../host/hil/firmware.mjs";
import { loadBoard } from "../../boards/board-file.mjs";

const FLASH = path.join(ROOT, "host", "hil", "flash-cli.mjs");

function flash(args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [FLASH, ...args], { cwd: ROOT, timeout: 120000, killSignal: "SIGKILL" },
      (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
}

/** A copy of the sim bundle, so a concurrent `npm run build` cannot change it under the test. */
function bundleCopy(t) {
  const file = path.join(tempDir(t, "hil-flash-"), "firmware.js");
  fs.copyFileSync(path.join(ROOT, "dist", "sim", "firmware.js"), file);
  return file;
}

test("flash saves the bundle to .bootcde through EspruinoTools, verifies it and the board boots it", async (t) => {
  const node = await startNode(t, { bundle: null, consolePort: 0 });
  const bundle = bundleCopy(t);
  const r = await flash(["--board", "sim", "--port", `tcp://127.0.0.1:${node.console.port}`, "--bundle", bundle]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /flash: the board runs Espruino 2v29\.\d+ for NODE_WASM \(console \w+\)/);
  assert.match(r.stdout, new RegExp(`flash: uploading ${fs.statSync(bundle).size} bytes to Storage \\.bootcde with EspruinoTools`));
  assert.match(r.stdout, /flash: verifying\nflash: done: \d+ bytes in Storage \.bootcde \(CRC-32 [0-9a-f]+\), running/);
  assert.deepEqual(node.device.storage.read(".bootcde"), fs.readFileSync(bundle));
  await node.device.waitForOutput(/^node: Simulated ESP32 \(desktop simulator\) \(sim\) up, readings /);
  // EspruinoTools' reset() and load() run inside the interpreter: the chip itself was powered on once.
  assert.deepEqual(node.traces.filter((e) => e.type === "boot").map((e) => e.cause), ["poweron"]);
});

test("flash pads a bundle of 512 bytes or less so EspruinoTools 0.1.67 finishes, and --erase clears Storage", async (t) => {
  const node = await startNode(t, { bundle: null, consolePort: 0, files: { tq1: "{}" } });
  assert.equal(node.device.storage.read("tq1").toString(), "{}");
  const small = path.join(tempDir(t, "hil-flash-"), "small.js");
  fs.writeFileSync(small, 'print("tiny bundle ran");\n');
  const r = await flash(["--board", "sim", "--port", `tcp://127.0.0.1:${node.console.port}`, "--bundle", small, "--erase"]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const stored = node.device.storage.read(".bootcde").toString("latin1");
  assert.ok(stored.startsWith('print("tiny bundle ran");\n//'), "the code, then a padding comment");
  assert.ok(stored.length > 512);
  assert.equal(node.device.storage.read("tq1"), undefined, "erased");
  await node.device.waitForOutput("tiny bundle ran");
});

test("flash names unknown boards and bad ports", async () => {
  const unknown = await flash(["--board", "esp8266", "--port", "/dev/ttyUSB0"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown board "esp8266" \(boards: esp32, esp32c3, sim\)/);
  const noPort = await flash(["--board", "sim", "--no-build"]);
  assert.match(noPort.stderr, /--port is needed/);
  const refused = await flash(["--board", "sim", "--no-build", "--port", "tcp://127.0.0.1:1"]);
  assert.match(refused.stderr, /cannot connect to tcp:\/\/127\.0\.0\.1:1: connection refused/);
  const serial = await flash(["--board", "sim", "--no-build", "--port", "/dev/ttyHIL-none"]);
  assert.match(serial.stderr, /serial port \/dev\/ttyHIL-none does not exist/);
});

/**
 * A board console that answers like a board running Espruino `env` (process.env): a prompt, and the evaluation of
 * process.env. It starts in the middle of an unfinished input (":" continuation prompt) until a Ctrl-C clears it.
 * Resolves with its port and what it received.
 */
async function boardConsole(t, env) {
  const received = [];
  const server = net.createServer((sock) => {
    let buf = "";
    let stuck = true;
    sock.on("data", (d) => {
      buf += d.toString("latin1");
      received.push(d.toString("latin1"));
      if (buf.includes("\x03")) {
        stuck = false;
        buf = buf.slice(buf.lastIndexOf("\x03") + 1);
      }
      if (stuck) {
        if (buf.includes("\n")) sock.write("\r\n:");
        buf = "";
        return;
      }
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /^\x10print\("<hil"\+"(\w+)<"/.exec(line);
        if (m) sock.write(`<hil${m[1]}<${JSON.stringify(env)}>hil${m[1]}>\r\n>`);
        else sock.write("\r\n>");
      }
    });
    sock.on("error", () => {});
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => new Promise((r) => server.close(r)));
  return { port: server.address().port, received };
}

test("flash refuses an interpreter older than the firmware needs, or another board's, before uploading anything", async (t) => {
  const old = await boardConsole(t, { VERSION: "2v19", BOARD: "ESP32", CONSOLE: "Serial1" });
  const r = await flash(["--board", "esp32", "--no-build", "--port", `tcp://127.0.0.1:${old.port}`]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /flash: firmware version mismatch: the board runs Espruino 2v19, this firmware needs 2v29 or later/);
  assert.ok(!old.received.join("").includes("Storage"), "no upload was started");
  assert.ok(old.received.join("").includes("\x03"), "the unfinished input was cleared with Ctrl-C");

  const esp32 = await boardConsole(t, { VERSION: "2v29", BOARD: "ESP32", CONSOLE: "Serial1" });
  const wrong = await flash(["--board", "esp32c3", "--no-build", "--port", `tcp://127.0.0.1:${esp32.port}`]);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /flash: board mismatch: the board runs Espruino for ESP32, but boards\/esp32c3\.json is for ESP32C3_IDF4/);
  assert.ok(!esp32.received.join("").includes("Storage"), "nothing uploaded");
});

test("flash --firmware checks the image and the port before anything is written", async (t) => {
  const dir = tempDir(t, "hil-fw-");
  const text = path.join(dir, "notes.bin");
  fs.writeFileSync(text, "this is not a firmware image, just some text of a reasonable length\n");
  const cases = [
    [["--firmware", path.join(dir, "missing.bin"), "--port", "/dev/ttyUSB0"], /flash: cannot read --firmware .*missing\.bin: no such file/],
    [["--firmware", text, "--port", "/dev/ttyUSB0"], /not an ESP firmware image \(first byte 0x74, expected 0xe9\)/],
    [["--firmware", text], /--port is needed/],
  ];
  const image = path.join(dir, "espruino_esp32.bin");
  fs.writeFileSync(image, Buffer.concat([Buffer.from([0xe9, 0x05, 0x02, 0x20]), Buffer.alloc(2048, 0x11)]));
  cases.push([["--firmware", image, "--port", "tcp://127.0.0.1:2323"], /--firmware needs a serial port: tcp:\/\/127\.0\.0\.1:2323 reaches Espruino's console, not the chip's ROM bootloader/]);
  cases.push([["--firmware", image, "--port", "/dev/ttyHIL-none"], /serial port \/dev\/ttyHIL-none does not exist/]);
  // A device that is not a serial port at all.
  cases.push([["--firmware", image, "--port", "/dev/null"], /flash: cannot open serial port \/dev\/null: .*Inappropriate ioctl/]);
  cases.push([["--board", "sim", "--no-build", "--port", "/dev/null"], /flash: cannot open serial port \/dev\/null: .*Inappropriate ioctl/]);
  cases.push([["--firmware", image, "--partitions", text, "--port", "/dev/ttyUSB0"], /--partitions .*notes\.bin: not a binary partition table/]);
  for (const [args, message] of cases) {
    const r = await flash(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});

test("esptool-js drives a serial port through the Web Serial adapter: it sends the ROM SYNC, and a silent chip is an error in words", async (t) => {
  const dir = tempDir(t, "hil-fw-");
  try {
    const image = path.join(dir, "espruino_esp32.bin");
    fs.writeFileSync(image, Buffer.concat([Buffer.from([0xe9, 0x05, 0x02, 0x20]), Buffer.alloc(4096, 0x22)]));
    MockBinding.reset();
    MockBinding.createPort("/dev/ttyHILMOCK", { echo: false, record: true });
    const opened = [];
    const openStream = async ({ path: p, baudRate }) => {
      const s = new SerialPortStream({ binding: MockBinding, path: p, baudRate });
      await new Promise((resolve, reject) => s.once("open", resolve).once("error", reject));
      opened.push(s);
      return s;
    };
    const progress = [];
    // A CP2102 bridge, as on an ESP32-DevKitC: esptool-js then uses the classic DTR/RTS reset.
    const describe = async () => ({ usbVendorId: 0x10c4, usbProductId: 0xea60 });
    await assert.rejects(
      writeFirmware({ port: "/dev/ttyHILMOCK", board: loadBoard(path.join(ROOT, "boards", "esp32.json")), firmware: image,
        serial: { openStream, describe }, progress: (l) => progress.push(l) }),
      (e) => e instanceof FirmwareError && /^no ESP bootloader answered on \/dev\/ttyHILMOCK \(Failed to connect with the device\): hold the BOOT button/.test(e.message),
    );
    assert.equal(opened[0].baudRate, 115200, "the ROM bootloader's speed");
    assert.ok(progress.includes("Serial port WebSerial VendorID 0x10c4 ProductID 0xea60"), progress.join("\n"));
    const sent = opened[0].port.recording;
    // SLIP frame c0, then the SYNC request: direction 00, command 08, length 0x0024, checksum 0, 07 07 12 20 and 32 x 55.
    const sync = Buffer.concat([Buffer.from("c00008240000000000070712 20".replace(/ /g, ""), "hex"), Buffer.alloc(32, 0x55), Buffer.from([0xc0])]);
    assert.ok(sent.includes(sync), `a SYNC frame was written (sent ${sent.subarray(0, 60).toString("hex")})`);
    assert.equal(opened[0].isOpen, false, "the port is closed afterwards");
  } finally {
    MockBinding.reset();
  }
});
