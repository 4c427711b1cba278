// What the dashboard is built on, over real sockets: the event stream (GET /api/live), the CoAP exchange log, the
// dashboard's files and the HTTP API's guards against other web pages (DNS rebinding, cross-origin requests).
import test from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { testServer, createDevice, rawClient, coapClient, http as api, Code, Type } from "../server-support.mjs";
import { until } from "../sim-support.mjs";
import { mask } from "../../host/server/log.mjs";

/** The server's event stream, parsed as it arrives: events [{event, data}] and the raw text. Closed after the test. */
async function liveStream(t, server) {
  const abort = new AbortController();
  const res = await fetch(`${server.httpUrl}/api/live`, { signal: abort.signal });
  const stream = { status: res.status, type: res.headers.get("content-type"), events: [], raw: "" };
  let pending = "";
  (async () => {
    const dec = new TextDecoder();
    try {
      for await (const chunk of res.body) {
        const text = dec.decode(chunk, { stream: true });
        stream.raw += text;
        pending += text;
        let end;
        while ((end = pending.indexOf("\n\n")) >= 0) {
          const block = pending.slice(0, end);
          pending = pending.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event) stream.events.push({ event, data: JSON.parse(data) });
        }
      }
    } catch {
      /* aborted at the end of the test */
    }
  })();
  t.after(() => abort.abort());
  stream.next = async (event, match = () => true) => {
    let found;
    await until(() => (found = stream.events.find((e) => e.event === event && match(e.data))), 5000, `a "${event}" event`);
    return found.data;
  };
  await until(() => stream.raw.startsWith("retry:"), 5000, "the stream to open");
  return stream;
}

/** A raw HTTP request, so that Host and Origin can be set as another web page's browser would. */
function request(server, { method = "GET", path = "/", headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: server.httpPort, method, path, headers }, (res) => {
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

test("the event stream carries each CoAP exchange with the token masked, and each stored reading", async (t) => {
  const s = await testServer(t);
  const d = await createDevice(s);
  const live = await liveStream(t, s);
  assert.equal(live.status, 200);
  assert.equal(live.type, "text/event-stream");
  const r = await coapClient(["-m", "POST", `coap://127.0.0.1:${s.coapPort}/api/v1/${d.token}/telemetry`, "-t", "json", "-e", '{"temperature":21.5,"ok":true}']);
  assert.equal(r.code, 0, r.stderr);
  const x = await live.next("coap");
  assert.deepEqual({ ...x, ts: typeof x.ts, peer: typeof x.peer }, {
    ts: "number", deviceId: d.id, peer: "string", type: "CON", method: "POST", path: `/api/v1/${mask(d.token)}/telemetry`,
    observe: null, code: "2.01", requestBytes: 30, responseBytes: 0, block2: false,
  });
  const reading = await live.next("telemetry");
  assert.equal(reading.deviceId, d.id);
  assert.deepEqual(reading.batches.map((b) => b.values), [{ temperature: 21.5, ok: true }]);
  const stored = await api(s, "GET", `/api/plugins/telemetry/DEVICE/${d.id}/values/timeseries`);
  assert.equal(reading.batches[0].ts, stored.body.temperature[0].ts, "the event carries the stored timestamp");
  const log = await api(s, "GET", `/api/coap/exchanges?deviceId=${d.id}`);
  assert.deepEqual(log.body, [x], "the exchange log keeps what the stream sent, for a page that opens later");
  assert.deepEqual((await api(s, "GET", "/api/coap/exchanges?deviceId=no-such-device")).body, []);
  assert.ok(!live.raw.includes(d.token), "the token never leaves the server");
});

test("the event stream: attribute changes, notifications on observations, devices, RPC states", async (t) => {
  const s = await testServer(t);
  const live = await liveStream(t, s);
  const d = await createDevice(s, "live-device");
  assert.deepEqual(await live.next("device"), { kind: "device", deviceId: d.id });
  const c = await rawClient(t, s);
  c.request(Code.GET, `api/v1/${d.token}/attributes`, { observe: 0 });
  await c.next();
  await api(s, "POST", `/api/plugins/telemetry/DEVICE/${d.id}/SHARED_SCOPE`, { intervalS: 5 });
  assert.deepEqual(await live.next("attributes", (a) => a.scope === "SHARED_SCOPE"), { kind: "attributes", deviceId: d.id, scope: "SHARED_SCOPE", keys: ["intervalS"] });
  const note = await live.next("coap", (e) => e.method === "NOTIFY");
  assert.deepEqual({ ...note, ts: 0, peer: 0 }, {
    ts: 0, deviceId: d.id, peer: 0, type: "CON", method: "NOTIFY", path: `/api/v1/${mask(d.token)}/attributes`, observe: 1,
    code: "2.05", requestBytes: 0, responseBytes: '{"intervalS":5}'.length, block2: false,
  });
  await api(s, "DELETE", `/api/plugins/telemetry/DEVICE/${d.id}/SHARED_SCOPE?keys=intervalS`);
  assert.deepEqual(await live.next("attributes", (a) => a.deleted), { kind: "attributes", deviceId: d.id, scope: "SHARED_SCOPE", deleted: ["intervalS"] });
  // An RPC the device acknowledges but never answers: queued, sent on its RPC observation, delivered, expired.
  c.request(Code.GET, `api/v1/${d.token}/rpc`, { observe: 0 });
  await c.next();
  const answer = api(s, "POST", `/api/plugins/rpc/twoway/${d.id}`, { method: "getStatus", params: {}, timeout: 300 });
  c.ack(await c.next(3000, (m) => m.type === Type.CON && m.payload.length > 0));
  assert.equal((await answer).status, 408);
  const states = live.events.filter((e) => e.event === "rpc").map((e) => e.data.status);
  assert.deepEqual(states.filter((v, i) => v !== states[i - 1]), ["QUEUED", "SENT", "DELIVERED", "EXPIRED"]);
  assert.ok(live.events.some((e) => e.event === "coap" && e.data.method === "NOTIFY" && e.data.path.endsWith("/rpc")));
  await api(s, "DELETE", `/api/device/${d.id}`);
  assert.deepEqual(await live.next("device", (e) => e.deleted), { kind: "device", deviceId: d.id, deleted: true });
});

test("the event stream reports a chunked firmware download's progress", async (t) => {
  const s = await testServer(t);
  const d = await createDevice(s);
  const live = await liveStream(t, s);
  const pkg = await api(s, "POST", "/api/otaPackage", { title: "fw", version: "2", type: "FIRMWARE" });
  const image = Buffer.alloc(2500, 7);
  await api(s, "POST", `/api/otaPackage/${pkg.body.id.id}`, image, { "content-type": "application/octet-stream" });
  const device = await api(s, "GET", `/api/device/${d.id}`);
  await api(s, "POST", "/api/device", { ...device.body, firmwareId: pkg.body.id });
  for (const chunk of [0, 2]) {
    const r = await coapClient(["-m", "GET", `coap://127.0.0.1:${s.coapPort}/fw/${d.token}?title=fw&version=2&size=1024&chunk=${chunk}`]);
    assert.equal(r.code, 0, r.stderr);
  }
  await until(() => live.events.filter((e) => e.event === "otaProgress").length === 2, 5000, "two progress events");
  assert.deepEqual(live.events.filter((e) => e.event === "otaProgress").map((e) => e.data), [
    { deviceId: d.id, type: "FIRMWARE", sent: 1024, total: 2500 },
    { deviceId: d.id, type: "FIRMWARE", sent: 2500, total: 2500 },
  ]);
  const x = live.events.filter((e) => e.event === "coap").map((e) => e.data.path);
  assert.deepEqual(x, [0, 2].map((n) => `/fw/${mask(d.token)}?title=fw&version=2&size=1024&chunk=${n}`));
});

test("the dashboard's page, script and style are served with a strict content policy; nothing else outside /api/", async (t) => {
  const s = await testServer(t);
  const page = await request(s, { path: "/" });
  assert.equal(page.status, 200);
  assert.equal(page.headers["content-type"], "text/html; charset=utf-8");
  assert.match(page.headers["content-security-policy"], /default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'/);
  assert.equal(page.headers["x-content-type-options"], "nosniff");
  assert.match(page.text, /<script src="app\.js"><\/script>/);
  assert.doesNotMatch(page.text, /https?:\/\//, "the page loads nothing from elsewhere");
  const script = await request(s, { path: "/app.js" });
  assert.equal(script.headers["content-type"], "text/javascript; charset=utf-8");
  assert.ok(script.text.length > 40000, "uPlot is bundled into the page's script");
  assert.doesNotMatch(script.text, /\bsourceMappingURL\b|cdn\.|unpkg|jsdelivr/);
  assert.match((await request(s, { path: "/app.css" })).text, /\.uplot/);
  const missing = await request(s, { path: "/../package.json" });
  assert.equal(missing.status, 404);
  assert.equal((await request(s, { path: "/secret.db" })).text, "no such page: /secret.db (the dashboard is at /, the HTTP API under /api/)\n");
  assert.equal((await request(s, { method: "POST", path: "/", body: "x" })).status, 405);
});

test("requests addressed to another host name (DNS rebinding) or sent from another origin are refused", async (t) => {
  const s = await testServer(t);
  const d = await createDevice(s);
  for (const path of ["/", "/api/tenant/devices", "/api/live"]) {
    const r = await request(s, { path, headers: { host: "attacker.example:8080" } });
    assert.equal(r.status, 421, path);
    assert.equal(JSON.parse(r.text).message, "only requests to 127.0.0.1, localhost or [::1] are answered");
  }
  const forged = await request(s, {
    method: "POST", path: `/api/plugins/telemetry/DEVICE/${d.id}/SHARED_SCOPE`, body: '{"intervalS":5}',
    headers: { origin: "http://attacker.example", "content-type": "text/plain" },
  });
  assert.equal(forged.status, 403);
  assert.equal(JSON.parse(forged.text).message, "requests from another origin (http://attacker.example) are refused");
  assert.deepEqual((await api(s, "GET", `/api/plugins/telemetry/DEVICE/${d.id}/values/attributes/SHARED_SCOPE`)).body, [], "nothing was stored");
  const own = await request(s, {
    method: "POST", path: `/api/plugins/telemetry/DEVICE/${d.id}/SHARED_SCOPE`, body: '{"intervalS":5}',
    headers: { origin: `http://127.0.0.1:${s.httpPort}`, host: `127.0.0.1:${s.httpPort}`, "content-type": "application/json" },
  });
  assert.equal(own.status, 200, "the dashboard's own requests pass");
  assert.equal((await request(s, { path: "/api/tenant/devices", headers: { host: `localhost:${s.httpPort}` } })).status, 200);
});
