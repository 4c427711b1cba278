// Firmware over the air, end to end: a new bundle uploaded to the server and assigned is downloaded in 1 KB chunks,
// verified, installed into a boot slot and booted; failures leave the running firmware in place.
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { startTb, startSensorNode, until, output, buildFirmwareVersion, assignFirmware } from "../node-support.mjs";
import { parseEspruinoJson } from "../../host/espruino/storage.mjs";
import { ROOT } from "../sim-support.mjs";

const TITLE = "espruino-coap-node";

async function fwStates(tb, id) {
  return (await tb.history(id, "fw_state")).map((p) => p.value);
}

test("an assigned firmware is downloaded, verified, installed and boots; a reboot mid-download starts it again cleanly", async (t) => {
  const tb = await startTb(t);
  const id = await tb.createDevice("node-ota", "TOKEN_OTA");
  const update = await buildFirmwareVersion("9.9.9");
  const node = await startSensorNode(t, tb, { config: { token: "TOKEN_OTA", intervalS: 600 }, clock: "real" });
  await node.device.waitForOutput(/^node: shared attributes \{\}/);
  let rebooted = false;
  node.device.on("output", (line) => {
    if (!rebooted && /^node: firmware download \d+%$/.test(line)) {
      rebooted = true;
      node.device.reboot();
    }
  });
  await assignFirmware(tb, id, TITLE, "9.9.9", update);
  await until(async () => (await fwStates(tb, id)).includes("UPDATED"), 60000, "fw_state UPDATED");
  assert.ok(rebooted, "the node was rebooted in the middle of the download");
  const states = await fwStates(tb, id);
  // The interrupted download left DOWNLOADING behind; the second one ran through every state in order.
  const last = states.slice(states.lastIndexOf("DOWNLOADING"));
  assert.deepEqual(last, ["DOWNLOADING", "DOWNLOADED", "VERIFIED", "UPDATING", "UPDATED"]);
  assert.equal(await tb.latest(id, "current_fw_version"), "9.9.9");
  await until(async () => (await tb.attributes(id, "CLIENT_SCOPE")).fw_version === "9.9.9", 10000, "the new firmware's attributes");
  const boot = parseEspruinoJson(node.device.storage.read("boot.json").toString("latin1"));
  assert.equal(boot.version, "9.9.9");
  assert.equal(boot.pending, false, "confirmed after it reached the server");
  assert.equal(node.device.storage.read(boot.active).toString("latin1"), update, "the slot holds the exact bundle");
  assert.match(output(node), /firmware 9\.9\.9 installed; rebooting into it/);
  // The new firmware keeps working: its readings arrive.
  const n = (await tb.history(id, "temperature")).length;
  await tb.api("POST", `/api/plugins/rpc/twoway/${id}`, { method: "getReading", params: {}, timeout: 10000 });
  await until(async () => (await tb.history(id, "temperature")).length > n, 10000, "a reading from the new firmware");
});

test("a corrupted package ends in FAILED with fw_error; the download is erased and the old firmware keeps running", async (t) => {
  const tb = await startTb(t);
  const id = await tb.createDevice("node-bad", "TOKEN_BAD");
  // A real bundle's size and chunks; it is never installed, so the running firmware's own bundle does.
  const update = fs.readFileSync(path.join(ROOT, "dist/sim/firmware.js"), "latin1");
  const node = await startSensorNode(t, tb, { config: { token: "TOKEN_BAD", intervalS: 600 }, clock: "real" });
  await node.device.waitForOutput(/^node: shared attributes \{\}/);
  await assignFirmware(tb, id, TITLE, "9.9.8", update, { corrupt: true });
  await until(async () => (await fwStates(tb, id)).includes("FAILED"), 60000, "fw_state FAILED");
  const errors = await tb.history(id, "fw_error");
  assert.match(errors[errors.length - 1].value, /^checksum mismatch: SHA256 of the download is [0-9a-f]{64}, expected [0-9a-f]{64}$/);
  assert.deepEqual(await fwStates(tb, id), ["QUEUED", "INITIATED", "DOWNLOADING", "DOWNLOADED", "FAILED"]);
  assert.equal(node.device.storage.read("boot.json"), undefined, "nothing was installed");
  assert.equal(node.device.storage.names().filter((n) => /^fw[ab]\.js$/.test(n)).length, 0, "the bad download was erased");
  assert.equal(await tb.latest(id, "current_fw_version"), "0.1.0");
  const status = await tb.api("POST", `/api/plugins/rpc/twoway/${id}`, { method: "getStatus", params: {}, timeout: 10000 });
  assert.equal(status.fw_version, "0.1.0", "the old firmware still answers");
});

test("a sleeping node finds an update when it wakes; an unsupported checksum algorithm is refused and it sleeps on", async (t) => {
  const tb = await startTb(t);
  const id = await tb.createDevice("node-md5", "TOKEN_MD5");
  const node = await startSensorNode(t, tb, { config: { token: "TOKEN_MD5", intervalS: 60, sleep: true } });
  await node.device.waitForOutput(/^node: sleeping \d+ s$/);
  await assignFirmware(tb, id, TITLE, "9.9.7", "print('never installed');", { algorithm: "MD5" });
  await until(async () => (await fwStates(tb, id)).includes("FAILED"), 60000, "fw_state FAILED");
  const errors = await tb.history(id, "fw_error");
  assert.equal(errors[errors.length - 1].value, "checksum algorithm MD5 is not supported by this node (use SHA256 or CRC32)");
  const from = node.device.lineCount;
  await node.device.waitForOutput(/^node: sleeping \d+ s$/, { fromLine: from });
  assert.equal(node.device.storage.read("boot.json"), undefined);
});

test("a firmware that crashes at start is rolled back at once and the rollback is reported", async (t) => {
  const tb = await startTb(t);
  const id = await tb.createDevice("node-crash", "TOKEN_CRASH");
  const broken = "throw new Error('boom at start');";
  const node = await startSensorNode(t, tb, { config: { token: "TOKEN_CRASH", intervalS: 600 }, clock: "real" });
  await node.device.waitForOutput(/^node: shared attributes \{\}/);
  await assignFirmware(tb, id, TITLE, "6.6.6", broken);
  await until(async () => (await fwStates(tb, id)).includes("FAILED"), 60000, "the rollback reported");
  assert.match(output(node), /firmware in fw[ab]\.js failed to start \(Error: boom at start\); restoring the previous one/);
  const errors = await tb.history(id, "fw_error");
  assert.match(errors[errors.length - 1].value, /^rolled back: espruino-coap-node 6\.6\.6: failed to start: Error: boom at start$/);
  assert.equal(await tb.latest(id, "current_fw_version"), "0.1.0", "the factory firmware runs again");
});
