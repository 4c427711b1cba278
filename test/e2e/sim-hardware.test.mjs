// The simulator's hardware layer around Espruino's own interpreter (host/engine/, firmware/espruino/hardware/): the
// board file's sensors, pins and the status LED, Storage and the RTC across deep sleep, Wi-Fi, and the memory the
// interpreter reports for the ESP32's variable layout.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ROOT, startNode, until } from "../sim-support.mjs";
import { startTb } from "../node-support.mjs";

const BOARD = JSON.parse(fs.readFileSync(path.join(ROOT, "boards", "sim.json"), "utf8"));

test("the built bundle boots and prints readings that follow the board file's simulated signals", async (t) => {
  const tb = await startTb(t);
  await tb.createDevice("node-hw", "hw-token");
  const node = await startNode(t, { rtcMs: "host", config: { server: tb.uri, token: "hw-token", wifi: { ssid: "sim" }, intervalS: 5 }, untilMs: 60000 });
  await node.done;
  const readings = node.device.lines.filter((l) => /^node: reading \{/.test(l)).map((l) => JSON.parse(/\{.*\}/.exec(l)[0]));
  assert.ok(readings.length >= 10, `${readings.length} readings in a simulated minute`);
  for (const s of BOARD.sensors) {
    // Within amplitude + 5 sigma of noise + one ADC step of the signal's base, scaled as the board file says.
    const bound = (s.sim.amplitude + 5 * s.sim.noise + 1 / 4095) * s.scale + 10 ** -s.decimals;
    const centre = s.sim.base * s.scale + s.offset;
    for (const r of readings) assert.ok(Math.abs(r[s.key] - centre) <= bound, `${s.key} ${r[s.key]} vs ${centre} +- ${bound}`);
  }
  // The status LED blinked at boot (the banner), on the board file's pin.
  assert.deepEqual(node.traces.filter((e) => e.type === "pin").slice(0, 2).map((e) => `${e.pin}=${e.value}`), [`${BOARD.pins.statusLed}=1`, `${BOARD.pins.statusLed}=0`]);
});

test("pins: what the chip drives is traced, and an input driven from outside is read", async (t) => {
  const node = await startNode(t, { bundle: null });
  assert.equal(await node.device.exec(`digitalWrite(D2, 1); D4.set(); [digitalRead(D2), D4.read()].join()`), "1,true");
  assert.deepEqual(node.traces.filter((e) => e.type === "pin").map((e) => `${e.pin}=${e.value}`), ["D2=1", "D4=1"]);
  assert.equal(node.device.pin("D2").value, 1);
  node.device.setInput("D5", 1);
  assert.equal(await node.device.exec(`digitalRead(D5)`), 1);
  node.device.setInput("D5", 0);
  assert.equal(await node.device.exec(`digitalRead(D5)`), 0);
});

test("Storage and the RTC survive a deep sleep; RAM and timers do not; the wake-up cause is the timer", async (t) => {
  const node = await startNode(t, { bundle: null });
  const d = node.device;
  await d.exec(`E.setBootCode('var S = require("Storage"); var n = (S.readJSON("n.json", true) || 0) + 1;' +
    ' S.writeJSON("n.json", n); print("boot " + n + " cause " + require("ESP32").getWakeupCause() + " t " + getTime());')`);
  d.write("\x10load()\n");
  await d.waitForOutput(/^boot 1 cause 0 /);
  await d.exec(`setTime(1000); global.ramValue = 42; setInterval(function () { print("tick"); }, 100000)`);
  const t0 = d.scheduler.now();
  d.write('\x10require("ESP32").deepSleep(30e6); print("after deepSleep")\n');
  const line = await d.waitForOutput(/^boot 2 /);
  const [, cause, time] = /cause (\d+) t ([\d.]+)/.exec(line);
  assert.equal(cause, "4", "ESP_SLEEP_WAKEUP_TIMER");
  assert.ok(Number(time) >= 1030 && Number(time) < 1031, `the RTC ran on through the sleep: ${time}`);
  assert.ok(d.scheduler.now() - t0 >= 30000);
  assert.equal(await d.exec(`typeof ramValue`), "undefined");
  assert.ok(!d.lines.includes("after deepSleep"));
  assert.ok(!d.lines.includes("tick"));
  assert.equal(await d.exec(`require("Storage").readJSON("n.json")`), 2);
  assert.deepEqual(node.traces.filter((e) => e.type === "boot").map((e) => e.cause), ["poweron", "deepsleep"]);
});

test("Wifi: connect emits associated and connected; the access point's configured failures reach the callback", async (t) => {
  const node = await startNode(t, { bundle: null, wifi: { failConnects: 1, password: "password1" } });
  const d = node.device;
  await d.exec(`var W = require("Wifi"); W.on("connected", function (i) { print("connected " + i.ip); });
    W.on("disconnected", function (i) { print("disconnected " + i.reason); });
    W.connect("sim", { password: "password1" }, function (err) { print("cb1 " + err);
      W.connect("sim", { password: "wrong-one" }, function (err) { print("cb2 " + err);
        W.connect("sim", { password: "password1" }, function (err) { print("cb3 " + err + " " + W.getStatus().station); });
      });
    });`);
  await d.waitForOutput(/^cb3 /);
  // Each attempt's event and callback (the event is queued, so it runs after the callback that follows it).
  assert.deepEqual(d.lines.filter((l) => /^(cb|connected|disconnected)/.test(l)),
    ["cb1 no_ap_found", "disconnected no_ap_found", "cb2 auth_fail", "disconnected auth_fail", "cb3 null connected", "connected 127.0.0.1"]);
});

test("memory is the interpreter's own, in the ESP32's layout: 16,383 variables of 14 bytes", async (t) => {
  const node = await startNode(t, { bundle: null });
  const m = await node.device.exec(`process.memory()`);
  assert.equal(m.total, BOARD.jsVarBudget);
  assert.equal(m.blocksize, 14);
  assert.equal(m.free + m.usage, m.total);
  assert.ok(m.usage > 0 && m.usage < 1000, `an empty chip uses few variables: ${m.usage}`);
});
