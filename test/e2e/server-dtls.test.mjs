// CoAP over DTLS 1.2 on the server's DTLS port: ThingsBoard's guide command with -R (one-way, access token),
// two-way X.509 mapped to devices, unknown and expired client certificates, and with our own DTLS client the
// RFC 9146 Connection ID and session resumption.
import test from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import dgram from "node:dgram";
import { createCa, issueCert } from "../../host/dtls/pki.mjs";
import { createDtlsModule } from "../../host/dtls/module.mjs";
import { testServer, http, tempDir, createDevice, coap, Type, Code, requestOptions } from "../server-support.mjs";

function coapsClient(args, timeoutMs = 20000) {
  return new Promise((resolve) => {
    execFile("coap-client-openssl", args, { encoding: "utf8", timeout: timeoutMs }, (err, stdout, stderr) => resolve({ code: err ? err.code ?? err.signal : 0, stdout, stderr }));
  });
}

async function dtlsServer(t) {
  const dir = tempDir(t);
  const ca = createCa(dir, "ca");
  const server = issueCert(ca, "server", { cn: "localhost", dns: ["localhost"], ips: ["127.0.0.1"] });
  const s = await testServer(t, { dtlsPort: 0, dtlsCert: server.pem, dtlsKey: server.keyPem });
  return { s, ca, dir };
}

const keys = async (s, id) => (await http(s, "GET", `/api/plugins/telemetry/DEVICE/${id}/keys/timeseries`)).body;

test("ThingsBoard's DTLS guide command: coap-client -R ca.pem with an access token", async (t) => {
  const { s, ca } = await dtlsServer(t);
  const d = await createDevice(s);
  const r = await coapsClient(["-m", "POST", "-R", ca.cert, `coaps://127.0.0.1:${s.dtlsPort}/api/v1/${d.token}/telemetry`, "-t", "json", "-e", "{temperature:25}"]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /unknown CA|verify failed/);
  assert.deepEqual(await keys(s, d.id), ["temperature"]);
  assert.ok(s.logs.some((l) => /session established: TLS-ECDHE-ECDSA-WITH-AES-\d+-(GCM|CCM)/.test(l)), "an ECDHE-ECDSA AEAD suite");
});

test("two-way X.509: the registered certificate is the device, token-less paths work, unknown certificates get 4.01", async (t) => {
  const { s, ca, dir } = await dtlsServer(t);
  const node = issueCert(ca, "node-7", { usage: "client" });
  const stranger = issueCert(createCa(dir, "other"), "stranger", { usage: "client" });
  const expired = issueCert(ca, "old", { usage: "client", notBefore: new Date(Date.now() - 10 * 86400e3), notAfter: new Date(Date.now() - 86400e3) });
  const created = await http(s, "POST", "/api/device-with-credentials", { device: { name: "node-7" }, credentials: { credentialsType: "X509_CERTIFICATE", credentialsValue: node.pem } });
  assert.equal(created.status, 200);
  const id = created.body.id.id;
  const url = (p) => `coaps://127.0.0.1:${s.dtlsPort}${p}`;
  const withCert = (c, ...rest) => ["-R", ca.cert, "-c", c.cert, "-j", c.key, ...rest];
  let r = await coapsClient(withCert(node, "-m", "POST", url("/api/v1/telemetry"), "-t", "json", "-e", "{x509:1}"));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await keys(s, id), ["x509"]);
  await http(s, "POST", `/api/plugins/telemetry/DEVICE/${id}/attributes/SHARED_SCOPE`, { mode: "eco" });
  r = await coapsClient(withCert(node, "-m", "GET", url("/api/v1/attributes")));
  assert.deepEqual(JSON.parse(r.stdout), { shared: { mode: "eco" } });
  // a certificate nobody registered still completes the handshake: token-less 4.01, token paths work
  const other = await createDevice(s);
  r = await coapsClient(withCert(stranger, "-m", "POST", url("/api/v1/telemetry"), "-t", "json", "-e", "{a:1}"));
  assert.match(r.stderr, /4\.01/);
  r = await coapsClient(withCert(stranger, "-m", "POST", url(`/api/v1/${other.token}/telemetry`), "-t", "json", "-e", "{viaToken:1}"));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await keys(s, other.id), ["viaToken"]);
  // an expired certificate is refused
  r = await coapsClient(withCert(expired, "-B", "3", "-m", "POST", url(`/api/v1/${other.token}/telemetry`), "-t", "json", "-e", "{expired:1}"));
  assert.deepEqual(await keys(s, other.id), ["viaToken"]);
  assert.ok(s.logs.some((l) => /client certificate expired/.test(l)));
});

/** Our DTLS client (the firmware's DTLS module on Node); messages are 8-bit strings. */
function connect(options) {
  const dtls = createDtlsModule({ log: () => {} });
  return new Promise((resolve, reject) => {
    const socket = dtls.connect({ retransmitMinMs: 200, retransmitMaxMs: 1600, ...options });
    const inbox = [];
    let waiter = null;
    socket.on("message", (m) => { inbox.push(coap.decodeMessage(Uint8Array.from(Buffer.from(m, "latin1")))); waiter?.(); });
    socket.on("error", reject);
    socket.on("connect", (info) => resolve({
      socket, info,
      send: (m) => socket.send(Buffer.from(coap.encodeMessage(m)).toString("latin1")),
      async next(ms = 3000) {
        const end = Date.now() + ms;
        while (!inbox.length) {
          if (Date.now() > end) throw new Error("no message");
          await new Promise((r) => { waiter = r; setTimeout(r, 50); });
        }
        return inbox.shift();
      },
    }));
  });
}

const close = (socket) => new Promise((r) => { socket.on("close", r); socket.close(); });

test("our DTLS client: 8-byte Connection ID, then an abbreviated handshake with the saved session", async (t) => {
  const { s, ca } = await dtlsServer(t);
  const d = await createDevice(s);
  const post = (c, n) => {
    const m = { type: Type.CON, code: Code.POST, messageId: 100 + n, token: Uint8Array.of(n), options: requestOptions(`api/v1/${d.token}/telemetry`), payload: new TextEncoder().encode(`{n:${n}}`) };
    c.send(m);
    return m;
  };
  const c1 = await connect({ host: "127.0.0.1", port: s.dtlsPort, ca: ca.pem, connectionId: true });
  assert.equal(c1.info.resumed, false);
  post(c1, 1);
  const r1 = await c1.next();
  assert.deepEqual([r1.type, r1.code], [Type.CON, Code.CREATED]);
  c1.send({ type: Type.ACK, code: 0, messageId: r1.messageId, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) });
  assert.ok(s.logs.some((l) => /session established: .*, CID/.test(l)), "the server gave a Connection ID");
  const saved = c1.socket.exportSession();
  await close(c1.socket);
  const c2 = await connect({ host: "127.0.0.1", port: s.dtlsPort, ca: ca.pem, connectionId: true, session: saved });
  assert.equal(c2.info.resumed, true);
  post(c2, 2);
  assert.equal((await c2.next()).code, Code.CREATED);
  await close(c2.socket);
  const hist = await http(s, "GET", `/api/plugins/telemetry/DEVICE/${d.id}/values/timeseries?keys=n&startTs=0&orderBy=ASC&useStrictDataTypes=true`);
  assert.deepEqual(hist.body.n.map((e) => e.value), [1, 2]);
});

/** A NAT in front of the server whose outside port changes on rebind(). */
async function nat(t, serverPort) {
  const inside = dgram.createSocket("udp4");
  let client = null;
  const outsideSocket = () => new Promise((resolve) => {
    const s = dgram.createSocket("udp4");
    s.on("message", (m) => client && inside.send(m, client.port, client.address));
    s.bind(0, "127.0.0.1", () => resolve(s));
  });
  let outside = await outsideSocket();
  inside.on("message", (m, rinfo) => { client = rinfo; outside.send(m, serverPort, "127.0.0.1"); });
  await new Promise((r) => inside.bind(0, "127.0.0.1", r));
  t.after(() => { inside.close(); outside.close(); });
  return {
    port: inside.address().port,
    async rebind() {
      const old = outside;
      outside = await outsideSocket();
      old.close();
    },
  };
}

test("after a CID address move: replies follow, old observations and token-less X.509 do not (as in ThingsBoard)", async (t) => {
  const { s, ca } = await dtlsServer(t);
  const node = issueCert(ca, "node-9", { usage: "client" });
  const created = await http(s, "POST", "/api/device-with-credentials", { device: { name: "node-9" }, credentials: { credentialsType: "X509_CERTIFICATE", credentialsValue: node.pem } });
  const id = created.body.id.id;
  const other = await createDevice(s);
  const relay = await nat(t, s.dtlsPort);
  const c = await connect({ host: "127.0.0.1", port: relay.port, ca: ca.pem, cert: node.pem, key: node.keyPem, connectionId: true });
  t.after(() => close(c.socket));
  let mid = 500;
  const request = (code, path, { payload = "", observe } = {}) => {
    const m = { type: Type.CON, code, messageId: ++mid, token: Uint8Array.of(mid & 255, mid >> 8), options: requestOptions(path, { observe }), payload: new TextEncoder().encode(payload) };
    c.send(m);
    return m;
  };
  const ack = (m) => c.send({ type: Type.ACK, code: 0, messageId: m.messageId, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) });
  request(Code.GET, "api/v1/attributes", { observe: 0 });
  assert.equal((await c.next()).code, Code.CONTENT);
  await http(s, "POST", `/api/plugins/telemetry/DEVICE/${id}/attributes/SHARED_SCOPE`, { v: 1 });
  const n1 = await c.next();
  assert.equal(new TextDecoder().decode(n1.payload), '{"v":1}');
  ack(n1);
  await relay.rebind();
  request(Code.POST, "api/v1/telemetry", { payload: "{moved:1}" });
  const denied = await c.next();
  assert.equal(denied.code, Code.UNAUTHORIZED, "token-less X.509 from the new address");
  request(Code.POST, `api/v1/${other.token}/telemetry`, { payload: "{moved:1}" });
  const ok = await c.next();
  assert.equal(ok.code, Code.CREATED, "the reply reaches the new address");
  ack(ok);
  await http(s, "POST", `/api/plugins/telemetry/DEVICE/${id}/attributes/SHARED_SCOPE`, { v: 2 });
  await assert.rejects(c.next(600), /no message/, "the notification went to the old address and was dropped");
  assert.ok(s.logs.some((l) => /connection missing/.test(l)));
});

test("a resumed session is the X.509 device again only from the address of its full handshake", async (t) => {
  const { s, ca } = await dtlsServer(t);
  const node = issueCert(ca, "node-3", { usage: "client" });
  await http(s, "POST", "/api/device-with-credentials", { device: { name: "node-3" }, credentials: { credentialsType: "X509_CERTIFICATE", credentialsValue: node.pem } });
  const relay = await nat(t, s.dtlsPort); // keeps one outside address whatever the client's own port
  let mid = 900;
  const tokenless = async (c) => {
    c.send({ type: Type.CON, code: Code.POST, messageId: ++mid, token: Uint8Array.of(mid & 255), options: requestOptions("api/v1/telemetry"), payload: new TextEncoder().encode("{r:1}") });
    const m = await c.next();
    c.send({ type: Type.ACK, code: 0, messageId: m.messageId, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) });
    return m.code;
  };
  const opts = { host: "127.0.0.1", ca: ca.pem, cert: node.pem, key: node.keyPem };
  const c1 = await connect({ ...opts, port: relay.port });
  assert.equal(await tokenless(c1), Code.CREATED);
  const saved = c1.socket.exportSession();
  await close(c1.socket);
  const same = await connect({ ...opts, port: relay.port, session: saved });
  assert.equal(same.info.resumed, true);
  assert.equal(await tokenless(same), Code.CREATED, "same outside address: still the device");
  await close(same.socket);
  const direct = await connect({ ...opts, port: s.dtlsPort, session: saved });
  assert.equal(direct.info.resumed, true);
  assert.equal(await tokenless(direct), Code.UNAUTHORIZED, "another address: 4.01 until a full handshake");
  await close(direct.socket);
});

/** openssl s_client offering one cipher suite: resolves with its output once connected or refused. */
function sClient(port, ca, cipher) {
  return new Promise((resolve) => {
    const p = spawn("openssl", ["s_client", "-dtls1_2", "-connect", `127.0.0.1:${port}`, "-cipher", cipher, "-CAfile", ca, "-brief"], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    const seen = (d) => {
      out += d;
      if (/CONNECTION ESTABLISHED/.test(out)) p.stdin.end();
    };
    p.stdout.on("data", seen);
    p.stderr.on("data", seen);
    const killer = setTimeout(() => p.kill(), 10000);
    p.on("exit", () => { clearTimeout(killer); resolve(out); });
  });
}

test("only the recommended AEAD suites: CCM-8 and GCM are accepted, CBC is refused", async (t) => {
  const { s, ca } = await dtlsServer(t);
  assert.match(await sClient(s.dtlsPort, ca.cert, "ECDHE-ECDSA-AES128-CCM8"), /Ciphersuite: ECDHE-ECDSA-AES128-CCM8/);
  assert.match(await sClient(s.dtlsPort, ca.cert, "ECDHE-ECDSA-AES256-GCM-SHA384"), /Ciphersuite: ECDHE-ECDSA-AES256-GCM-SHA384/);
  assert.match(await sClient(s.dtlsPort, ca.cert, "ECDHE-ECDSA-AES128-SHA256"), /handshake failure/);
});
