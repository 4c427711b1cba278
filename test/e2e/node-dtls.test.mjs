// The sensor node over coaps:// against the local server's DTLS endpoint: the server certificate is verified
// against the CA in the node's Storage, a wrong CA is refused in words, and a node waking from deep sleep resumes
// its DTLS session instead of a full handshake.
import test from "node:test";
import assert from "node:assert/strict";
import { createCa } from "../../host/dtls/pki.mjs";
import { startTb, startSensorNode, until, output, buildFirmwareVersion } from "../node-support.mjs";
import { tempDir } from "../temp-dir.mjs";

/** A CA the server's certificate does not come from. */
function otherCa(t) {
  return createCa(tempDir(t, "node-dtls-"), "other-ca");
}

test("over coaps:// the node verifies the server against its CA and its telemetry is stored", async (t) => {
  const tb = await startTb(t, { secure: true });
  const id = await tb.createDevice("node-s1", "TOKEN_S1");
  const node = await startSensorNode(t, tb, { config: { token: "TOKEN_S1" } });
  await until(async () => (await tb.history(id, "temperature")).length >= 2, 20000, "telemetry over DTLS");
  assert.match(output(node), /node: DTLS handshake done with 127\.0\.0\.1/);
  assert.ok(node.traces.filter((e) => e.type === "udp" && e.dir === "out").every((e) => e.bytes[0] >= 20 && e.bytes[0] <= 25),
    "only DTLS records left the node");
});

test("a server certificate from another CA is refused in words, once, and no telemetry is sent", async (t) => {
  const tb = await startTb(t, { secure: true });
  const id = await tb.createDevice("node-s2", "TOKEN_S2");
  const node = await startSensorNode(t, tb, { config: { token: "TOKEN_S2" }, caPem: otherCa(t).pem });
  await node.device.waitForOutput(/server certificate is not signed by a trusted CA \(Unknown CA\)/);
  await until(() => node.scheduler.now() > 20 * 60000, 20000, "20 simulated minutes").catch((e) => {
    throw new Error(e.message + " at " + node.scheduler.now() + " ms:\n" + output(node).slice(-3000));
  });
  assert.deepEqual(await tb.history(id, "temperature"), []);
  const reports = node.device.lines.filter((l) => /not signed by a trusted CA/.test(l)).length;
  assert.ok(reports <= 3, `reported ${reports} times in 20 minutes`);
  assert.ok(node.traces.filter((e) => e.type === "udp" && e.dir === "out" && e.bytes[0] === 23).length === 0, "no application data left the node");
});

test("waking from deep sleep, the node resumes its DTLS session instead of a full handshake", async (t) => {
  const tb = await startTb(t, { secure: true });
  const id = await tb.createDevice("node-s3", "TOKEN_S3");
  const node = await startSensorNode(t, tb, { config: { token: "TOKEN_S3", sleep: true, intervalS: 60 }, untilMs: 4 * 60000 });
  await node.done;
  const text = output(node);
  assert.equal((text.match(/DTLS handshake done/g) || []).length, 1, text);
  assert.ok((text.match(/DTLS session resumed/g) || []).length >= 3, text);
  assert.ok((await tb.history(id, "temperature")).length >= 4);
});

test("on a board whose Espruino has no DTLS module, a coaps:// configuration is explained instead of crashing", async (t) => {
  const tb = await startTb(t, { secure: true });
  const { loadBoard } = await import("../../boards/board-file.mjs");
  const modules = loadBoard("boards/sim.json").modules.filter((m) => m !== "DTLS");
  const bundle = await buildFirmwareVersion("0.1.0", { board: { modules } });
  const node = await startSensorNode(t, tb, { config: { token: "T" }, bundle });
  assert.equal(await node.device.waitForOutput(/no DTLS module|Uncaught/),
    "node: this board has no DTLS module: coaps:// cannot be used on sim (flash an Espruino build with DTLS, or use coap://)");
});
