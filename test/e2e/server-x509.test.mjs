// Token-less X.509 requests through the transport hook (handleDatagram with a peer that carries its client
// certificate, as a DTLS transport delivers it): certificate identity wins, unknown certificates fall back to the
// token path, unchecked errors get no response, /fw has no certificate authentication.
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { testServer, http, tempDir, createDevice, requestOptions, Type, Code, coap, sleep } from "../server-support.mjs";

function certificate(dir, name) {
  const key = path.join(dir, `${name}.key`);
  const crt = path.join(dir, `${name}.pem`);
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", crt, "-days", "2", "-subj", `/CN=${name}`], { stdio: "ignore" });
  return fs.readFileSync(crt, "utf8");
}

/** A fake transport peer: what the server sends to it is decoded into `got`; CON messages are acknowledged. */
function peer(s, certificate, port) {
  const got = [];
  let mid = 100;
  const p = {
    id: `test:${port}`, address: "127.0.0.1", port, certificate,
    send(b) {
      const m = coap.decodeMessage(Uint8Array.from(b));
      got.push(m);
      if (m.type === Type.CON) setImmediate(() => s.handleDatagram(p, coap.encodeMessage({ type: Type.ACK, code: 0, messageId: m.messageId, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) })));
    },
  };
  return {
    got,
    request(code, pathStr, payload = "") {
      const m = { type: Type.CON, code, messageId: ++mid, token: Uint8Array.of(mid), options: requestOptions(pathStr), payload: new TextEncoder().encode(payload) };
      s.handleDatagram(p, coap.encodeMessage(m));
      return m;
    },
  };
}

test("X.509 certificate identity: token-less paths, certificate beats token, unknown certificate, no response on errors", async (t) => {
  const dir = tempDir(t);
  const s = await testServer(t, { piggybackTimeoutMs: 50 });
  const pem = certificate(dir, "node-x");
  const created = await http(s, "POST", "/api/device-with-credentials", { device: { name: "x509-node" }, credentials: { credentialsType: "X509_CERTIFICATE", credentialsValue: pem } });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const id = created.body.id.id;
  const other = await createDevice(s, "token-node");
  const c = peer(s, pem, 1);
  c.request(Code.POST, "api/v1/telemetry", "{x509:1}");
  c.request(Code.POST, `api/v1/${other.token}/telemetry`, "{viaCert:1}"); // the certificate wins over the token
  await sleep(20);
  assert.deepEqual(c.got.map((m) => [m.type, m.code]), [[Type.CON, Code.CREATED], [Type.CON, Code.CREATED]]);
  const mine = await http(s, "GET", `/api/plugins/telemetry/DEVICE/${id}/keys/timeseries`);
  assert.deepEqual(mine.body, ["viaCert", "x509"]);
  assert.deepEqual((await http(s, "GET", `/api/plugins/telemetry/DEVICE/${other.id}/keys/timeseries`)).body, []);
  // X.509 RPC reply form /api/v1/rpc/{id}; a broken reply gets no response at all, only the deferred empty ACK
  c.got.length = 0;
  const r = c.request(Code.POST, "api/v1/rpc/0", "[1]");
  await sleep(120);
  assert.deepEqual(c.got.map((m) => [m.type, m.code, m.messageId]), [[Type.ACK, 0, r.messageId]]);
  // OTA has no certificate authentication
  c.got.length = 0;
  c.request(Code.GET, "fw");
  await sleep(20);
  assert.deepEqual(c.got.map((m) => m.code), [0, Code.UNAUTHORIZED]);
  // an unknown certificate: token-less requests 4.01, token paths still work
  const u = peer(s, certificate(dir, "stranger"), 2);
  u.request(Code.POST, "api/v1/telemetry", "{a:1}");
  u.request(Code.POST, `api/v1/${other.token}/telemetry`, "{a:1}");
  await sleep(20);
  assert.deepEqual(u.got.map((m) => m.code), [Code.UNAUTHORIZED, Code.CREATED]);
});
