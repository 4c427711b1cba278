// The sensor node end to end: the flashed bundle in the simulator against the local ThingsBoard-compatible server,
// over real UDP, asserted on what the server stored and what the node did.
import test from "node:test";
import assert from "node:assert/strict";
import { startTb, startSensorNode, until, output } from "../node-support.mjs";

for (const scheme of ["coap", "coaps"]) {
  test(`${scheme}: the node posts its attributes and telemetry with its own timestamps; the server stores each reading`, async (t) => {
    const tb = await startTb(t, { secure: scheme === "coaps" });
    const id = await tb.createDevice("node-a", "TOKEN_A");
    const node = await startSensorNode(t, tb, { config: { token: "TOKEN_A", intervalS: 60 } });
    await until(async () => (await tb.history(id, "temperature")).length >= 3, 20000, "three readings");
    const temps = await tb.history(id, "temperature");
    const printed = node.device.lines.filter((l) => l.startsWith("node: reading ")).map((l) => JSON.parse(l.slice(14).replace(/, \d+ queued$/, "")));
    // Every reading the node took is on the server, in order, with the value it read.
    assert.deepEqual(temps.slice(0, 3).map((p) => p.value), printed.slice(0, 3).map((r) => r.temperature));
    assert.equal(temps[1].ts - temps[0].ts, 60000, "client timestamps one interval apart");
    const battery = await tb.history(id, "battery");
    assert.equal(battery[0].ts, temps[0].ts);
    const client = await tb.attributes(id, "CLIENT_SCOPE");
    assert.equal(client.fw_title, "espruino-coap-node");
    assert.equal(client.board, "sim");
    // The interpreter's own count of free variables, out of the ESP32's 16,383.
    assert.ok(client.memFree > 8000 && client.memFree < 16383, `memFree ${client.memFree}`);
    assert.ok(!output(node).includes("TOKEN_A"), "the access token never appears in the node's output");
  });
}

for (const scheme of ["coap", "coaps"]) {
  test(`${scheme}: shared attributes reach the node (interval change persisted) and server-side RPCs are dispatched and answered`, async (t) => {
    const tb = await startTb(t, { secure: scheme === "coaps" });
    const id = await tb.createDevice("node-b", "TOKEN_B");
    // Real time: the server's pushes must arrive within the observation, not after virtual minutes of silence.
    const node = await startSensorNode(t, tb, { config: { token: "TOKEN_B", intervalS: 600 }, clock: "real" });
    await node.device.waitForOutput(/^node: shared attributes \{\}/);
    await tb.api("POST", `/api/plugins/telemetry/DEVICE/${id}/attributes/SHARED_SCOPE`, { intervalS: 30, colour: "red" });
    await node.device.waitForOutput(/^node: reading every 30 s$/);
    assert.match(output(node), /shared attribute update \{"intervalS":30,"colour":"red"\}/);
    assert.equal(JSON.parse(node.device.storage.read("node.cfg").toString()).intervalS, 30, "kept in node.cfg across reboots");
    await tb.api("DELETE", `/api/plugins/telemetry/DEVICE/${id}/SHARED_SCOPE?keys=colour`);
    await node.device.waitForOutput(/shared attribute update \{\} deleted colour/);

    // A failed call says what the node printed, and the datagrams it exchanged, up to then.
    const rpc = (body) => tb.api("POST", `/api/plugins/rpc/twoway/${id}`, body).catch((e) => {
      const trace = node.traces.filter((x) => x.type === "udp").slice(-12).map((x) => `${x.t} ${x.dir} ${x.bytes.length} B ${x.bytes.subarray(0, 4).toString("hex")}`);
      throw new Error(`${e.message}\nnode:\n${node.device.lines.slice(-15).join("\n")}\ndatagrams:\n${trace.join("\n")}`);
    });
    const status = await rpc({ method: "getStatus", params: {}, timeout: 10000 });
    assert.equal(status.fw_version, "0.1.0");
    assert.equal(status.board, "sim");
    assert.equal(status.intervalS, 30);
    assert.deepEqual(await rpc({ method: "setLed", params: { on: true }, timeout: 10000 }), { led: true });
    assert.equal(node.device.pin("D2").value, 1, "the status LED pin is driven");
    assert.deepEqual(await rpc({ method: "selfDestruct", params: {}, timeout: 10000 }),
      { error: "unknown method selfDestruct" });
    assert.deepEqual(await rpc({ method: "setInterval", params: { intervalS: 2 }, timeout: 10000 }),
      { error: "intervalS must be a number of seconds from 5 to 86400" });
    const reading = await rpc({ method: "getReading", params: {}, timeout: 10000 });
    assert.equal(typeof reading.temperature, "number");
    await until(async () => (await tb.history(id, "temperature")).some((p) => p.value === reading.temperature), 10000, "the RPC's reading stored");
  });
}

for (const scheme of ["coap", "coaps"]) {
  test(`${scheme}: a node with provisioning keys provisions itself, stores its token and drops the secret`, async (t) => {
    const tb = await startTb(t, { secure: scheme === "coaps" });
    await tb.api("POST", "/api/deviceProfile", { name: "field", provisionType: "ALLOW_CREATE_NEW_DEVICES",
      provisionDeviceKey: "fieldKey", provisionDeviceSecret: "fieldSecret" });
    const node = await startSensorNode(t, tb, { config: { provision: { key: "fieldKey", secret: "fieldSecret", deviceName: "node-p" } } });
    await node.device.waitForOutput(/^node: provisioned; access token stored$/);
    const cfg = JSON.parse(node.device.storage.read("node.cfg").toString());
    assert.equal(cfg.provision, undefined);
    const devices = await tb.api("GET", "/api/tenant/devices?deviceName=node-p");
    const id = devices.id.id;
    const creds = await tb.api("GET", `/api/device/${id}/credentials`);
    assert.equal(cfg.token, creds.credentialsId);
    await until(async () => (await tb.history(id, "temperature")).length >= 1, 10000, "telemetry of the provisioned device");
    assert.ok(!output(node).includes(cfg.token) && !output(node).includes("fieldSecret"));
  });
}

test("a wrong access token is reported once in words and retried slowly, not in a loop", async (t) => {
  const tb = await startTb(t);
  await tb.createDevice("node-c", "RIGHT_TOKEN");
  const node = await startSensorNode(t, tb, { config: { token: "WRONG_TOKEN" } });
  await node.device.waitForOutput(/ThingsBoard does not know this device's access token or certificate; retrying every 10 min/);
  const before = node.traces.filter((e) => e.type === "udp" && e.dir === "out").length;
  assert.ok(before >= 1, "the refused request itself was traced");
  // Half an hour of simulated time: three slow retries, not hundreds.
  await until(() => node.scheduler.now() > 30 * 60000, 20000, "30 simulated minutes");
  const sent = node.traces.filter((e) => e.type === "udp" && e.dir === "out").length - before;
  assert.ok(sent <= 4 * 3, `${sent} datagrams in 30 minutes`);
  assert.equal(node.device.lines.filter((l) => /does not know this device/.test(l)).length, 1);
  assert.ok(!output(node).includes("WRONG_TOKEN"));
});

test("after a NAT moves the node's source port, the node re-registers and server-side RPCs reach it again", async (t) => {
  const tb = await startTb(t);
  const id = await tb.createDevice("node-nat", "TOKEN_NAT");
  // 60 simulated seconds per real second: the node's 5-minute silence check passes in 5 s.
  const node = await startSensorNode(t, tb, { config: { token: "TOKEN_NAT", intervalS: 600 }, clock: "virtual", speed: 60,
    network: { natRebindAtMs: 60000 } });
  await until(async () => (await tb.api("GET", `/api/device/${id}/observations`)).rpc !== null, 20000, "the RPC observation");
  const before = (await tb.api("GET", `/api/device/${id}/observations`)).rpc.peer;
  await until(() => node.scheduler.now() > 60000, 20000, "the NAT rebinding");
  await node.device.waitForOutput(/^node: RPC subscription ended \(silence\); registering again$/);
  await until(async () => {
    const o = (await tb.api("GET", `/api/device/${id}/observations`)).rpc;
    return o !== null && o.peer !== before;
  }, 20000, "the observation from the new port");
  const status = await tb.api("POST", `/api/plugins/rpc/twoway/${id}`, { method: "getStatus", params: {}, timeout: 20000 });
  assert.equal(status.board, "sim");
});

for (const scheme of ["coap", "coaps"]) {
  test(`${scheme}: client-side RPC (answered, and ThingsBoard's silent 10 s case) and claiming, from code on the node`, async (t) => {
    const tb = await startTb(t, { secure: scheme === "coaps", clientRpcHandlers: { getCurrentTime: () => ({ time: 1700000000000 }) }, coapTimeoutMs: 10000 });
    const id = await tb.createDevice("node-crpc", "TOKEN_CRPC");
    const node = await startSensorNode(t, tb, { config: { token: "TOKEN_CRPC", intervalS: 600 }, clock: "virtual" });
    await node.device.waitForOutput(/^node: shared attributes \{\}/);
    await node.device.exec(`node.tb.rpcCall("getCurrentTime", {}, function (e, r) { print("rpc " + (e ? e.code + ": " + e.message : JSON.stringify(r))); })`);
    assert.equal(await node.device.waitForOutput(/^rpc /), 'rpc {"time":1700000000000}');
    await node.device.exec(`node.tb.rpcCall("nobodyAnswers", {}, function (e, r) { print("rpc2 " + (e ? e.code + ": " + e.message : JSON.stringify(r))); })`);
    assert.equal(await node.device.waitForOutput(/^rpc2 /, { realTimeoutMs: 30000 }),
      "rpc2 no-answer: client-side RPC nobodyAnswers got no answer (ThingsBoard gives up after 10 s)");
    await node.device.exec(`node.tb.claim("s3cret", 60000, function (e) { print("claim " + (e ? e.message : "ok")); })`);
    assert.equal(await node.device.waitForOutput(/^claim /), "claim ok");
    await assert.rejects(tb.api("POST", "/api/customer/device/node-crpc/claim", { secretKey: "wrong" }));
    const claimed = await tb.api("POST", "/api/customer/device/node-crpc/claim", { secretKey: "s3cret" });
    assert.equal(claimed.response, "SUCCESS", "the node's claim lets a user with the secret claim the device");
  });
}
