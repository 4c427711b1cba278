// Network conditions on a node's link: loss with retransmissions against a real CoAP server, duplication, reordering,
// delay, an outage window and NAT rebinding, all deterministic for a seed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startNode, udpPeer, until, COAP_GET_SOURCE } from "../sim-support.mjs";
import { startLibcoapServer } from "../../host/sim/server.mjs";
import { freeUdpPort } from "../../host/dtls/peers.mjs";
import { createLink, linkConditions } from "../../host/sim/link.mjs";
import { Scheduler } from "../../host/engine/scheduler.mjs";

async function lossyExchange(t, seed) {
  const server = await startLibcoapServer({ port: await freeUdpPort() });
  t.after(() => server.close());
  const node = await startNode(t, { bundle: null, seed, network: { lossOut: 0.5, lossIn: 0.5 } });
  const d = node.device;
  await d.exec(COAP_GET_SOURCE);
  await d.exec(`coapGet(${server.port}, 0x0707, 2000, 6, function (err, tries, code) { print("done " + err + " " + tries + " " + code); })`);
  const line = await d.waitForOutput(/^done /);
  return { line, node };
}

test("with loss set, retransmissions appear and the CoAP exchange with coap-server-notls still completes", async (t) => {
  const { line, node } = await lossyExchange(t, 3);
  const m = /^done null (\d+) 2\.05$/.exec(line);
  assert.ok(m, line);
  const tries = Number(m[1]);
  assert.ok(tries > 1, "at least one retransmission");
  const sends = node.device.lines.filter((l) => l.startsWith("coap: send #"));
  assert.equal(sends.length, tries);
  // Retransmissions follow the doubling timer on the simulated clock: 2 s, 4 s, 8 s ...
  const at = sends.map((l) => Number(/at (\d+)$/.exec(l)[1]));
  for (let i = 1; i < at.length; i++) assert.ok(Math.abs(at[i] - at[i - 1] - 2000 * 2 ** (i - 1)) < 250, String(at));
  const link = node.traces.filter((e) => e.type === "link");
  assert.ok(link.some((e) => e.fate === "lost"), "the link dropped something");
  const outs = node.traces.filter((e) => e.type === "udp" && e.dir === "out").length;
  const lostOut = link.filter((e) => e.dir === "out" && e.fate === "lost").length;
  assert.equal(outs + lostOut, tries, "every attempt was either sent or lost on the way out");
  assert.deepEqual(node.link.stats.out.dropped, lostOut);
  // The same seed gives the same run.
  const again = await lossyExchange(t, 3);
  assert.equal(again.line, line);
});

test("duplication delivers a datagram twice; reordering lets the next one overtake", async (t) => {
  const peer = await udpPeer(t, (buf, rinfo, sock) => sock.send(buf, rinfo.port, rinfo.address));
  const dup = await startNode(t, { bundle: null, network: { dup: 1 } });
  await dup.device.exec(`var s = require("dgram").createSocket("udp4"); s.on("message", function (m) { print("got " + m); });
    s.send("once", ${peer.port}, "127.0.0.1");`);
  await until(() => dup.device.lines.filter((l) => l === "got once").length === 4, 5000, "4 echoes");
  assert.equal(peer.received.length, 2, "the outbound datagram arrived twice");

  const peer2 = await udpPeer(t);
  const re = await startNode(t, { bundle: null, network: { reorder: 1 } });
  await re.device.exec(`var s = require("dgram").createSocket("udp4");
    ["1", "2", "3", "4", "5"].forEach(function (m) { s.send(m, ${peer2.port}, "127.0.0.1"); });`);
  await until(() => peer2.received.length === 5, 5000, "5 datagrams");
  assert.deepEqual(peer2.received.map((r) => r.bytes.toString()), ["2", "1", "4", "3", "5"]);
});

test("delay adds simulated time each way; an outage window drops everything inside it", async (t) => {
  const peer = await udpPeer(t, (buf, rinfo, sock) => sock.send(buf, rinfo.port, rinfo.address));
  const node = await startNode(t, { bundle: null, network: { delayMs: 400, outage: { startMs: 10000, lenMs: 5000 } } });
  const d = node.device;
  await d.exec(`var sent = {}; var s = require("dgram").createSocket("udp4");
    s.on("message", function (m) { print("rtt " + m + " " + Math.round((getTime() - sent[m]) * 1000)); });
    function ping(m) { sent[m] = getTime(); s.send(m, ${peer.port}, "127.0.0.1"); }
    ping("a");
    setTimeout(function () { ping("b"); }, 11000);
    setTimeout(function () { ping("c"); }, 16000);
    setTimeout(function () { print("end"); }, 20000);`);
  await d.waitForOutput("end");
  const rtts = d.lines.filter((l) => l.startsWith("rtt "));
  assert.equal(rtts.length, 2, rtts.join());
  for (const [i, name] of [[0, "a"], [1, "c"]]) {
    const [, m, ms] = /^rtt (\w) (\d+)$/.exec(rtts[i]);
    assert.equal(m, name);
    assert.ok(Number(ms) >= 800 && Number(ms) < 800 + 250, rtts[i]);
  }
  assert.deepEqual(peer.received.map((r) => r.bytes.toString()), ["a", "c"]);
  assert.ok(node.traces.some((e) => e.type === "link" && e.fate === "outage"));
});

test("NAT rebinding: the node's datagrams leave from a new port mid-run and replies to it arrive", async (t) => {
  const peer = await udpPeer(t, (buf, rinfo, sock) => sock.send(Buffer.from("re " + buf), rinfo.port, rinfo.address));
  const node = await startNode(t, { bundle: null, network: { natRebindAtMs: 5000 } });
  const d = node.device;
  await d.exec(`var s = require("dgram").createSocket("udp4"); s.on("message", function (m) { print(m); });
    s.send("before", ${peer.port}, "127.0.0.1");
    setTimeout(function () { s.send("after", ${peer.port}, "127.0.0.1"); }, 10000);`);
  await d.waitForOutput("re after", { realTimeoutMs: 10000 });
  assert.ok(d.lines.includes("re before"));
  const [before, after] = peer.received;
  assert.notEqual(before.port, after.port);
  assert.ok(node.traces.some((e) => e.type === "rebind" && e.ports[0] === after.port));
});

test("bad link conditions are refused with the field named", () => {
  assert.throws(() => linkConditions({ lossOut: 2 }), /loss \(outbound\) must be a probability between 0 and 1, not 2/);
  assert.throws(() => linkConditions({ delayMs: -1 }), /delay must be a non-negative number/);
  assert.throws(() => createLink({ scheduler: new Scheduler({}), conditions: { outage: { startMs: 1, lenMs: 0 } } }), /outage needs/);
});
