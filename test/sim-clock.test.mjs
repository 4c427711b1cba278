// The virtual clock: a simulated day of a node that wakes every minute, and a short run whose retransmission timer
// races real UDP replies, with the same outcome as on the real clock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startNode, udpPeer, COAP_GET_SOURCE } from "./sim-support.mjs";

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
    function send() { s.send("wake " + st.n, ${peer.port}, "127.0.0.1"); }
    var retry = setInterval(send, 2000);
    send();`;
  const node = await startNode(t, { bundle: boot, untilMs: DAY_MS + 500 });
  await node.done;
  const st = JSON.parse(node.device.storage.read("day.json").toString("latin1"));
  assert.equal(st.n, 1441, "boots at 0, 60, ..., 86400 s");
  assert.equal(st.gaps, 0, "every wake exactly 60 s after the previous one");
  assert.ok(Math.abs(st.last - 86400) < 0.5, `last wake at ${st.last}`);
  const payloads = peer.received.map((r) => r.bytes.toString());
  assert.equal(payloads.length, 1441);
  assert.deepEqual(payloads.slice(0, 3), ["wake 1", "wake 2", "wake 3"]);
  assert.equal(payloads[1440], "wake 1441");
});

async function raceScenario(t, clock) {
  // The peer answers after 100 ms of real time, and ignores the first copy of request 2: request 1 must beat its
  // 1 s retransmission timer, request 2 must be retransmitted once.
  const seen = new Set();
  const peer = await udpPeer(t, (buf, rinfo, sock) => {
    const mid = buf.readUInt16BE(2);
    if (mid === 2 && !seen.has(mid)) {
      seen.add(mid);
      return;
    }
    const reply = Buffer.from([0x60, 0x45, buf[2], buf[3]]);
    setTimeout(() => sock.send(reply, rinfo.port, rinfo.address), 100);
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
  // Request 1 completes after ~100 ms; request 2 is sent at ~2.1 s, retransmitted at ~3.1 s, answered ~100 ms later.
  for (const [i, around] of [[0, 100], [1, 3200]]) {
    for (const run of [real, virtual]) assert.ok(Math.abs(run[i].at - around) < 250, `${JSON.stringify(run)}`);
  }
});
