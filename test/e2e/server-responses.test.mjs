// ThingsBoard's response-code matrix (notes 4.12) and message types (notes 2.2), seen by a raw UDP client.
import test from "node:test";
import assert from "node:assert/strict";
import { testServer, createDevice, rawClient, http, Type, Code, Opt, coap, optionUint, sameToken, describe, text, sleep } from "../server-support.mjs";
import { createServerEndpoint } from "../../host/server/endpoint.mjs";
import { createLogger } from "../../host/server/log.mjs";

/** CON request answered by a separate CON response (new MID, same token) and no ACK; we ACK it. */
async function separateCon(c, req, code) {
  const m = await c.next();
  assert.equal(m.type, Type.CON, describe(m));
  assert.equal(m.code, code, describe(m));
  assert.notEqual(m.messageId, req.messageId);
  assert.ok(sameToken(m, req));
  c.ack(m);
  return m;
}

/** CON request answered by a piggybacked ACK (same MID). */
async function piggybacked(c, req, code) {
  const m = await c.next();
  assert.equal(m.type, Type.ACK, describe(m));
  assert.equal(m.code, code, describe(m));
  assert.equal(m.messageId, req.messageId);
  assert.ok(sameToken(m, req));
  return m;
}

test("explicit-type paths answer a CON request with a separate CON and never ACK the request", async (t) => {
  const s = await testServer(t);
  const d = await createDevice(s);
  const c = await rawClient(t, s);
  for (const [code, path, payload] of [
    [Code.POST, `api/v1/${d.token}/telemetry`, '{"t":1}'],
    [Code.POST, `api/v1/${d.token}/attributes`, '{"a":1}'],
    [Code.POST, `api/v1/${d.token}/claim`, ""],
    [Code.POST, `api/v1/${d.token}/rpc/7`, '{"result":"ok"}'],
  ]) {
    const req = c.request(code, path, { payload });
    const res = await separateCon(c, req, Code.CREATED);
    assert.equal(res.payload.length, 0);
    assert.equal(coap.getOption(res, Opt.CONTENT_FORMAT), undefined, "bare codes carry no Content-Format");
  }
  await c.nothing(400); // no ACK after the piggyback timeout either
  const get = c.request(Code.GET, `api/v1/${d.token}/attributes`);
  await separateCon(c, get, Code.CONTENT);
  const none = c.request(Code.GET, `api/v1/${d.token}/attributes`, { query: ["sharedKeys=missing"] });
  await separateCon(c, none, Code.NOT_FOUND);
});

test("NON requests get NON responses with new message ids", async (t) => {
  const s = await testServer(t);
  const d = await createDevice(s);
  const c = await rawClient(t, s);
  const req = c.request(Code.POST, `api/v1/${d.token}/telemetry`, { type: Type.NON, payload: "{a:1}" });
  const m = await c.next();
  assert.equal(m.type, Type.NON);
  assert.equal(m.code, Code.CREATED);
  assert.ok(sameToken(m, req));
  const bad = c.request(Code.POST, `api/v1/${d.token}/telemetry`, { type: Type.NON, payload: "{" });
  const e = await c.next();
  assert.equal(e.type, Type.NON);
  assert.equal(e.code, Code.BAD_REQUEST);
  assert.ok(sameToken(e, bad));
});

test("error codes of the matrix are piggybacked", async (t) => {
  const s = await testServer(t, { deviceRateLimit: "" });
  const d = await createDevice(s);
  const c = await rawClient(t, s);
  const T = d.token;
  const rows = [
    ["no feature", Code.GET, "api/v1", "", Code.BAD_REQUEST],
    ["unknown feature", Code.POST, `api/v1/${T}/firmware`, "{}", Code.BAD_REQUEST],
    ["token only (n=3)", Code.GET, `api/v1/${T}`, "", Code.BAD_REQUEST],
    ["GET telemetry", Code.GET, `api/v1/${T}/telemetry`, "", Code.BAD_REQUEST],
    ["GET rpc without Observe", Code.GET, `api/v1/${T}/rpc`, "", Code.BAD_REQUEST],
    ["GET claim without Observe", Code.GET, `api/v1/${T}/claim`, "", Code.BAD_REQUEST],
    ["GET provision without Observe", Code.GET, "api/v1/provision", "", Code.BAD_REQUEST],
    ["token missing", Code.POST, "api/v1/telemetry", "{a:1}", Code.UNAUTHORIZED],
    ["token unknown", Code.POST, "api/v1/NOSUCHTOKEN/telemetry", "{a:1}", Code.UNAUTHORIZED],
    ["empty body", Code.POST, `api/v1/${T}/telemetry`, "", Code.BAD_REQUEST],
    ["malformed JSON", Code.POST, `api/v1/${T}/telemetry`, '{"a":', Code.BAD_REQUEST],
    ["trailing garbage", Code.POST, `api/v1/${T}/telemetry`, "{a:1} x", Code.BAD_REQUEST],
    ["telemetry primitive", Code.POST, `api/v1/${T}/telemetry`, "42", Code.BAD_REQUEST],
    ["telemetry array of primitives", Code.POST, `api/v1/${T}/telemetry`, "[1,2]", Code.BAD_REQUEST],
    ["attributes array", Code.POST, `api/v1/${T}/attributes`, '[{"a":1}]', Code.BAD_REQUEST],
    ["values not an object", Code.POST, `api/v1/${T}/telemetry`, '{"ts":1,"values":5}', Code.BAD_REQUEST],
    ["non-numeric ts", Code.POST, `api/v1/${T}/telemetry`, '{"ts":"abc","values":{"a":1}}', Code.INTERNAL_SERVER_ERROR],
    ["RPC reply not an object", Code.POST, `api/v1/${T}/rpc/0`, "[1]", Code.INTERNAL_SERVER_ERROR],
    ["RPC reply broken", Code.POST, `api/v1/${T}/rpc/0`, "{", Code.INTERNAL_SERVER_ERROR],
    ["client RPC without method", Code.POST, `api/v1/${T}/rpc`, '{"params":{}}', Code.INTERNAL_SERVER_ERROR],
    ["PUT", Code.PUT, `api/v1/${T}/telemetry`, "{a:1}", Code.METHOD_NOT_ALLOWED],
    ["DELETE", Code.DELETE, `api/v1/${T}/attributes`, "", Code.METHOD_NOT_ALLOWED],
    ["/api", Code.GET, "api", "", Code.METHOD_NOT_ALLOWED],
    ["/api/v2", Code.GET, "api/v2/x", "", Code.NOT_FOUND],
    ["/foo", Code.GET, "foo", "", Code.NOT_FOUND],
    ["POST /fw", Code.POST, `fw/${T}`, "x", Code.METHOD_NOT_ALLOWED],
    ["provision rejected", Code.POST, "api/v1/provision", '{"provisionDeviceKey":"k","provisionDeviceSecret":"s"}', Code.BAD_REQUEST],
  ];
  for (const [name, code, path, payload, expected] of rows) {
    const req = c.request(code, path, { payload });
    const m = await c.next();
    assert.equal(m.type, Type.ACK, `${name}: ${describe(m)}`);
    assert.equal(m.messageId, req.messageId, name);
    assert.equal(coap.codeString(m.code), coap.codeString(expected), name);
  }
  const stored = await http(s, "GET", `/api/plugins/telemetry/DEVICE/${d.id}/values/timeseries`);
  assert.deepEqual(stored.body, {}, "nothing was stored by rejected requests");
});

test("rate limit exceeded -> 5.00", async (t) => {
  const s = await testServer(t, { deviceRateLimit: "3:60" });
  const d = await createDevice(s);
  const c = await rawClient(t, s);
  const codes = [];
  for (let i = 0; i < 5; i++) {
    c.request(Code.POST, `api/v1/${d.token}/telemetry`, { type: Type.NON, payload: `{n:${i}}` });
    codes.push(coap.codeString((await c.next()).code));
  }
  assert.deepEqual(codes, ["2.01", "2.01", "2.01", "5.00", "5.00"]);
});

test("a slow answer gets the empty ACK at the piggyback timeout, then the separate response", async (t) => {
  const s = await testServer(t, { piggybackTimeoutMs: 100, coapTimeoutMs: 2000, clientRpcHandlers: { slow: () => sleep(400).then(() => ({ ok: true })) } });
  const d = await createDevice(s);
  const c = await rawClient(t, s);
  const req = c.request(Code.POST, `api/v1/${d.token}/rpc`, { payload: '{"method":"slow","params":{}}' });
  const ack = await c.next();
  assert.equal(ack.type, Type.ACK);
  assert.equal(ack.code, Code.EMPTY);
  assert.equal(ack.messageId, req.messageId);
  const res = await separateCon(c, req, Code.CONTENT);
  assert.ok(res.at - ack.at >= 200, "the response came after the empty ACK");
  assert.deepEqual(JSON.parse(text(res.payload)), { ok: true });
  assert.equal(optionUint(res, Opt.CONTENT_FORMAT), 50);
});

test("client-side RPC: answered 2.05 with Content-Format echo; no answer within COAP_TIMEOUT means nothing at all", async (t) => {
  const s = await testServer(t, { piggybackTimeoutMs: 100, coapTimeoutMs: 300, clientRpcHandlers: { getTime: (params) => ({ time: 42, echo: params }), throws: () => { throw new Error("no"); }, unserializable: () => 1n, never: () => new Promise(() => {}), late: () => sleep(500).then(() => 1) } });
  const d = await createDevice(s);
  const c = await rawClient(t, s);
  const req = c.request(Code.POST, `api/v1/${d.token}/rpc`, { payload: "{method:getTime,params:{a:1}}", contentFormat: 0 });
  const res = await separateCon(c, req, Code.CONTENT);
  assert.deepEqual(JSON.parse(text(res.payload)), { time: 42, echo: { a: 1 } });
  assert.equal(optionUint(res, Opt.CONTENT_FORMAT), 0, "the request's Content-Format is echoed");
  // a handler that fails answers {"error": ...}, as ThingsBoard's ToServerRpcResponseMsg error does
  for (const method of ["throws", "unserializable"]) {
    const r = c.request(Code.POST, `api/v1/${d.token}/rpc`, { payload: JSON.stringify({ method }) });
    const e = await separateCon(c, r, Code.CONTENT);
    assert.equal(typeof JSON.parse(text(e.payload)).error, "string", method);
  }
  // "rpc/abc": the id does not parse, so it is a client-side RPC too
  const alt = c.request(Code.POST, `api/v1/${d.token}/rpc/abc`, { payload: '{"method":"getTime"}' });
  await separateCon(c, alt, Code.CONTENT);
  for (const method of ["never", "late", "unknownMethod"]) {
    const r = c.request(Code.POST, `api/v1/${d.token}/rpc`, { payload: JSON.stringify({ method }) });
    const ack = await c.next();
    assert.equal(ack.type, Type.ACK, method);
    assert.equal(ack.code, Code.EMPTY, method);
    assert.equal(ack.messageId, r.messageId);
    await c.nothing(700);
  }
});

test("provisioning and attribute-observe initial responses are piggybacked, RPC-observe 2.03 is a separate CON", async (t) => {
  const s = await testServer(t);
  const d = await createDevice(s);
  const c = await rawClient(t, s);
  const p = await http(s, "POST", "/api/deviceProfile", { name: "prov", provisionType: "ALLOW_CREATE_NEW_DEVICES", provisionDeviceKey: "key1", provisionDeviceSecret: "secret1" });
  assert.equal(p.status, 200);
  const req = c.request(Code.POST, "api/v1/provision", { payload: '{"deviceName":"new1","provisionDeviceKey":"key1","provisionDeviceSecret":"secret1"}' });
  const m = await piggybacked(c, req, Code.CREATED);
  assert.equal(coap.getOption(m, Opt.CONTENT_FORMAT), undefined, "no Content-Format on provisioning");
  const body = JSON.parse(text(m.payload));
  assert.equal(body.status, "SUCCESS");
  assert.equal(body.credentialsType, "ACCESS_TOKEN");
  assert.equal(typeof body.credentialsValue, "string");
  const obs = c.request(Code.GET, `api/v1/${d.token}/attributes`, { observe: 0 });
  const first = await piggybacked(c, obs, Code.CONTENT);
  assert.equal(optionUint(first, Opt.OBSERVE), 0);
  assert.equal(text(first.payload), "{}");
  const rpc = c.request(Code.GET, `api/v1/${d.token}/rpc`, { observe: 0 });
  const valid = await separateCon(c, rpc, Code.VALID);
  assert.equal(optionUint(valid, Opt.OBSERVE), 0);
  assert.equal(valid.payload.length, 0);
});

test("message layer: ping -> RST, malformed CON -> RST, duplicates are answered again but processed once", async (t) => {
  const s = await testServer(t);
  const d = await createDevice(s);
  const c = await rawClient(t, s);
  const ping = c.send({ type: Type.CON, code: 0 });
  const rst = await c.next();
  assert.equal(rst.type, Type.RST);
  assert.equal(rst.messageId, ping.messageId);
  c.sendRaw(Uint8Array.of(0x40, 0x02, 0x12, 0x34, 0xff)); // payload marker without payload
  const r2 = await c.next();
  assert.equal(r2.type, Type.RST);
  assert.equal(r2.messageId, 0x1234);
  c.sendRaw(Uint8Array.of(0x50, 0x02, 0x12, 0x35, 0xff)); // the same as NON: ignored
  c.sendRaw(Uint8Array.of(0x80, 0x01, 0, 1)); // version 2: ignored
  await c.nothing(300);
  const req = c.request(Code.POST, `api/v1/${d.token}/telemetry`, { payload: '{"dup":1}' });
  const first = await c.next();
  c.sendRaw(coap.encodeMessage(req)); // retransmission of the same request
  const again = await c.next();
  assert.equal(again.messageId, first.messageId, "the separate response is retransmitted");
  c.ack(first);
  const hist = await http(s, "GET", `/api/plugins/telemetry/DEVICE/${d.id}/values/timeseries?keys=dup&startTs=0&useStrictDataTypes=true`);
  assert.equal(hist.body.dup.length, 1);
  // an unknown critical option -> 4.02
  const bad = c.request(Code.GET, `api/v1/${d.token}/attributes`, { extra: [{ number: 2049, value: Uint8Array.of(1) }] });
  await piggybacked(c, bad, Code.BAD_OPTION);
});

test("path rules: single Uri-Path option re-split, extra segments ignored, root and .well-known/core", async (t) => {
  const s = await testServer(t);
  const d = await createDevice(s);
  const c = await rawClient(t, s);
  const one = c.request(Code.POST, "", { payload: "{single:1}", options: [{ number: Opt.URI_PATH, value: new TextEncoder().encode(`/api/v1/${d.token}/telemetry`) }] });
  await separateCon(c, one, Code.CREATED);
  const extra = c.request(Code.POST, `api/v1/${d.token}/attributes/x/y`, { payload: "{extra:true}" });
  await separateCon(c, extra, Code.CREATED);
  const attrs = await http(s, "GET", `/api/plugins/telemetry/DEVICE/${d.id}/values/attributes/CLIENT_SCOPE`);
  assert.deepEqual(attrs.body.map((a) => [a.key, a.value]), [["extra", true]]);
  const root = c.request(Code.GET, "");
  const banner = await piggybacked(c, root, Code.CONTENT);
  assert.match(text(banner.payload), /ThingsBoard-compatible/);
  const wk = c.request(Code.GET, ".well-known/core");
  const links = await piggybacked(c, wk, Code.CONTENT);
  assert.match(text(links.payload), /<\/api\/v1>/);
  assert.equal(optionUint(links, Opt.CONTENT_FORMAT), 40);
});

test("Block1 uploads are reassembled; Size1 over the limit gets 4.13", async (t) => {
  const s = await testServer(t);
  const d = await createDevice(s);
  const c = await rawClient(t, s);
  const body = JSON.stringify({ big: "x".repeat(100), n: 5 });
  const chunks = [body.slice(0, 64), body.slice(64)];
  const tok = Uint8Array.of(1, 2, 3);
  const b1 = (num, more) => ({ number: Opt.BLOCK1, value: coap.blockValue({ num, more, szx: 2 }) });
  const path = ["api", "v1", d.token, "telemetry"].map((p) => ({ number: Opt.URI_PATH, value: new TextEncoder().encode(p) }));
  const r0 = c.request(Code.POST, "", { token: tok, payload: chunks[0], options: [...path, b1(0, true)] });
  const cont = await piggybacked(c, r0, Code.CONTINUE);
  assert.deepEqual(coap.readBlock(coap.getOption(cont, Opt.BLOCK1)), { num: 0, more: true, szx: 2 });
  const r1 = c.request(Code.POST, "", { token: tok, payload: chunks[1], options: [...path, b1(1, false)] });
  const done = await separateCon(c, r1, Code.CREATED);
  assert.equal(coap.readBlock(coap.getOption(done, Opt.BLOCK1)).num, 1);
  const latest = await http(s, "GET", `/api/plugins/telemetry/DEVICE/${d.id}/values/timeseries?keys=n&useStrictDataTypes=true`);
  assert.equal(latest.body.n[0].value, 5);
  const huge = c.request(Code.POST, "", { payload: "x", options: [...path, b1(0, true), { number: Opt.SIZE1, value: coap.uintValue(300 * 1024 * 1024) }] });
  const tooLarge = await piggybacked(c, huge, Code.REQUEST_ENTITY_TOO_LARGE);
  assert.match(text(tooLarge.payload), /body too large, max\. 268435456 bytes/);
});

test("a message ID the server used toward a peer is not used again within the exchange lifetime, picked in turn or at random", (t) => {
  const endpoint = createServerEndpoint({ log: createLogger("error", () => {}), onRequest: () => {} });
  t.after(() => endpoint.close());
  const sent = [];
  const peer = { id: "127.0.0.1:5683", address: "127.0.0.1", port: 5683, send: (d) => sent.push(d) };
  const response = (messageId) => ({ type: Type.NON, code: Code.CONTENT, messageId, token: new Uint8Array([1]), options: [], payload: new Uint8Array(0) });
  const first = endpoint.freeMid(peer);
  endpoint.transmit(peer, response(first));
  // A random pick that falls on the ID just used (as ThingsBoard's notification IDs may) takes another one.
  const random = Math.random;
  const picks = [(first + 0.5) / 65000, (first + 0.5) / 65000, 0.5];
  Math.random = () => picks.shift() ?? random();
  try {
    assert.notEqual(endpoint.randomMid(peer), first);
    assert.equal(picks.length, 0, "the pick of the used ID was refused, and the one after it too");
  } finally {
    Math.random = random;
  }
  // The counter comes round to the used ID after 65,535 others, and skips it.
  endpoint.nextMid = (first - 1) & 0xffff;
  assert.equal(endpoint.freeMid(peer), (first + 1) & 0xffff);
  assert.equal(sent.length, 1);
});
