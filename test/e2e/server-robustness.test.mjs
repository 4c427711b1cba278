// Bad input and load: malformed and oversized datagrams, unknown tokens, broken JSON, a flood from one client.
// The server keeps serving the others and loses nothing it acknowledged.
import test from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { testServer, createDevice, rawClient, http, Type, Code, coap, sleep } from "../server-support.mjs";

// Client and server share this process: the server only reads while the test waits, so datagrams go out in bursts
// that fit the kernel's default socket buffer (a flood beyond it is lost in the kernel, not in the server).
async function paced(count, send) {
  for (let i = 0; i < count; i++) {
    send(i);
    if (i % 25 === 24) await sleep(2);
  }
}

test("garbage, oversized datagrams and broken requests never stop the server", async (t) => {
  const s = await testServer(t, { logLevel: "warn" });
  const d = await createDevice(s);
  const bad = await rawClient(t, s);
  await paced(300, (i) => bad.sendRaw(randomBytes(1 + (i % 60))));
  bad.sendRaw(Buffer.alloc(3000, 0x41)); // over 2048 bytes: dropped silently
  const huge = coap.encodeMessage({ type: Type.CON, code: Code.POST, messageId: 99, token: Uint8Array.of(1), options: [], payload: new Uint8Array(2100) });
  bad.sendRaw(huge);
  for (const payload of ["{", "}", "[", "{a:}", "\u0000\u0001", "{\"a\":\"\\x\"}", "nul", "{a:1}}", "[".repeat(300) + "]".repeat(300)]) {
    bad.request(Code.POST, `api/v1/${d.token}/telemetry`, { type: Type.NON, payload });
  }
  await sleep(300);
  assert.ok(!bad.queue.some((m) => m.messageId === 99), "no answer to the oversized datagram");
  const answers = bad.queue.filter((m) => m.code === Code.BAD_REQUEST).length;
  assert.equal(answers, 9, "every broken JSON got 4.00");
  const good = await rawClient(t, s);
  good.request(Code.POST, `api/v1/${d.token}/telemetry`, { type: Type.NON, payload: "{still:1}" });
  assert.equal((await good.next()).code, Code.CREATED);
  const stored = await http(s, "GET", `/api/plugins/telemetry/DEVICE/${d.id}/values/timeseries?useStrictDataTypes=true`);
  assert.deepEqual(Object.keys(stored.body), ["still"]);
});

test("a flood from one client: others are served and every acknowledged value is stored", async (t) => {
  const s = await testServer(t, { logLevel: "warn" });
  const noisy = await createDevice(s, "noisy");
  const quiet = await createDevice(s, "quiet");
  const flood = await rawClient(t, s);
  const other = await rawClient(t, s);
  const N = 1500;
  await paced(N, (i) => {
    flood.request(Code.POST, `api/v1/${i % 3 ? noisy.token : "UNKNOWN"}/telemetry`, { type: Type.NON, payload: `{"ts":${1000 + i},"values":{"n":${i}}}` });
    if (i % 100 === 0) other.request(Code.POST, `api/v1/${quiet.token}/telemetry`, { type: Type.NON, payload: `{"ts":${i + 1},"values":{"q":${i}}}` });
  });
  for (let i = 0; i < 15; i++) assert.equal((await other.next(5000)).code, Code.CREATED);
  const answered = () => [...new Map(flood.queue.filter((m) => m.code !== 0).map((m) => [Buffer.from(m.token).toString("hex"), m])).values()];
  const deadline = Date.now() + 10000;
  while (answered().length < N && Date.now() < deadline) await sleep(50);
  const answers = answered();
  const created = answers.filter((m) => m.code === Code.CREATED);
  assert.equal(answers.length, N, "every request was answered");
  assert.equal(answers.filter((m) => m.code === Code.UNAUTHORIZED).length, N / 3);
  const hist = await http(s, "GET", `/api/plugins/telemetry/DEVICE/${noisy.id}/values/timeseries?keys=n&startTs=0&endTs=100000&limit=100000&orderBy=ASC&useStrictDataTypes=true`);
  assert.equal(hist.body.n.length, created.length, "each 2.01 corresponds to a stored value");
  assert.deepEqual(hist.body.n.map((e) => e.value), [...Array(N).keys()].filter((i) => i % 3), "in full and in order");
  const q = await http(s, "GET", `/api/plugins/telemetry/DEVICE/${quiet.id}/values/timeseries?keys=q&startTs=0&limit=1000&useStrictDataTypes=true`);
  assert.equal(q.body.q.length, 15);
});

test("a flood of malformed datagrams cannot flood the log: 10 warning lines per 10 s window", async (t) => {
  const s = await testServer(t, { logLevel: "warn" });
  const bad = await rawClient(t, s);
  // Malformed CoAP (version 1, a token length of 15): each one would be a warning line.
  await paced(2000, (i) => bad.sendRaw(Buffer.from([0x4f, 0x01, i >> 8, i & 255])));
  await sleep(500);
  const lines = s.logs.filter((l) => /malformed message/.test(l));
  assert.equal(lines.length, 10, `warning lines: ${lines.length}`);
  assert.ok(bad.queue.filter((m) => m.type === Type.RST).length > 1500, "every malformed CON is still rejected with RST");
});

test("no access token in the server's log at debug level, whatever the path", async (t) => {
  const s = await testServer(t, { logLevel: "debug" });
  const d = await createDevice(s);
  const c = await rawClient(t, s);
  for (const p of [`api/v1/${d.token}`, `api/v1/${d.token}/telemetry`, `api/v1/${d.token}/rpc/7`, `fw/${d.token}`, `sw/${d.token}`, `api/v1/NOT${d.token}/attributes`]) {
    c.request(Code.POST, p, { type: Type.CON, payload: "{}" });
    await c.next();
  }
  assert.ok(s.logs.length > 6, "the requests were logged");
  for (const l of s.logs) assert.ok(!l.includes(d.token), l);
});

test("limited log lines: a burst, then one line counting what the window suppressed", async () => {
  const { createLogger } = await import("../../host/server/log.mjs");
  const lines = [];
  const log = createLogger("warn", (l) => lines.push(l));
  const warn = log.limited("warn", "malformed datagram", { burst: 3, windowMs: 200 });
  for (let i = 0; i < 50; i++) warn("coap", `bad ${i}`);
  assert.deepEqual(lines.map((l) => l.replace(/^\S+ /, "")), ["warn  [coap] bad 0", "warn  [coap] bad 1", "warn  [coap] bad 2"]);
  await sleep(300);
  assert.match(lines[3], /warn  \[coap\] 47 more malformed datagram line\(s\) suppressed in the last 0\.2 s$/);
  warn("coap", "bad again");
  assert.match(lines[4], /bad again$/, "a new window starts");
});
