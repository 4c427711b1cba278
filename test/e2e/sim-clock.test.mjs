// The virtual clock: a simulated day of a node that wakes every minute, and a short run whose retransmission timer
// races real UDP replies, with the same outcome as on the real clock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startNode, udpPeer, COAP_GET_SOURCE } from "../sim-support.mjs";
import { createIoWatch } from "../../host/engine/io-watch.mjs";
import { parseEspruinoJson } from "../../host/espruino/storage.mjs";

const DAY_MS = 86400 * 1000;

test("a day of a node waking every minute (deep sleep, Storage, a real UDP exchange per wake) runs on the virtual clock", async (t) => {
  const peer = await udpPeer(t, (buf, rinfo, sock) => sock.send(Buffer.concat([Buffer.from("ack "), buf]), rinfo.port, rinfo.address));
  const boot = `
    var S = require("Storage");
    var st = S.readJSON("day.json", true) || { n: 0, gaps: 0 };
    var woke = getTime();
    st.n++;
    if (st.n > 1 && Math.abs(woke - st.last - 60) > 0.001) st.gaps++;
    st.last = woke;
    var s = require("dgram").createSocket("udp4");
    s.on("message", function (msg) {
      if (msg !== "ack wake " + st.n) return;
      clearTimeout(retry);
      S.writeJSON("day.json", st);
      require("ESP32").deepSleep((60 - (getTime() - woke)) * 1e6);
    });
    var send = function () { s.send("wake " + st.n, ${peer.port}, "127.0.0.1"); };
    var retry = setInterval(send, 2000);
    send();`;
  const node = await startNode(t, { bundle: boot, untilMs: DAY_MS + 500 });
  await node.done;
  const st = parseEspruinoJson(node.device.storage.read("day.json").toString("latin1"));
  assert.equal(st.n, 1441, "boots at 0, 60, ..., 86400 s");
  assert.equal(st.gaps, 0, "every wake exactly 60 s after the previous one");
  assert.ok(Math.abs(st.last - 86400) < 0.5, `last wake at ${st.last}`);
  const payloads = peer.received.map((r) => r.bytes.toString());
  assert.equal(payloads.length, 1441);
  assert.deepEqual(payloads.slice(0, 3), ["wake 1", "wake 2", "wake 3"]);
  assert.equal(payloads[1440], "wake 1441");
});

const REPLY_DELAY_MS = 600;

async function raceScenario(t, clock) {
  // The peer answers after 600 ms of real time (longer than the 250 ms a virtual clock waits after traffic it does
  // not understand, so this relies on it recognising a CoAP request awaiting its reply), and ignores the first copy
  // of request 2: request 1 must beat its 1 s retransmission timer, request 2 must be retransmitted once.
  const seen = new Set();
  const peer = await udpPeer(t, (buf, rinfo, sock) => {
    const mid = buf.readUInt16BE(2);
    if (mid === 2 && !seen.has(mid)) {
      seen.add(mid);
      return;
    }
    const reply = Buffer.from([0x60, 0x45, buf[2], buf[3]]);
    setTimeout(() => sock.send(reply, rinfo.port, rinfo.address), REPLY_DELAY_MS);
  });
  const node = await startNode(t, { bundle: null, clock });
  const d = node.device;
  await d.exec(COAP_GET_SOURCE);
  await d.exec(`var t0 = getTime();
    function stamp() { return Math.round((getTime() - t0) * 1000); }
    coapGet(${peer.port}, 1, 1000, 2, function (err, tries, code) {
      print("race: 1 " + err + " tries " + tries + " " + code + " at " + stamp());
      setTimeout(function () {
        coapGet(${peer.port}, 2, 1000, 2, function (err, tries, code) {
          print("race: 2 " + err + " tries " + tries + " " + code + " at " + stamp());
        });
      }, 2000);
    });`);
  await d.waitForOutput(/^race: 2 /, { realTimeoutMs: 20000 });
  return d.lines.filter((l) => l.startsWith("race: ")).map((l) => {
    const [, what, at] = /^race: (.*) at (\d+)$/.exec(l);
    return { what, at: Number(at) };
  });
}

test("a short run gives the same outcome on the virtual clock as on the real one", async (t) => {
  const real = await raceScenario(t, "real");
  const virtual = await raceScenario(t, "virtual");
  const expected = ["1 null tries 1 2.05", "2 null tries 2 2.05"];
  assert.deepEqual(real.map((r) => r.what), expected);
  assert.deepEqual(virtual.map((r) => r.what), expected);
  // Request 1 completes after ~0.6 s; request 2 is sent at ~2.6 s, retransmitted at ~3.6 s, answered 0.6 s later.
  for (const [i, around] of [[0, REPLY_DELAY_MS], [1, 2 * REPLY_DELAY_MS + 3000]]) {
    for (const run of [real, virtual]) assert.ok(Math.abs(run[i].at - around) < 400, `${JSON.stringify(run)}`);
  }
});

test("the virtual clock's idea of a datagram in flight: CoAP replies by message ID and token, other traffic by time", () => {
  let now = 0;
  const io = createIoWatch({ settleMs: 250, replyWaitMs: 2000, now: () => now });
  const server = { address: "127.0.0.1", port: 5683 };
  const con = (mid, token) => Buffer.from([0x40 | token.length, 0x02, mid >> 8, mid & 255, ...token]);
  assert.equal(io.remainingMs(), 0);
  io.sent(con(1, [0xaa]), 5683, "127.0.0.1");
  assert.equal(io.remainingMs(), 2000);
  io.received(Buffer.from([0x60, 0x44, 0, 1, ...[]]), server); // empty-token 2.04 ACK: the ACK, not the response
  assert.equal(io.remainingMs(), 2000, "still waiting for the response with token aa");
  now = 500;
  io.received(Buffer.from([0x51, 0x44, 0x70, 0x00, 0xaa]), server); // separate NON 2.04 with token aa
  assert.equal(io.remainingMs(), 0);
  io.sent(con(2, [0xbb]), 5683, "127.0.0.1");
  io.received(Buffer.from([0x70, 0x00, 0, 2]), server); // RST rejects message 2 and so its request
  assert.equal(io.remainingMs(), 0);
  io.sent(Buffer.from([0x60, 0x00, 0x70, 0x00]), 5683, "127.0.0.1"); // our empty ACK expects nothing back
  assert.equal(io.remainingMs(), 0);
  io.sent(con(4, [0xdd]), 5683, "127.0.0.1");
  io.received(Buffer.from([0x41, 0x41, 0x70, 0x01, 0xdd]), server); // a separate CON 2.01 before any ACK: both done
  assert.equal(io.remainingMs(), 0);
  io.sent(con(3, [0xcc]), 5683, "127.0.0.1");
  now = 2500;
  assert.equal(io.remainingMs(), 0, "a reply that never came is given up after replyWaitMs");
  const record = (type, body) => Buffer.from([type, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 1, 0, body.length, ...body]);
  io.sent(record(22, [1, 0, 0]), 5684, "127.0.0.1"); // a DTLS handshake record: held by time
  assert.equal(io.remainingMs(), 250);
  now = 3000;
  io.sent(record(23, [9, 9]), 5684, "127.0.0.1"); // application data from a peer without plaintext reports: by time
  assert.equal(io.remainingMs(), 250);
  now = 3500;
  io.plaintextFrom("127.0.0.1", 5684);
  io.sent(record(23, [9, 9]), 5684, "127.0.0.1"); // now the plaintext inside decides
  assert.equal(io.remainingMs(), 0);
  io.sent(con(5, [0xee]), 5684, "127.0.0.1");
  assert.equal(io.remainingMs(), 2000);
  io.clear();
  assert.equal(io.remainingMs(), 0);
});

test("the in-flight watch wakes a sleeping clock when a wait ends, and holds for exchanges on real timers", () => {
  let now = 0;
  let settled = 0;
  const io = createIoWatch({ settleMs: 250, replyWaitMs: 2000, now: () => now, onSettled: () => settled++ });
  io.sent(Buffer.from([0x41, 0x01, 0, 9, 0x77]), 5683, "127.0.0.1");
  io.received(Buffer.from([0x61, 0x45, 0, 9, 0x77]), { address: "127.0.0.1", port: 5683 });
  assert.equal(settled, 1, "a reply (even one the link then drops) ends the wait at once");
  const release = io.hold(10000);
  now = 5000;
  assert.equal(io.remainingMs(), 250, "a hold keeps real pace, re-checked every settleMs");
  release();
  assert.equal(settled, 2);
  assert.equal(io.remainingMs(), 0);
  io.hold(1000);
  now = 6001;
  assert.equal(io.remainingMs(), 0, "a hold lapses after its maximum");
});
