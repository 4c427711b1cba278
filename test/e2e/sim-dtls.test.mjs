// The simulator's DTLS module (host/dtls's WebAssembly build) against coap-server-openssl: a verified handshake on
// the node's link, a CoAP GET inside it, and certificate validity checked against the node's own clock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startNode, tempDir } from "../sim-support.mjs";
import { createCa, issueCert } from "../../host/dtls/pki.mjs";
import { startCoapServer } from "../../host/dtls/peers.mjs";

async function dtlsPeer(t) {
  const dir = tempDir(t, "sim-dtls-");
  const ca = createCa(dir);
  const server = issueCert(ca, "server", { cn: "localhost", dns: ["localhost"], ips: ["127.0.0.1"] });
  const peer = await startCoapServer({ cert: server.cert, key: server.key });
  t.after(() => peer.stop());
  return { ca, port: peer.port };
}

const GET_OVER_DTLS = (port, caPem) => `
  var c = require("DTLS").connect({ host: "127.0.0.1", port: ${port}, ca: ${JSON.stringify(caPem)} });
  c.on("connect", function (info) {
    print("dtls connected " + info.cipher);
    c.send(String.fromCharCode(0x40, 0x01, 0x0b, 0x0c));
  });
  c.on("message", function (m) {
    print("dtls reply " + (typeof m) + " " + (m.charCodeAt(1) >> 5) + "." + ("0" + (m.charCodeAt(1) & 31)).slice(-2));
    c.close();
  });
  c.on("error", function (e) { print("dtls error " + e.code + ": " + e.message); });`;

test("a node with its clock set does a verified DTLS handshake and a CoAP GET with coap-server-openssl", async (t) => {
  const { ca, port } = await dtlsPeer(t);
  const node = await startNode(t, { bundle: null, rtcMs: "host", network: { delayMs: 20 } });
  await node.device.exec(GET_OVER_DTLS(port, ca.pem));
  assert.match(await node.device.waitForOutput(/^dtls (connected|error)/), /^dtls connected /);
  assert.equal(await node.device.waitForOutput(/^dtls (reply|error)/), "dtls reply string 2.05");
  const udp = node.traces.filter((e) => e.type === "udp");
  assert.ok(udp.length >= 4 && udp[0].bytes[0] === 22, "the handshake went through the node's traced link");
});

test("a node whose RTC still says 1970 fails certificate verification, as a board would", async (t) => {
  const { ca, port } = await dtlsPeer(t);
  const node = await startNode(t, { bundle: null });
  await node.device.exec(GET_OVER_DTLS(port, ca.pem));
  const line = await node.device.waitForOutput(/^dtls (connected|error)/);
  assert.equal(line, "dtls error CERT_NOT_YET_VALID: server certificate is not yet valid");
  assert.doesNotMatch(node.device.lines.join("\n"), /dtls reply/);
});

test("with loss on the link the handshake retransmits (the clock keeps real pace while it runs) and the GET still gets through", async (t) => {
  const { ca, port } = await dtlsPeer(t);
  const node = await startNode(t, { bundle: null, rtcMs: "host", seed: 5, network: { lossOut: 0.25, lossIn: 0.25 } });
  // The firmware's own CoAP retransmission, as the application does it, over the DTLS socket.
  await node.device.exec(`var c = require("DTLS").connect({ host: "127.0.0.1", port: ${port}, ca: ${JSON.stringify(ca.pem)} });
    var get = String.fromCharCode(0x40, 0x01, 0x0b, 0x0c), timer = 0, tries = 0;
    function send() { tries++; c.send(get); timer = setTimeout(send, 2000 * tries); }
    // A handshake deadline on the firmware's clock: the handshake's own retransmissions must race it as on a board.
    var deadline = setTimeout(function () { print("dtls gave up"); c.close(); }, 30000);
    c.on("connect", function () { clearTimeout(deadline); send(); });
    c.on("message", function (m) {
      clearTimeout(timer);
      print("dtls reply " + (m.charCodeAt(1) >> 5) + "." + ("0" + (m.charCodeAt(1) & 31)).slice(-2) + " after " + tries);
      c.close();
    });
    c.on("error", function (e) { print("dtls error " + e.code + ": " + e.message); });`);
  const line = await node.device.waitForOutput(/^dtls (reply|error|gave up)/, { realTimeoutMs: 90000 });
  assert.match(line, /^dtls reply 2\.05 after \d+$/, node.traces.filter((e) => e.type === "udp" || e.type === "link").map((e) => `${e.t} ${e.type} ${e.dir} ${e.fate || ""} ${(e.bytes || []).length}`).join("\n"));
  assert.ok(node.traces.some((e) => e.type === "link" && e.fate === "lost"), "the link lost datagrams");
});
