// Store and forward and the firmware boot slots, on the simulator's Storage (a folder per device), through the
// ES5 library bundle of the flashed code.
import test from "node:test";
import assert from "node:assert/strict";
import { nodeLib as lib } from "../../host/lib.mjs";
import { StorageFolder, createStorageModule } from "../../host/espruino/storage.mjs";
import { installE } from "../../host/espruino/E.mjs";
import { tempDir } from "../temp-dir.mjs";

installE();

/** A device's Storage in a folder of test `t`'s; `open()` is the Storage module as after a boot. */
function freshStorage(t) {
  const dir = tempDir(t, "storage-");
  return { dir, open: () => createStorageModule(new StorageFolder(dir), globalThis) };
}

const reading = (i) => ({ ts: 1700000000000 + i * 1000, values: { temperature: i } });

test("queued readings survive a reboot and come back in order; acknowledged ones are gone", (t) => {
  const s = freshStorage(t);
  let q = new lib.TelemetryQueue(s.open(), 10);
  for (let i = 1; i <= 5; i++) q.push(reading(i));
  // A new queue over the same flash: what the node sees after a reboot or deep sleep.
  q = new lib.TelemetryQueue(s.open(), 10);
  assert.equal(q.length, 5);
  const first = q.peek(3);
  assert.deepEqual(first.readings.map((r) => r.values.temperature), [1, 2, 3]);
  q.ack(first.seqs[first.seqs.length - 1]);
  q.push(reading(6));
  q = new lib.TelemetryQueue(s.open(), 10);
  assert.deepEqual(q.peek(10).readings.map((r) => r.values.temperature), [4, 5, 6]);
  assert.deepEqual(s.open().list(/^tq/).sort(), ["tq00000004", "tq00000005", "tq00000006"]);
});

test("a full queue drops the oldest readings and counts them across reboots", (t) => {
  const s = freshStorage(t);
  let q = new lib.TelemetryQueue(s.open(), 3);
  for (let i = 1; i <= 5; i++) q.push(reading(i));
  assert.equal(q.dropped, 2);
  q = new lib.TelemetryQueue(s.open(), 3);
  assert.equal(q.dropped, 2);
  assert.deepEqual(q.peek(10).readings.map((r) => r.values.temperature), [3, 4, 5]);
  q.resetDropped();
  assert.equal(new lib.TelemetryQueue(s.open(), 3).dropped, 0);
});

test("a damaged queue file is skipped, not fatal", (t) => {
  const s = freshStorage(t);
  const st = s.open();
  const q = new lib.TelemetryQueue(st, 10);
  q.push(reading(1));
  q.push(reading(2));
  st.write("tq00000001", "{broken");
  const got = q.peek(10);
  assert.deepEqual(got.readings.map((r) => r.values.temperature), [2]);
  q.ack(got.seqs[got.seqs.length - 1]);
  assert.equal(q.length, 0);
});

test("boot slots: install puts a firmware on trial, confirmation keeps it", (t) => {
  const s = freshStorage(t);
  const st = s.open();
  assert.equal(lib.selectFirmware(st, 3), null, "no update: the factory firmware runs");
  const slot = lib.downloadSlot(st);
  assert.equal(slot, "fwa.js");
  st.write(slot, "print('v2')");
  lib.installFirmware(st, slot, "node", "2.0.0");
  assert.equal(lib.selectFirmware(st, 3), "fwa.js");
  assert.equal(lib.readBootState(st).trials, 1);
  assert.equal(lib.bootConfirm(st), true);
  assert.equal(lib.bootConfirm(st), false, "only the first confirmation reports UPDATED");
  for (let i = 0; i < 5; i++) assert.equal(lib.selectFirmware(st, 3), "fwa.js");
  assert.equal(lib.downloadSlot(st), "fwb.js", "the next update never overwrites the running firmware");
});

test("boot slots: a firmware that never confirms is rolled back after its trials, and the failure is kept", (t) => {
  const s = freshStorage(t);
  const st = s.open();
  st.write("fwa.js", "good");
  lib.installFirmware(st, "fwa.js", "node", "1.1.0");
  lib.bootConfirm(st);
  st.write("fwb.js", "bad");
  lib.installFirmware(st, "fwb.js", "node", "2.0.0");
  assert.equal(lib.selectFirmware(st, 2), "fwb.js");
  assert.equal(lib.selectFirmware(st, 2), "fwb.js");
  assert.equal(lib.selectFirmware(st, 2), "fwa.js", "third boot without confirmation: back to the previous firmware");
  const state = lib.readBootState(st);
  assert.equal(state.failed, "node 2.0.0: did not reach the server within 2 boots");
  assert.equal(state.pending, false);
  lib.clearBootFailure(st);
  assert.equal(lib.readBootState(st).failed, undefined);
});

test("boot slots: a missing or crashing slot falls back at once; a torn boot file means factory firmware", (t) => {
  const s = freshStorage(t);
  const st = s.open();
  lib.installFirmware(st, "fwa.js", "node", "2.0.0");
  assert.equal(lib.selectFirmware(st, 3), null, "fwa.js was never written: back to the factory firmware");
  assert.match(lib.readBootState(st).failed, /firmware file missing/);
  st.write("fwa.js", "x");
  lib.installFirmware(st, "fwa.js", "node", "2.0.1");
  lib.bootFailed(st, "SyntaxError at start");
  assert.equal(lib.selectFirmware(st, 3), null);
  assert.equal(lib.readBootState(st).failed, "node 2.0.1: SyntaxError at start");
  st.write("boot.json", "{\"active\":");
  assert.equal(lib.selectFirmware(st, 3), null);
});
