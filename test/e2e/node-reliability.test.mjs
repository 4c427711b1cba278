// No reading lost: the node's store and forward through outages, heavy loss with duplication and reordering,
// reboots and deep sleep, asserted on what the server ends up storing (ThingsBoard keeps one value per key and
// timestamp, so at-least-once delivery with the node's own timestamps gives an exact result).
import test from "node:test";
import assert from "node:assert/strict";
import { startTb, startSensorNode, until } from "../node-support.mjs";

const MIN = 60000;

/** Timestamps of the readings the node took, from its Storage queue and its console, and of those still queued. */
function nodeReadings(node) {
  const queued = node.device.storage.names().filter((n) => /^tq\d+$/.test(n))
    .map((n) => JSON.parse(node.device.storage.read(n).toString("latin1")).ts);
  return { queued };
}

async function checkExactlyStored(tb, id, node, expectedCount) {
  const stored = await tb.history(id, "temperature");
  const ts = stored.map((p) => p.ts);
  assert.equal(new Set(ts).size, ts.length, "no reading is stored twice");
  const { queued } = nodeReadings(node);
  const all = new Set([...ts, ...queued]);
  const taken = node.device.lines.filter((l) => l.startsWith("node: reading ")).length;
  assert.equal(taken, expectedCount, "readings taken");
  assert.equal(all.size, taken, `every reading taken is stored or still queued (${ts.length} stored, ${queued.length} queued)`);
  // Readings are one interval apart: none was lost in between.
  const sorted = [...all].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i] - sorted[i - 1] < 2 * MIN, `gap before ${new Date(sorted[i]).toISOString()}`);
  return { stored: ts.length, queued: queued.length };
}

test("a 6-minute server outage and a reboot in the middle lose nothing: queued readings are sent in order afterwards", async (t) => {
  const tb = await startTb(t);
  const id = await tb.createDevice("node-r1", "TOKEN_R1");
  const node = await startSensorNode(t, tb, {
    config: { token: "TOKEN_R1", intervalS: 60 },
    network: { outage: { startMs: 3 * MIN, lenMs: 6 * MIN } },
    untilMs: 14 * MIN + 45000,
  });
  node.scheduler.addTimer(() => node.device.reboot(), 6 * MIN + 30000, { kind: "internal" });
  await node.done;
  assert.match(node.device.lines.join("\n"), /CoAP POST \/api\/v1\/\{token\}\/telemetry timed out after 5 transmissions; readings kept/);
  assert.ok(node.device.lines.some((l) => /^node: reading .*, \d+ queued$/.test(l)), "readings queued during the outage");
  const { queued } = await checkExactlyStored(tb, id, node, 16);
  assert.equal(queued, 0, "the queue is empty once the server is back");
  // Sent in order: the server saw the queued readings in timestamp order.
  const stored = await tb.history(id, "temperature");
  assert.equal(stored.length, 16, "7 readings before the reboot, 9 after");
});

test("30% loss each way with duplication and reordering: every reading arrives exactly once", async (t) => {
  const tb = await startTb(t);
  const id = await tb.createDevice("node-r2", "TOKEN_R2");
  const node = await startSensorNode(t, tb, {
    config: { token: "TOKEN_R2", intervalS: 60 },
    network: { lossOut: 0.3, lossIn: 0.3, dup: 0.1, reorder: 0.1 },
    seed: 7,
    untilMs: 30 * MIN + 30000,
  });
  await node.done;
  const drops = node.traces.filter((e) => e.type === "link" && e.fate === "lost").length;
  assert.ok(drops >= 10, `the link dropped ${drops} datagrams`);
  const { stored, queued } = await checkExactlyStored(tb, id, node, 31);
  assert.ok(stored >= 28 && queued <= 3, `${stored} stored, ${queued} queued at the end`);
});

test("deep sleep between readings, through an outage: readings wait in flash across sleeps and all arrive", async (t) => {
  const tb = await startTb(t);
  const id = await tb.createDevice("node-r3", "TOKEN_R3");
  const node = await startSensorNode(t, tb, {
    config: { token: "TOKEN_R3", intervalS: 60, sleep: true },
    network: { outage: { startMs: 2 * MIN, lenMs: 4 * MIN } },
    untilMs: 12 * MIN,
  });
  await node.done;
  const sleeps = node.device.lines.filter((l) => /^node: sleeping \d+ s$/.test(l)).length;
  const wakes = node.device.lines.filter((l) => l.startsWith("node: reading ")).length;
  assert.ok(wakes >= 8, `${wakes} wakes in 12 minutes`);
  assert.ok(sleeps >= wakes - 1, `every wake but the last ends in deep sleep (${sleeps} sleeps, ${wakes} wakes)`);
  // Wakes during the outage are short (fewer retransmissions) and the sleep is shortened to keep the cadence.
  assert.ok(node.device.lines.some((l) => /^node: sleeping (3|4|5)\d s$/.test(l)), "a shortened sleep after a failed send");
  const { queued } = await checkExactlyStored(tb, id, node, node.device.lines.filter((l) => l.startsWith("node: reading ")).length);
  assert.ok(queued <= 1, `${queued} still queued when the simulation stopped`);
  assert.ok(node.device.lines.some((l) => /^node: telemetry [3-9] reading\(s\) -> 2\.01$/.test(l)), "the backlog went out in one request after the outage");
});

test("deep sleep keeps the schedule: readings one interval apart, Wi-Fi join included", async (t) => {
  const tb = await startTb(t);
  const id = await tb.createDevice("node-r4", "TOKEN_R4");
  const node = await startSensorNode(t, tb, { config: { token: "TOKEN_R4", intervalS: 60, sleep: true, wifi: { ssid: "sim" } }, untilMs: 6 * MIN });
  await node.done;
  const ts = (await tb.history(id, "temperature")).map((p) => p.ts);
  assert.ok(ts.length >= 5, `${ts.length} readings`);
  // Each wake joins Wi-Fi (1.2 s here) before it reads; the sleep is shortened by the whole time awake.
  for (let i = 1; i < ts.length; i++) assert.ok(Math.abs(ts[i] - ts[i - 1] - 60000) <= 100, `reading ${i} came ${ts[i] - ts[i - 1]} ms after the one before`);
});

test("uptime stays the time awake when SNTP sets the clock from 1970 to today", async (t) => {
  const tb = await startTb(t);
  const id = await tb.createDevice("node-r5", "TOKEN_R5");
  // rtcMs undefined: the RTC starts at 0, as on a fresh ESP32, until Wi-Fi's SNTP sets it.
  const node = await startSensorNode(t, tb, { config: { token: "TOKEN_R5", intervalS: 30, wifi: { ssid: "sim" } }, rtcMs: undefined, clock: "virtual", speed: 60 });
  await until(async () => (await tb.history(id, "temperature")).length >= 3, 20000, "three readings");
  const status = await tb.api("POST", `/api/plugins/rpc/twoway/${id}`, { method: "getStatus", params: {}, timeout: 20000 });
  const simulatedS = node.scheduler.now() / 1000;
  assert.ok(status.uptimeS >= 0 && status.uptimeS <= simulatedS + 1, `uptimeS ${status.uptimeS} after ${simulatedS} s awake`);
  assert.ok(status.uptimeS >= 30, `uptimeS ${status.uptimeS}: the readings' time counts`);
});
