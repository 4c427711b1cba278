// Observe rules (notes section 6 and checklist 14.7): what observing clients receive, with the `coap` npm package
// as an independent client and a raw UDP client where exact types, ids and retransmissions matter.
import test from "node:test";
import assert from "node:assert/strict";
import coapPkg from "coap";
import { testServer, createDevice, rawClient, http, Type, Code, Opt, coap, optionUint, sameToken, describe, text, sleep } from "../server-support.mjs";

const obsOf = (m) => optionUint(m, Opt.OBSERVE);
const json = (m) => JSON.parse(text(m.payload));
const setShared = (s, d, attrs) => http(s, "POST", `/api/plugins/telemetry/DEVICE/${d.id}/attributes/SHARED_SCOPE`, attrs);

/** Registers a CON attribute observation from the raw client; returns the registration request. */
async function observeAttrs(c, d, opts = {}) {
  const req = c.request(Code.GET, `api/v1/${d.token}/attributes`, { observe: 0, ...opts });
  const first = await c.next();
  assert.equal(first.code, Code.CONTENT, describe(first));
  assert.equal(obsOf(first), 0);
  return { req, first };
}

async function observeRpc(c, d, opts = {}) {
  const req = c.request(Code.GET, `api/v1/${d.token}/rpc`, { observe: 0, ...opts });
  const first = await c.next();
  assert.equal(first.code, Code.VALID, describe(first));
  if (first.type === Type.CON) c.ack(first);
  return { req, first };
}

/** Collects what an observe stream of the coap package delivers. */
function observeWithCoapPackage(t, s, pathname) {
  const agent = new coapPkg.Agent({ type: "udp4" });
  const got = [];
  return new Promise((resolve, reject) => {
    const req = coapPkg.request({ hostname: "127.0.0.1", port: s.coapPort, pathname, method: "GET", observe: true, agent });
    req.on("response", (res) => {
      got.code = res.code;
      res.on("data", (chunk) => got.push(chunk.toString("utf8")));
      t.after(() => {
        // closing the stream closes the agent's socket when nothing else uses it
        res.close();
        try { agent.close(); } catch { /* already closed with the stream */ }
      });
      resolve({ got, res, agent });
    });
    req.on("error", reject);
    req.end();
  });
}

async function until(predicate, ms = 5000) {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error("condition not reached");
    await sleep(20);
  }
}

test("coap package: shared attributes first in full, then deltas and deletions", async (t) => {
  const s = await testServer(t);
  const d = await createDevice(s);
  await setShared(s, d, { mode: "eco", interval: 30 });
  const { got } = await observeWithCoapPackage(t, s, `/api/v1/${d.token}/attributes`);
  await until(() => got.length >= 1);
  assert.equal(got.code, "2.05");
  assert.deepEqual(JSON.parse(got[0]), { interval: 30, mode: "eco" });
  await setShared(s, d, { interval: 60 });
  await until(() => got.length >= 2);
  assert.deepEqual(JSON.parse(got[1]), { interval: 60 });
  await http(s, "POST", `/api/plugins/telemetry/DEVICE/${d.id}/attributes/CLIENT_SCOPE`, { notShared: 1 });
  await http(s, "DELETE", `/api/plugins/telemetry/DEVICE/${d.id}/SHARED_SCOPE?keys=mode`);
  await until(() => got.length >= 3);
  assert.deepEqual(JSON.parse(got[2]), { deleted: ["mode"] });
  await sleep(200);
  assert.equal(got.length, 3, "client attributes do not notify");
});

test("coap package: RPC subscription gets 2.03, then commands with ids from 0; replies complete two-way RPCs", async (t) => {
  const s = await testServer(t);
  const d = await createDevice(s);
  const { got, agent } = await observeWithCoapPackage(t, s, `/api/v1/${d.token}/rpc`);
  assert.equal(got.code, "2.03");
  await until(() => got.length >= 1);
  assert.equal(got[0], "", "the 2.03 carries no payload");
  const reply = (id, body) => new Promise((resolve, reject) => {
    const req = coapPkg.request({ hostname: "127.0.0.1", port: s.coapPort, pathname: `/api/v1/${d.token}/rpc/${id}`, method: "POST", agent });
    req.on("response", (res) => resolve(res.code));
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
  for (const [i, params] of [[0, { pin: 23, value: 1 }], [1, null]]) {
    const call = http(s, "POST", `/api/plugins/rpc/twoway/${d.id}`, { method: "setGpio", params, timeout: 5000 });
    await until(() => got.length > i + 1);
    const cmd = JSON.parse(got[i + 1]);
    assert.deepEqual(cmd, { id: i, method: "setGpio", params });
    assert.equal(await reply(cmd.id, { result: "ok", n: i }), "2.01");
    const res = await call;
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { result: "ok", n: i });
  }
  const list = await http(s, "GET", `/api/rpc/persistent/device/${d.id}`);
  assert.deepEqual(list.body.data.map((r) => [r.request.id, r.status]), [[0, "SUCCESSFUL"], [1, "SUCCESSFUL"]]);
});

test("one CON notification in flight; a newer one replaces the postponed one", async (t) => {
  const s = await testServer(t, { ackTimeoutMs: 3000 });
  const d = await createDevice(s);
  const c = await rawClient(t, s);
  await observeAttrs(c, d);
  await setShared(s, d, { v: 1 });
  const n1 = await c.next();
  assert.equal(n1.type, Type.CON);
  assert.equal(obsOf(n1), 1);
  assert.ok(n1.messageId <= 64999);
  await setShared(s, d, { v: 2 });
  await setShared(s, d, { v: 3 });
  await c.nothing(200);
  c.ack(n1);
  const n2 = await c.next();
  assert.deepEqual(json(n2), { v: 3 }, "v:2 was replaced before it was sent");
  assert.equal(obsOf(n2), 3);
  c.ack(n2);
  await c.nothing(300);
});

test("at a retransmission the fresher notification is sent instead", async (t) => {
  const s = await testServer(t, { ackTimeoutMs: 1000 });
  const d = await createDevice(s);
  const c = await rawClient(t, s);
  await observeAttrs(c, d);
  await setShared(s, d, { v: 1 });
  const n1 = await c.next();
  await setShared(s, d, { v: 2 });
  const n2 = await c.next();
  assert.notEqual(n2.messageId, n1.messageId);
  assert.deepEqual(json(n2), { v: 2 });
  c.ack(n2);
  await c.nothing(500);
});

test("an unacknowledged CON notification cancels every relation of that peer after 4 retransmissions", async (t) => {
  const s = await testServer(t, { ackTimeoutMs: 100 });
  const d = await createDevice(s);
  const c = await rawClient(t, s);
  await observeAttrs(c, d);
  await observeRpc(c, d);
  await setShared(s, d, { v: 1 });
  const copies = [await c.next()];
  for (let i = 0; i < 4; i++) copies.push(await c.next(2000));
  assert.ok(copies.every((m) => m.messageId === copies[0].messageId && m.type === Type.CON));
  let st;
  for (let i = 0; i < 100 && (st?.body.attributes ?? true) !== null; i++) {
    await sleep(50);
    st = await http(s, "GET", `/api/device/${d.id}/observations`);
  }
  assert.deepEqual(st.body, { attributes: null, rpc: null });
  assert.ok(s.logs.some((l) => /timed out\. Canceling all relations with source/.test(l)));
  await setShared(s, d, { v: 2 });
  await http(s, "POST", `/api/rpc/oneway/${d.id}`, { method: "m", persistent: true, timeout: 5000 });
  await c.nothing(300);
});

test("RST to a notification cancels it; Observe 1 cancels without any response", async (t) => {
  const s = await testServer(t, { piggybackTimeoutMs: 100 });
  const d = await createDevice(s);
  const c = await rawClient(t, s);
  await observeAttrs(c, d);
  await setShared(s, d, { v: 1 });
  c.rst(await c.next());
  await sleep(50);
  await setShared(s, d, { v: 2 });
  await c.nothing(300);
  const { req } = await observeAttrs(c, d);
  const dereg = c.request(Code.GET, `api/v1/${d.token}/attributes`, { observe: 1, token: req.token });
  const ack = await c.next();
  assert.equal(ack.type, Type.ACK);
  assert.equal(ack.code, Code.EMPTY, "only the deferred empty ACK");
  assert.equal(ack.messageId, dereg.messageId);
  await c.nothing(400);
  await setShared(s, d, { v: 3 });
  await c.nothing(300);
  assert.deepEqual((await http(s, "GET", `/api/device/${d.id}/observations`)).body, { attributes: null, rpc: null });
});

test("NON observations get NON notifications; an RST to one cancels it", async (t) => {
  const s = await testServer(t);
  const d = await createDevice(s);
  const c = await rawClient(t, s);
  const { first } = await observeAttrs(c, d, { type: Type.NON });
  assert.equal(first.type, Type.NON);
  await setShared(s, d, { v: 1 });
  const n1 = await c.next();
  assert.equal(n1.type, Type.NON);
  assert.equal(obsOf(n1), 1);
  c.rst(n1);
  await sleep(50);
  await setShared(s, d, { v: 2 });
  await c.nothing(300);
});

test("re-registration: same token restarts at Observe 0; a new token makes the old one get 2.02 Deleted", async (t) => {
  const s = await testServer(t);
  const d = await createDevice(s);
  const c = await rawClient(t, s);
  const { req } = await observeAttrs(c, d);
  await setShared(s, d, { v: 1 });
  c.ack(await c.next());
  const again = await observeAttrs(c, d, { token: req.token });
  assert.equal(obsOf(again.first), 0);
  await c.nothing(200);
  await setShared(s, d, { v: 2 });
  const n = await c.next();
  assert.equal(obsOf(n), 1, "the counter restarted");
  c.ack(n);
  const other = c.request(Code.GET, `api/v1/${d.token}/attributes`, { observe: 0 });
  const msgs = [await c.next(), await c.next()];
  const del = msgs.find((m) => m.code === Code.DELETED);
  const init = msgs.find((m) => m.code === Code.CONTENT);
  assert.ok(del && init, msgs.map(describe).join(" | "));
  assert.ok(sameToken(del, req), "2.02 goes to the old token");
  assert.equal(del.type, Type.CON);
  assert.equal(obsOf(del), 0);
  c.ack(del);
  assert.ok(sameToken(init, other));
});

test("server-side cancellation (device deleted) answers every observation with 2.02 Deleted, Observe 0", async (t) => {
  const s = await testServer(t);
  const d = await createDevice(s);
  const c = await rawClient(t, s);
  const a = await observeAttrs(c, d);
  const r = await observeRpc(c, d);
  assert.equal((await http(s, "DELETE", `/api/device/${d.id}`)).status, 200);
  const got = [await c.next(), await c.next()];
  for (const reg of [a.req, r.req]) {
    const m = got.find((x) => sameToken(x, reg));
    assert.ok(m, "each token gets one");
    assert.equal(m.code, Code.DELETED);
    assert.equal(m.type, Type.CON);
    assert.equal(obsOf(m), 0);
    c.ack(m);
  }
  const after = c.request(Code.POST, `api/v1/${d.token}/telemetry`, { payload: "{a:1}" });
  const denied = await c.next();
  assert.equal(denied.code, Code.UNAUTHORIZED);
  assert.equal(denied.messageId, after.messageId);
});

test("RPC delivery: queued RPCs go out after the 2.03; ACK -> DELIVERED/SUCCESSFUL, no ACK -> TIMEOUT, then EXPIRED", async (t) => {
  const s = await testServer(t, { ackTimeoutMs: 5000, pagingTransmissionWindowMs: 300 });
  const d = await createDevice(s);
  const c = await rawClient(t, s);
  const one = await http(s, "POST", `/api/rpc/oneway/${d.id}`, { method: "blink", params: { n: 2 }, persistent: true, timeout: 20000 });
  const req = c.request(Code.GET, `api/v1/${d.token}/rpc`, { observe: 0 });
  const valid = await c.next();
  assert.equal(valid.code, Code.VALID);
  assert.ok(sameToken(valid, req));
  c.ack(valid);
  const cmd = await c.next();
  assert.deepEqual(json(cmd), { id: 0, method: "blink", params: { n: 2 } });
  assert.equal(obsOf(cmd), 1);
  assert.equal(optionUint(cmd, Opt.CONTENT_FORMAT), 50);
  c.ack(cmd);
  await sleep(50);
  assert.equal((await http(s, "GET", `/api/rpc/persistent/${one.body.rpcId}`)).body.status, "SUCCESSFUL");
  const two = await http(s, "POST", `/api/rpc/twoway/${d.id}`, { method: "read", persistent: true, timeout: 1200 });
  const cmd2 = await c.next();
  assert.equal(json(cmd2).id, 1);
  const seen = [];
  for (let i = 0; i < 100 && seen.at(-1) !== "EXPIRED"; i++) {
    const st = (await http(s, "GET", `/api/rpc/persistent/${two.body.rpcId}`)).body.status;
    if (seen.at(-1) !== st) seen.push(st);
    await sleep(50);
  }
  assert.deepEqual(seen.filter((x) => x !== "SENT"), ["TIMEOUT", "EXPIRED"], "not ACKed: TIMEOUT, then EXPIRED");
  const v1 = await http(s, "POST", `/api/plugins/rpc/twoway/${d.id}`, { method: "late", timeout: 200 });
  assert.equal(v1.status, 408);
});

test("a notification over 1024 bytes is sent block-wise; the rest is fetched with Block2", async (t) => {
  const s = await testServer(t);
  const d = await createDevice(s);
  const c = await rawClient(t, s);
  const { req } = await observeAttrs(c, d);
  const big = "y".repeat(1500);
  await setShared(s, d, { big });
  const n = await c.next();
  c.ack(n);
  const b = coap.readBlock(coap.getOption(n, Opt.BLOCK2));
  assert.deepEqual(b, { num: 0, more: true, szx: 6 });
  assert.equal(n.payload.length, 1024);
  const follow = c.request(Code.GET, `api/v1/${d.token}/attributes`, { extra: [{ number: Opt.BLOCK2, value: coap.blockValue({ num: 1, more: false, szx: 6 }) }] });
  const rest = await c.next();
  assert.equal(rest.messageId, follow.messageId);
  assert.equal(coap.readBlock(coap.getOption(rest, Opt.BLOCK2)).more, false);
  assert.deepEqual(JSON.parse(text(n.payload) + text(rest.payload)), { big });
  assert.ok(req);
});

test("activity: a device turns inactive after the inactivity timeout unless it observes", async (t) => {
  const s = await testServer(t, { reportTimeoutMs: 50, inactivityTimeoutMs: 300 });
  const d = await createDevice(s);
  const c = await rawClient(t, s);
  const server = async () => Object.fromEntries((await http(s, "GET", `/api/plugins/telemetry/DEVICE/${d.id}/values/attributes/SERVER_SCOPE`)).body.map((a) => [a.key, a.value]));
  c.request(Code.POST, `api/v1/${d.token}/telemetry`, { type: Type.NON, payload: "{a:1}" });
  await c.next();
  assert.equal((await server()).active, true);
  let attrs = await server();
  for (let i = 0; i < 60 && attrs.active !== false; i++) { await sleep(50); attrs = await server(); }
  assert.equal(attrs.active, false);
  await observeAttrs(c, d);
  const observedAt = Date.now();
  await sleep(700);
  attrs = await server();
  assert.equal(attrs.active, true, "observing keeps it active");
  assert.equal(typeof attrs.lastConnectTime, "number");
  assert.ok(attrs.lastActivityTime >= observedAt + 400, "activity is reported while observing");
});
