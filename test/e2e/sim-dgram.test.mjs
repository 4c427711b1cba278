// dgram in the simulator: real UDP on 127.0.0.1 with Espruino's shapes (8-bit string datagrams, 528-byte truncation,
// what send makes of a typed array), against libcoap's server and Node peers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startNode, udpPeer, until, COAP_GET_SOURCE } from "../sim-support.mjs";
import { startLibcoapServer } from "../../host/sim/server.mjs";
import { freeUdpPort } from "../../host/dtls/peers.mjs";

test("the bundle's device exchanges a hand-encoded CoAP GET with coap-server-notls and gets 2.05", async (t) => {
  const server = await startLibcoapServer({ port: await freeUdpPort() });
  t.after(() => server.close());
  // On the real clock: without a configuration the bundle only re-checks every 30 s, so let it idle.
  const node = await startNode(t, { clock: "real" });
  const d = node.device;
  await until(() => node.traces.some((e) => e.type === "boot"), 5000, "the bundle to boot");
  await d.exec(COAP_GET_SOURCE);
  await d.exec(`coapGet(${server.port}, 0x1234, 2000, 4, function (err, tries, code, msg, rinfo) {
    print("result " + err + " " + tries + " " + code + " " + (typeof msg) + " " + rinfo.address + ":" + rinfo.port +
      " size " + rinfo.size + " len " + msg.length);
  })`);
  const line = await d.waitForOutput(/^result /);
  const m = /^result null 1 2\.05 string 127\.0\.0\.1:(\d+) size (\d+) len (\d+)$/.exec(line);
  assert.ok(m, line);
  assert.equal(Number(m[1]), server.port);
  assert.equal(m[2], m[3]);
  // What went over the wire: our request bytes out, the server's piggy-backed ACK 2.05 in.
  const udp = node.traces.filter((e) => e.type === "udp" && e.port === server.port);
  assert.deepEqual([...udp[0].bytes], [0x40, 0x01, 0x12, 0x34]);
  assert.equal(udp[1].dir, "in");
  assert.deepEqual([...udp[1].bytes.subarray(0, 4)], [0x60, 0x45, 0x12, 0x34]);
});

test("datagrams are binary-safe 8-bit strings both ways; bind's callback gets the socket", async (t) => {
  const peer = await udpPeer(t, (buf, rinfo, sock) => sock.send(buf, rinfo.port, rinfo.address));
  const node = await startNode(t, { bundle: null });
  const d = node.device;
  await d.exec(`var s = require("dgram").createSocket("udp4");
    s.on("message", function (msg, rinfo) {
      var codes = []; for (var i = 0; i < msg.length; i++) codes.push(msg.charCodeAt(i));
      print("echo " + (typeof msg) + " " + codes.join(" ") + " size " + rinfo.size);
    });
    s.bind(0, function (sock) {
      print("bound " + (sock === s));
      s.send(E.toString([0, 1, 2, 0x7f, 0x80, 0xc8, 0xff, 10, 13]), ${peer.port}, "127.0.0.1");
    });`);
  assert.equal(await d.waitForOutput(/^bound /), "bound true");
  assert.equal(await d.waitForOutput(/^echo /), "echo string 0 1 2 127 128 200 255 10 13 size 9");
  assert.deepEqual([...peer.received[0].bytes], [0, 1, 2, 0x7f, 0x80, 0xc8, 0xff, 10, 13]);
  // send(msg, offset, length, port, address) sends a slice.
  await d.exec(`s.send("abcdef", 2, 3, ${peer.port}, "127.0.0.1")`);
  await d.waitForOutput("echo string 99 100 101 size 3");
});

test("datagrams over 528 bytes are cut to 528 unless a socket asked for a larger recvBufferSize", async (t) => {
  const node = await startNode(t, { bundle: null });
  const d = node.device;
  const report = `function (msg, rinfo) { print("got " + msg.length + " size " + rinfo.size + " last " + msg.charCodeAt(msg.length - 1)); }`;
  await d.exec(`var small = require("dgram").createSocket("udp4"); small.on("message", ${report}); small.bind(0, function () { print("bound"); });`);
  await d.waitForOutput("bound");
  const big = Buffer.alloc(1000, 7);
  big[527] = 1;
  big[999] = 2;
  const peer = await udpPeer(t);
  const [{ port }] = d.sockets();
  peer.sock.send(big, port, "127.0.0.1");
  assert.equal(await d.waitForOutput(/^got /), "got 528 size 528 last 1");
  // recvBufferSize is global on Espruino: once any socket asks for more, all receive more.
  await d.exec(`var large = require("dgram").createSocket({ type: "udp4", recvBufferSize: 2048 }); large.bind(0);`);
  const l = d.lineCount;
  peer.sock.send(big, port, "127.0.0.1");
  assert.equal(await d.waitForOutput(/^got /, { fromLine: l }), "got 1000 size 1000 last 2");
});

test("send of a Uint8Array sends its text (\"7,8,0,255\"), not its bytes: the transport sends E.toString(bytes)", async (t) => {
  const peer = await udpPeer(t);
  const node = await startNode(t, { bundle: null });
  await node.device.exec(`var s = require("dgram").createSocket("udp4"); s.send(new Uint8Array([7, 8, 0, 255]), ${peer.port}, "127.0.0.1");`);
  await until(() => peer.received.length === 1, 5000, "the datagram");
  assert.equal(peer.received[0].bytes.toString("latin1"), "7,8,0,255");
});
