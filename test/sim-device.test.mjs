// The emulated Espruino: the built bundle boots, and each emulated API behaves as docs/espruino.md and the real interpreter say.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ROOT, startNode, until } from "./sim-support.mjs";
import { startDefaultServer } from "../host/sim/server.mjs";
import { EspruinoEmitter, queueEvent, boardSetTimeout } from "../host/espruino/events.mjs";

const BOARD = JSON.parse(fs.readFileSync(path.join(ROOT, "boards", "sim.json"), "utf8"));

test("the built bundle boots with a configuration and a local server and prints readings from the simulated sensors", async (t) => {
  const server = await startDefaultServer();
  t.after(() => server.close());
  if (server.registerDevice) await server.registerDevice("node1", "sim-test-token");
  const node = await startNode(t, { config: { server: `coap://127.0.0.1:${server.port}`, token: "sim-test-token", wifi: { ssid: "sim" } } });
  const withReadings = /\{"temperature":[-\d.]+,"battery":[-\d.]+\}/;
  await until(() => node.outputs.some((o) => withReadings.test(o.line)), 20000, "a line with readings");
  const out = node.outputs.find((o) => withReadings.test(o.line));
  const line = out.line;
  const reads = node.traces.slice(0, out.traces).filter((e) => e.type === "analog");
  const readings = JSON.parse(/\{"temperature".*\}/.exec(line)[0]);
  for (const s of BOARD.sensors) {
    const raw = reads.filter((r) => r.pin === s.pin).pop().value;
    // The value printed is the ADC fraction the firmware read, scaled as the board file says.
    const f = Math.pow(10, s.decimals);
    assert.equal(readings[s.key], Math.round((raw * s.scale + s.offset) * f) / f, s.key);
    // The fraction follows the board file's signal: within amplitude + 5 sigma of noise + one ADC step of base.
    const bound = s.sim.amplitude + 5 * s.sim.noise + 1 / 4095;
    assert.ok(Math.abs(raw - s.sim.base) <= bound, `${s.key}: ${raw} vs base ${s.sim.base}`);
  }
});

test("pins: digitalWrite/digitalRead, Pin objects, modes", async (t) => {
  const node = await startNode(t, { bundle: null });
  assert.equal(await node.device.exec(`digitalWrite(D2, 1); D4.set(); [digitalRead("D2"), D2.read(), D4.getMode(), String(D2),
    digitalRead(D5)].join()`), "1,true,output,D2,0");
  node.device.setInput("D5", 1);
  assert.equal(await node.device.exec(`digitalRead(D5)`), 1);
  assert.deepEqual(node.traces.filter((e) => e.type === "pin").map((e) => `${e.pin}=${e.value}`), ["D2=1", "D4=1"]);
  await assert.rejects(node.device.exec(`digitalWrite("D99", 1)`), /Invalid pin: D99/);
});

test("globals Espruino lacks are absent; built-ins Espruino has are present", async (t) => {
  const node = await startNode(t, { bundle: null });
  const missing = await node.device.exec(`[typeof Map, typeof Set, typeof WeakMap, typeof Symbol, typeof Proxy,
    typeof Reflect, typeof Intl, typeof BigInt, typeof RangeError, typeof Array.from, typeof Array.of,
    typeof Object.freeze, typeof Number.isInteger, typeof Number.isNaN, typeof Math.trunc, typeof Math.log2,
    typeof Promise.race, typeof Promise.allSettled, typeof Promise.resolve(1).finally, typeof "".search,
    typeof "".trimStart, typeof [].flat, typeof [].lastIndexOf, typeof Uint8Array.from, typeof String.fromCodePoint,
    typeof process.nextTick, typeof setImmediate, typeof Buffer, typeof queueMicrotask, typeof WebAssembly].join()`);
  assert.deepEqual(missing.split(","), Array(30).fill("undefined"));
  const present = await node.device.exec(`[typeof Promise.all, typeof Object.assign, typeof Object.entries,
    typeof [].includes, typeof "".padStart, typeof E.toString, typeof getTime, typeof require, typeof D2,
    typeof InternalError, typeof global, typeof [].find].join()`);
  assert.deepEqual(present.split(","), ["function", "function", "function", "function", "function", "function",
    "function", "function", "object", "function", "object", "function"]);
  await assert.rejects(node.device.exec("new Map()"), /Map is not defined/);
});

test("JSON escapes every character from 0x7F, ignores a reviver; fromCharCode is 8-bit", async (t) => {
  const node = await startNode(t, { bundle: null });
  assert.equal(await node.device.exec(`JSON.stringify({ k: "a\\u007f\\u00e9" })`), '{"k":"a\\u007f\\u00e9"}');
  assert.equal(await node.device.exec(`JSON.parse('{"a":1}', function (k, v) { return 7; }).a`), 1);
  assert.equal(await node.device.exec("String.fromCharCode(0x141).charCodeAt(0)"), 0x41);
});

test("errors: no name, subtypes are not instanceof Error, toString gives type and message", async (t) => {
  const node = await startNode(t, { bundle: null });
  const r = await node.device.exec(`var e = new TypeError("bad");
    [typeof e.name, e instanceof TypeError, e instanceof Error, e.toString(), e.message, String(new Error("m")),
     String(new Error()), String(new ReferenceError("r"))].join("|")`);
  assert.equal(r, "undefined|true|false|TypeError: bad|bad|Error: m|Error|ReferenceError: r");
  const j = JSON.parse(await node.device.exec(`JSON.stringify(new TypeError("t"))`));
  assert.deepEqual([j.message, j.type, typeof j.stack], ["t", "TypeError", "string"]);
  const l = node.device.lineCount;
  await node.device.exec(`setTimeout(function () { null.x; }, 5)`);
  assert.match(await node.device.waitForOutput(/^Uncaught /, { fromLine: l }), /^Uncaught TypeError: Cannot read properties of null/);
});

test("event order: setTimeout(0), then emit handler, then promise then", async (t) => {
  const node = await startNode(t, { bundle: null });
  await node.device.exec(`var order = []; var o = {};
    o.on("x", function (a) { order.push("emit " + a); });
    setTimeout(function () { order.push("timeout0"); }, 0);
    o.emit("x", 1);
    Promise.resolve(2).then(function (v) { order.push("then " + v); });
    order.push("sync-end");`);
  await node.device.exec("setTimeout(function () { print('order: ' + order.join()); }, 10)");
  assert.equal(await node.device.waitForOutput(/^order: /), "order: sync-end,timeout0,emit 1,then 2");
  // Chained then callbacks and rejections are queued events too; an unhandled rejection is reported.
  await node.device.exec(`Promise.reject(new Error("nobody")); new Promise(function (res) { res(1); })
    .then(function (v) { throw new Error("x" + v); }).catch(function (e) { print("caught " + e.message); })`);
  await node.device.waitForOutput("caught x1");
  await node.device.waitForOutput("Uncaught Error: Unhandled promise rejection: Error: nobody");
});

test("Storage: 28-character names, offsets, sized files, JSON, list, erase, free space and compact", async (t) => {
  const node = await startNode(t, { bundle: null });
  const x = (code) => node.device.exec(code);
  await x(`var S = require("Storage");`);
  assert.equal(await x(`S.write("a", "hello world"); S.read("a", 6, 3)`), "wor");
  assert.equal(await x(`S.write("big", "ab", 0, 6); S.write("big", "cd", 2); S.read("big")`), "abcd\xff\xff");
  await assert.rejects(x(`S.write("big", "xyz", 4)`), /run past the end of "big"/);
  await assert.rejects(x(`S.write("nothere", "x", 3)`), /does not exist/);
  await assert.rejects(x(`S.write("${"n".repeat(29)}", "x")`), /is 29 characters, the limit is 28/);
  assert.equal(await x(`S.write("${"n".repeat(28)}", "x"); S.read("${"n".repeat(28)}")`), "x");
  assert.equal(await x(`S.writeJSON("c.json", { v: [1, "\\u00e9"] }); S.read("c.json")`), '{v:[1,"\\xE9"]}', "names unquoted and bytes as \\xHH, as the real interpreter writes them");
  assert.equal(await x(`S.readJSON("c.json").v[1]`), "\xe9");
  assert.equal(await x(`S.write("bad.json", "{"); S.readJSON("bad.json", true)`), undefined);
  assert.equal(await x(`S.list(/\\.json$/).join()`), "bad.json,c.json");
  assert.equal(await x(`S.list() instanceof Array`), true);
  assert.equal(await x(`S.write("bin", E.toString([0, 255, 10])); E.toUint8Array(S.read("bin")).join()`), "0,255,10");
  const free0 = await x(`S.getFree()`);
  await x(`S.write("blob", new Uint8Array(1000))`);
  const free1 = await x(`S.getFree()`);
  assert.ok(free0 - free1 >= 1000, `${free0} -> ${free1}`);
  await x(`S.erase("blob")`);
  assert.equal(await x(`S.read("blob")`), undefined);
  assert.equal(await x(`S.getFree()`), free1, "an erased file keeps its flash until compact()");
  await x(`S.compact()`);
  assert.equal(await x(`S.getFree()`), free0);
});

test("Storage and the RTC survive a deep sleep; RAM, timers and sockets do not", async (t) => {
  const node = await startNode(t, { bundle: null });
  const d = node.device;
  await d.exec(`E.setBootCode('var S = require("Storage"); var n = (S.readJSON("n.json", true) || 0) + 1;' +
    ' S.writeJSON("n.json", n); print("boot " + n + " cause " + require("ESP32").getWakeupCause() + " t " + getTime());')`);
  await d.exec(`load()`);
  await d.waitForOutput(/^boot 1 cause 0 /);
  await d.exec(`setTime(1000); global.ramValue = 42; setInterval(function () { print("tick"); }, 100000)`);
  const t0 = d.scheduler.now();
  await d.exec(`require("ESP32").deepSleep(30e6); print("after deepSleep")`);
  const line = await d.waitForOutput(/^boot 2 /);
  const [, cause, time] = /cause (\d+) t ([\d.]+)/.exec(line);
  assert.equal(cause, "4");
  assert.ok(Number(time) >= 1030 && Number(time) < 1031, time);
  assert.ok(d.scheduler.now() - t0 >= 30000);
  assert.equal(await d.exec(`typeof ramValue`), "undefined");
  assert.ok(!d.lines.includes("after deepSleep"));
  assert.ok(!d.lines.includes("tick"));
  assert.equal(await d.exec(`require("Storage").readJSON("n.json")`), 2);
  assert.deepEqual(node.traces.filter((e) => e.type === "boot").map((e) => e.cause), ["poweron", "load", "deepsleep"]);
});

test("E: toString, toUint8Array, CRC32, hwRand, on('init'); process.memory without invented figures; clearTimeout(undefined) refused; Date follows the clock", async (t) => {
  const node = await startNode(t, { bundle: null });
  const x = (code) => node.device.exec(code);
  assert.equal(await x(`E.toString(new Uint8Array([104, 105]), [33])`), "hi!");
  assert.equal(await x(`var u = E.toUint8Array("\\u00ff\\u0001"); (u instanceof Uint8Array) + " " + u.join()`), "true 255,1");
  assert.equal(await x(`E.CRC32("123456789")`), 0xcbf43926);
  assert.equal(await x(`typeof E.hwRand() === "number" && E.hwRand() !== E.hwRand()`), true);
  await x(`E.setBootCode('E.on("init", function () { print("init event"); }); print("boot code");')`);
  const l = node.device.lineCount;
  await x(`load()`);
  await node.device.waitForOutput("init event", { fromLine: l });
  assert.deepEqual(node.device.lines.slice(l), ["boot code", "init event"]);
  // The emulator gives no usage figures it cannot know (the real interpreter's are in test/interpreter-node.test.mjs).
  const m0 = await x(`var m = process.memory(); [m.total, typeof m.free, typeof m.usage, m.blocksize].join()`);
  assert.equal(m0, `${BOARD.jsVarBudget},undefined,undefined,14`);
  assert.equal(await x(`try { clearTimeout(undefined); "no error" } catch (e) { e.message }`), "clearTimeout(undefined) not allowed. Use clearTimeout() instead");
  assert.equal(await x(`try { clearInterval(undefined); "no error" } catch (e) { e.message }`), "clearInterval(undefined) not allowed. Use clearInterval() instead");
  assert.equal(await x(`setTime(86400); new Date().getUTCDate() + " " + Math.floor(Date.now() / 1000)`), "2 86400");
});

test("Wifi: connect emits associated and connected; configured failures reach the callback", async (t) => {
  const node = await startNode(t, { bundle: null, wifi: { failConnects: 1, password: "pw" } });
  const d = node.device;
  await d.exec(`var W = require("Wifi"); W.on("connected", function (i) { print("connected " + i.ip); });
    W.on("disconnected", function (i) { print("disconnected " + i.reason); });
    W.connect("sim", { password: "pw" }, function (err) { print("cb1 " + err);
      W.connect("sim", { password: "wrong" }, function (err) { print("cb2 " + err);
        W.connect("sim", { password: "pw" }, function (err) { print("cb3 " + err + " " + W.getStatus().station); });
      });
    });`);
  await d.waitForOutput(/^cb3 /);
  assert.deepEqual(d.lines.filter((l) => /^(cb|connected|disconnected)/.test(l)),
    ["disconnected no_ap_found", "cb1 no_ap_found", "disconnected auth_fail", "cb2 auth_fail", "connected 127.0.0.1", "cb3 null connected"]);
});

test("crypto digests 8-bit strings into ArrayBuffers of the firmware's realm", async (t) => {
  const node = await startNode(t, { bundle: null });
  const r = await node.device.exec(`var d = require("crypto").SHA256("abc"); var u = new Uint8Array(d);
    var hex = ""; for (var i = 0; i < u.length; i++) hex += ("0" + u[i].toString(16)).slice(-2);
    (d instanceof ArrayBuffer) + " " + hex`);
  assert.equal(r, "true ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});

test("code the Espruino compatibility gate rejects does not run, from Storage or the console", async (t) => {
  const node = await startNode(t, { bundle: "var m = new Map(); print('ran');" });
  await node.device.waitForOutput(/^Uncaught SyntaxError: /);
  assert.deepEqual(node.device.lines.filter((l) => /^(Uncaught|ran)/.test(l)),
    ["Uncaught SyntaxError: Espruino cannot run .bootcde:1:13: Map  near: var m = new Map(); print('ran');"]);
  const c = node.device.lineCount;
  assert.deepEqual(node.device.runCode("var o = {}; var x = o?.a;").error instanceof node.device.realm.Error, true);
  assert.match(await node.device.waitForOutput(/^Uncaught/, { fromLine: c }), /optional chaining \?\./);
});

test("require gives only the board's modules; the DTLS provider plugs in", async (t) => {
  const node = await startNode(t, {
    bundle: null,
    modules: { DTLS: (env) => Object.assign(new env.realm.Object(), { connect: () => "dtls from provider" }) },
  });
  await assert.rejects(node.device.exec(`require("fs")`), /Module fs not found/);
  await assert.rejects(node.device.exec(`require("http")`), /Module http not found/);
  assert.equal(await node.device.exec(`require("DTLS").connect()`), "dtls from provider");
});

test("host modules using queueEvent and boardSetTimeout run on the node's queue and simulated clock, boot after boot", async (t) => {
  // A stand-in for a host module such as DTLS: it knows nothing about boards.
  const provider = () => ({
    start() {
      const e = new EspruinoEmitter();
      queueEvent(() => e.emit("ready"));
      boardSetTimeout(() => e.emit("timer"), 5000);
      return e;
    },
  });
  const boot = `var t0 = getTime(); var m = require("DTLS").start();
    m.on("ready", function () { print("ready " + Math.round((getTime() - t0) * 1000)); });
    m.on("timer", function () {
      print("timer " + Math.round((getTime() - t0) * 1000));
      if (require("ESP32").getWakeupCause() === 0) require("ESP32").deepSleep(1e6);
    });`;
  const node = await startNode(t, { bundle: boot, modules: { DTLS: provider } });
  await until(() => node.device.lines.filter((l) => l.startsWith("timer ")).length === 2, 10000, "two boots' timers");
  assert.deepEqual(node.device.lines.filter((l) => /^(ready|timer) /.test(l)), ["ready 0", "timer 5000", "ready 0", "timer 5000"]);
});
