// What the server stores and serves: libcoap's coap-client (ThingsBoard's guide command), ThingsBoard's payload
// rules, the HTTP API, provisioning, claiming, OTA downloads, persistence across restarts and log hygiene.
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { startServer } from "../../host/server/index.mjs";
import { testServer, createDevice, rawClient, http, coapClient, tempDir, Type, Code, Opt, coap, optionUint, sameToken, describe, text, sleep } from "../server-support.mjs";

const latest = async (s, d) => (await http(s, "GET", `/api/plugins/telemetry/DEVICE/${d.id}/values/timeseries?useStrictDataTypes=true`)).body;

test("ThingsBoard's guide command: coap-client -m POST .../telemetry -t json -e {temperature:25}", async (t) => {
  const s = await testServer(t);
  const d = await createDevice(s);
  const r = await coapClient(["-m", "POST", `coap://127.0.0.1:${s.coapPort}/api/v1/${d.token}/telemetry`, "-t", "json", "-e", "{temperature:25}"]);
  assert.equal(r.code, 0, r.stderr);
  const body = await latest(s, d);
  assert.deepEqual(Object.keys(body), ["temperature"]);
  assert.equal(body.temperature[0].value, 25);
  const plain = await http(s, "GET", `/api/plugins/telemetry/DEVICE/${d.id}/values/timeseries?keys=temperature`);
  assert.equal(plain.body.temperature[0].value, "25", "values are strings unless useStrictDataTypes=true, as in ThingsBoard");
  const bad = await coapClient(["-m", "POST", `coap://127.0.0.1:${s.coapPort}/api/v1/wrongtoken/telemetry`, "-t", "json", "-e", "{temperature:25}"]);
  assert.match(bad.stderr, /4\.01/);
  await http(s, "POST", `/api/plugins/telemetry/DEVICE/${d.id}/attributes/SHARED_SCOPE`, { target: 21.5 });
  const get = await coapClient(["-m", "GET", `coap://127.0.0.1:${s.coapPort}/api/v1/${d.token}/attributes?sharedKeys=target`]);
  assert.deepEqual(JSON.parse(get.stdout.toString("utf8")), { shared: { target: 21.5 } });
});

test("payload rules: lenient JSON, ts/values, arrays, numeric strings, nulls skipped, big numbers", async (t) => {
  const s = await testServer(t);
  const d = await createDevice(s);
  const c = await rawClient(t, s);
  const post = async (payload, feature = "telemetry") => {
    c.request(Code.POST, `api/v1/${d.token}/${feature}`, { type: Type.NON, payload });
    return coap.codeString((await c.next()).code);
  };
  assert.equal(await post("{a:1, 'b':'x', c=>true; d:null, e:\"42\", f:\"4.50\", g:25.0, h:{x:[1,2]}, i:99999999999999999999, j:1e3}"), "2.01");
  const v = await latest(s, d);
  assert.deepEqual(Object.fromEntries(Object.entries(v).map(([k, [e]]) => [k, e.value])), {
    a: 1, b: "x", c: true, e: 42, f: 4.5, g: 25, h: { x: [1, 2] }, i: "99999999999999999999", j: 1000,
  });
  assert.equal(await post('[{"ts":1000,"values":{"k":1}},{"ts":2000,"values":{"k":2}},{"k2":"s"}]'), "2.01");
  const hist = await http(s, "GET", `/api/plugins/telemetry/DEVICE/${d.id}/values/timeseries?keys=k&startTs=0&endTs=3000&orderBy=ASC&useStrictDataTypes=true`);
  assert.deepEqual(hist.body.k, [{ ts: 1000, value: 1 }, { ts: 2000, value: 2 }]);
  assert.equal(await post('{"ts":5000,"other":1}'), "2.01", "ts alone is an ordinary key");
  assert.equal((await latest(s, d)).ts[0].value, 5000);
  assert.equal(await post('{"fw_state":"DOWNLOADING","n":"12abc"}', "attributes"), "2.01");
  const attrs = await http(s, "GET", `/api/plugins/telemetry/DEVICE/${d.id}/values/attributes/CLIENT_SCOPE`);
  assert.deepEqual(attrs.body.map((a) => [a.key, a.value]), [["fw_state", "DOWNLOADING"], ["n", "12abc"]]);
  // what the device reads back is typed the way Gson writes it
  await http(s, "POST", `/api/plugins/telemetry/DEVICE/${d.id}/attributes/SHARED_SCOPE`, '{"dbl":2.0,"lng":3,"obj":{"a":[true]}}');
  const req = c.request(Code.GET, `api/v1/${d.token}/attributes`, { query: ["sharedKeys=dbl,lng,obj", "clientKeys=fw_state"] });
  const res = await c.next();
  assert.ok(sameToken(res, req));
  c.ack(res);
  assert.equal(text(res.payload), '{"client":{"fw_state":"DOWNLOADING"},"shared":{"dbl":2.0,"lng":3,"obj":{"a":[true]}}}');
});

test("HTTP API: devices, credentials, attributes by scope, deletion, errors", async (t) => {
  const s = await testServer(t);
  const created = await http(s, "POST", "/api/device?accessToken=MY_TOKEN_1", { name: "boiler", type: "sensor", label: "cellar" });
  assert.equal(created.status, 200);
  assert.equal(created.body.credentials.credentialsId, "MY_TOKEN_1");
  assert.equal(created.body.type, "sensor");
  const id = created.body.id.id;
  assert.equal((await http(s, "POST", "/api/device", { name: "boiler" })).status, 400);
  assert.equal((await http(s, "POST", "/api/device?accessToken=MY_TOKEN_1", { name: "other" })).status, 400);
  assert.equal((await http(s, "GET", `/api/tenant/devices?deviceName=boiler`)).body.id.id, id);
  const page = await http(s, "GET", "/api/tenant/devices?pageSize=10&page=0");
  assert.equal(page.body.totalElements, 1);
  assert.equal((await http(s, "GET", `/api/device/${id}/credentials`)).body.credentialsId, "MY_TOKEN_1");
  assert.equal((await http(s, "POST", `/api/plugins/telemetry/DEVICE/${id}/attributes/SERVER_SCOPE`, { note: "x" })).status, 200);
  assert.equal((await http(s, "POST", `/api/plugins/telemetry/DEVICE/${id}/SHARED_SCOPE`, { sp: 20 })).status, 200);
  const all = await http(s, "GET", `/api/plugins/telemetry/DEVICE/${id}/values/attributes?keys=note,sp`);
  assert.deepEqual(all.body.map((a) => [a.key, a.value]).sort(), [["note", "x"], ["sp", 20]]);
  assert.equal((await http(s, "POST", `/api/plugins/telemetry/DEVICE/${id}/attributes/NOPE`, { a: 1 })).status, 400);
  assert.equal((await http(s, "POST", `/api/plugins/telemetry/DEVICE/${id}/attributes/SHARED_SCOPE`, "[1]")).status, 400);
  assert.equal((await http(s, "GET", `/api/device/00000000-0000-0000-0000-000000000000`)).status, 404);
  assert.equal((await http(s, "POST", "/api/device", "{not json")).status, 400);
  assert.equal((await http(s, "GET", "/api/nothing")).status, 404);
  const upd = await http(s, "POST", "/api/device/credentials", { deviceId: { id }, credentialsType: "ACCESS_TOKEN", credentialsId: "NEW_TOKEN" });
  assert.equal(upd.body.credentialsId, "NEW_TOKEN");
  const c = await rawClient(t, s);
  c.request(Code.POST, "api/v1/MY_TOKEN_1/telemetry", { type: Type.NON, payload: "{a:1}" });
  assert.equal((await c.next()).code, Code.UNAUTHORIZED, "the old token no longer works");
  assert.equal((await http(s, "DELETE", `/api/device/${id}`)).status, 200);
  assert.equal((await http(s, "GET", `/api/device/${id}`)).status, 404);
});

test("persistence: devices, telemetry, attributes and packages survive a restart on the same database file", async (t) => {
  const file = path.join(tempDir(t), "server.db");
  const opts = { coapPort: 0, httpPort: 0, logLevel: "silent", dbFile: file };
  let s = await startServer(opts);
  const d = await createDevice(s, "persistent");
  const c1 = await rawClient(t, s);
  c1.request(Code.POST, `api/v1/${d.token}/telemetry`, { type: Type.NON, payload: '{"ts":1234,"values":{"temp":21.5}}' });
  assert.equal((await c1.next()).code, Code.CREATED);
  await http(s, "POST", `/api/plugins/telemetry/DEVICE/${d.id}/attributes/SHARED_SCOPE`, { mode: "eco" });
  await s.close();
  s = await startServer(opts);
  t.after(() => s.close());
  const hist = await http(s, "GET", `/api/plugins/telemetry/DEVICE/${d.id}/values/timeseries?keys=temp&startTs=0&useStrictDataTypes=true`);
  assert.deepEqual(hist.body, { temp: [{ ts: 1234, value: 21.5 }] });
  const c2 = await rawClient(t, s);
  c2.request(Code.GET, `api/v1/${d.token}/attributes`, { type: Type.NON });
  assert.equal(text((await c2.next()).payload), '{"shared":{"mode":"eco"}}', "the token still works after the restart");
});

test("provisioning: JSON and protobuf, ALLOW_CREATE and CHECK_PRE_PROVISIONED, statuses", async (t) => {
  const s = await testServer(t);
  const c = await rawClient(t, s);
  await http(s, "POST", "/api/deviceProfile", { name: "p1", provisionType: "ALLOW_CREATE_NEW_DEVICES", provisionDeviceKey: "K1", provisionDeviceSecret: "S1" });
  await http(s, "POST", "/api/deviceProfile", { name: "p2", provisionType: "CHECK_PRE_PROVISIONED_DEVICES", provisionDeviceKey: "K2", provisionDeviceSecret: "S2" });
  const prov = async (payload) => {
    c.request(Code.POST, "api/v1/provision", { type: Type.NON, payload });
    const m = await c.next();
    return { code: coap.codeString(m.code), payload: m.payload, body: (() => { try { return JSON.parse(text(m.payload)); } catch { return null; } })() };
  };
  const ok = await prov('{"deviceName":"node-7","provisionDeviceKey":"K1","provisionDeviceSecret":"S1","token":"chosen-token"}');
  assert.deepEqual([ok.code, ok.body], ["2.01", { credentialsValue: "chosen-token", credentialsType: "ACCESS_TOKEN", status: "SUCCESS" }]);
  c.request(Code.POST, "api/v1/chosen-token/telemetry", { type: Type.NON, payload: "{p:1}" });
  assert.equal((await c.next()).code, Code.CREATED);
  assert.deepEqual((await prov('{"deviceName":"node-7","provisionDeviceKey":"K1","provisionDeviceSecret":"S1"}')).body, { errorMsg: "Failed to provision device!", status: "FAILURE" });
  assert.deepEqual((await prov('{"deviceName":"x","provisionDeviceKey":"K1","provisionDeviceSecret":"bad"}')).body, { errorMsg: "Provision data was not found!", status: "NOT_FOUND" });
  assert.equal((await prov('{"deviceName":"x"}')).code, "4.00");
  // pre-provisioned: only an existing device of that profile, once
  const profiles = (await http(s, "GET", "/api/deviceProfiles")).body.data;
  const p2 = profiles.find((p) => p.name === "p2");
  const pre = await http(s, "POST", "/api/device", { name: "pre-1", deviceProfileId: p2.id });
  const r1 = await prov('{"deviceName":"pre-1","provisionDeviceKey":"K2","provisionDeviceSecret":"S2"}');
  assert.equal(r1.body.credentialsValue, pre.body.credentials.credentialsId);
  assert.equal((await prov('{"deviceName":"pre-1","provisionDeviceKey":"K2","provisionDeviceSecret":"S2"}')).body.status, "FAILURE");
  // protobuf ProvisionDeviceRequestMsg {deviceName=1, provisionDeviceCredentialsMsg=3 {key=1, secret=2}}
  const str = (n, s) => [(n << 3) | 2, Buffer.byteLength(s), ...Buffer.from(s)];
  const creds = [...str(1, "K1"), ...str(2, "S1")];
  const pb = Uint8Array.from([...str(1, "pb-node"), (3 << 3) | 2, creds.length, ...creds]);
  const r = await prov(pb);
  assert.equal(r.code, "2.01");
  assert.equal(r.payload[0], 0x08); // status = 1 (SUCCESS)
  assert.equal(r.payload[1], 1);
  assert.equal((await http(s, "GET", "/api/tenant/devices?deviceName=pb-node")).status, 200);
});

test("claiming: the device posts a secret, a user claims by name within the duration", async (t) => {
  const s = await testServer(t);
  const d = await createDevice(s, "claimable");
  const c = await rawClient(t, s);
  c.request(Code.POST, `api/v1/${d.token}/claim`, { type: Type.NON, payload: '{"secretKey":"abc","durationMs":60000}' });
  assert.equal((await c.next()).code, Code.CREATED);
  assert.equal((await http(s, "POST", "/api/customer/device/claimable/claim", { secretKey: "wrong" })).status, 400);
  const ok = await http(s, "POST", "/api/customer/device/claimable/claim", { secretKey: "abc" });
  assert.deepEqual([ok.status, ok.body], [200, { response: "SUCCESS" }]);
  assert.equal((await http(s, "POST", "/api/customer/device/claimable/claim", { secretKey: "abc" })).status, 400);
});

test("OTA: upload, assign (fw_* shared attributes), /fw downloads with title/version/size/chunk and Block2", async (t) => {
  const s = await testServer(t);
  const d = await createDevice(s);
  const c = await rawClient(t, s);
  const image = Buffer.alloc(2600);
  for (let i = 0; i < image.length; i++) image[i] = (i * 7) & 255;
  // nothing assigned yet -> 4.04 (after the immediate empty ACK)
  const r0 = c.request(Code.GET, `fw/${d.token}`);
  const ack0 = await c.next();
  assert.deepEqual([ack0.type, ack0.code, ack0.messageId], [Type.ACK, 0, r0.messageId]);
  const nf = await c.next();
  assert.equal(nf.code, Code.NOT_FOUND);
  c.ack(nf);
  const pkg = (await http(s, "POST", "/api/otaPackage", { title: "sensor-fw", version: "1.2.0", type: "FIRMWARE" })).body;
  const form = new FormData();
  form.append("file", new Blob([image]), "fw.bin");
  const up = await fetch(`${s.httpUrl}/api/otaPackage/${pkg.id.id}?checksumAlgorithm=CRC32`, { method: "POST", body: form });
  const info = await up.json();
  assert.equal(info.dataSize, 2600);
  const assigned = await http(s, "POST", "/api/device", { id: { id: d.id }, firmwareId: { id: pkg.id.id } });
  assert.equal(assigned.status, 200);
  // A node's fw_state posted within the same millisecond as the assignment keeps its own place in the history.
  s.core.postTelemetry({ id: d.id }, [{ ts: s.core.serverTs(d.id), entries: [{ key: "fw_state", type: "STRING", value: "DOWNLOADING" }] }]);
  const states = (await http(s, "GET", `/api/plugins/telemetry/DEVICE/${d.id}/values/timeseries?keys=fw_state&startTs=0&endTs=${Date.now() + 60000}&limit=10`)).body.fw_state;
  assert.deepEqual(states.map((p) => p.value).reverse(), ["QUEUED", "INITIATED", "DOWNLOADING"]);
  assert.ok(states[0].ts > states[1].ts && states[1].ts > states[2].ts, "three distinct timestamps, in order");
  const shared = (await http(s, "GET", `/api/plugins/telemetry/DEVICE/${d.id}/values/attributes/SHARED_SCOPE`)).body;
  const attr = Object.fromEntries(shared.map((a) => [a.key, a.value]));
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE((await import("node:zlib")).crc32(image));
  assert.deepEqual(attr, { fw_checksum: crc.toString("hex"), fw_checksum_algorithm: "CRC32", fw_size: 2600, fw_title: "sensor-fw", fw_version: "1.2.0" });
  const get = async (query) => {
    const req = c.request(Code.GET, `fw/${d.token}`, { query });
    const ack = await c.next();
    assert.deepEqual([ack.type, ack.code, ack.messageId], [Type.ACK, 0, req.messageId], "immediate empty ACK");
    return req;
  };
  await get(["title=sensor-fw", "version=1.2.0", "size=1000", "chunk=2"]);
  const last = await c.next();
  assert.equal(last.type, Type.CON);
  assert.equal(last.code, Code.CONTENT);
  assert.equal(coap.getOption(last, Opt.CONTENT_FORMAT), undefined);
  assert.deepEqual(Buffer.from(last.payload), image.subarray(2000));
  c.ack(last);
  await get(["title=sensor-fw", "version=1.2.0", "size=1000", "chunk=3"]);
  await c.nothing(400); // past the end: no response at all
  await get(["title=other", "version=1.2.0"]);
  const wrong = await c.next();
  assert.equal(wrong.code, Code.BAD_REQUEST);
  c.ack(wrong);
  await get(["size=abc"]);
  const err = await c.next();
  assert.equal(err.code, Code.INTERNAL_SERVER_ERROR);
  c.ack(err);
  const bad = c.request(Code.GET, "fw/NOSUCH");
  await c.next();
  assert.equal((await c.next()).code, Code.UNAUTHORIZED);
  assert.ok(bad);
  // the whole image in 1000-byte chunks through libcoap's coap-client, as ThingsBoard's sample client fetches it
  const parts = [];
  const dir = tempDir(t);
  for (let chunk = 0; chunk < 3; chunk++) {
    const out = path.join(dir, `chunk${chunk}`);
    const r = await coapClient(["-m", "GET", "-o", out, `coap://127.0.0.1:${s.coapPort}/fw/${d.token}?title=sensor-fw&version=1.2.0&size=1000&chunk=${chunk}`]);
    assert.equal(r.code, 0, r.stderr);
    parts.push(fs.readFileSync(out));
  }
  assert.deepEqual(Buffer.concat(parts), image);
  // without size, the body goes out block-wise (1024-byte Block2) and the rest is served to follow-up GETs
  await get(["title=sensor-fw"]);
  const b0 = await c.next();
  c.ack(b0);
  assert.deepEqual(coap.readBlock(coap.getOption(b0, Opt.BLOCK2)), { num: 0, more: true, szx: 6 });
  const blocks = [Buffer.from(b0.payload)];
  for (let num = 1; num < 3; num++) {
    const req = c.request(Code.GET, `fw/${d.token}`, { query: ["title=sensor-fw"], extra: [{ number: Opt.BLOCK2, value: coap.blockValue({ num, more: false, szx: 6 }) }] });
    const m = await c.next();
    assert.deepEqual([m.type, m.messageId], [Type.ACK, req.messageId], "stored blocks are piggybacked");
    assert.equal(coap.readBlock(coap.getOption(m, Opt.BLOCK2)).more, num < 2);
    blocks.push(Buffer.from(m.payload));
  }
  assert.deepEqual(Buffer.concat(blocks), image);
  // unassigning removes the attributes
  await http(s, "POST", "/api/device", { id: { id: d.id }, firmwareId: null });
  assert.deepEqual((await http(s, "GET", `/api/plugins/telemetry/DEVICE/${d.id}/values/attributes/SHARED_SCOPE`)).body, []);
});

test("logs never contain tokens or provisioning secrets in full", async (t) => {
  const s = await testServer(t);
  const d = await createDevice(s);
  const c = await rawClient(t, s);
  await http(s, "POST", "/api/deviceProfile", { name: "p", provisionType: "ALLOW_CREATE_NEW_DEVICES", provisionDeviceKey: "PROVKEY123", provisionDeviceSecret: "PROVSECRET456" });
  c.request(Code.POST, `api/v1/${d.token}/telemetry`, { type: Type.NON, payload: "{bad" });
  await c.next();
  c.request(Code.POST, "api/v1/UNKNOWNTOKEN99/telemetry", { type: Type.NON, payload: "{a:1}" });
  await c.next();
  c.request(Code.GET, `fw/${d.token}`, { type: Type.NON });
  await c.next();
  c.request(Code.POST, "api/v1/provision", { type: Type.NON, payload: '{"deviceName":"n","provisionDeviceKey":"PROVKEY123","provisionDeviceSecret":"PROVSECRET456"}' });
  await c.next();
  const all = s.logs.join("\n");
  assert.ok(s.logs.length > 5);
  for (const secret of [d.token, "UNKNOWNTOKEN99", "PROVKEY123", "PROVSECRET456"]) assert.ok(!all.includes(secret), `${secret} leaked into the log`);
  assert.match(all, /unknown access token UN…\(14\)/);
});
