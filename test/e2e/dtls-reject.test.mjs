// Every rejection of the DTLS client gives its own error in words, and no application data leaves the node: the
// request is queued by send() before the handshake and must never appear on the wire.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createDgramModule, directLink } from "../../host/espruino/dgram.mjs";
import { createDtlsModule } from "../../host/dtls/module.mjs";
import { createCa, issueCert } from "../../host/dtls/pki.mjs";
import dgram from "node:dgram";
import { startOpensslServer, startCoapServer, freeUdpPort, coapGet } from "../../host/dtls/peers.mjs";
import { tempDir } from "../temp-dir.mjs";

const dir = tempDir({ after }, "dtls-reject-");
let ca, otherCa, good, foreign, expired, future, dnsOnly;
before(() => {
  ca = createCa(dir, "ca");
  otherCa = createCa(dir, "other");
  good = issueCert(ca, "good", { dns: ["localhost"], ips: ["127.0.0.1"] });
  foreign = issueCert(otherCa, "foreign", { dns: ["localhost"], ips: ["127.0.0.1"] });
  const day = 86400e3;
  expired = issueCert(ca, "expired", { ips: ["127.0.0.1"], notBefore: new Date(Date.now() - 400 * day), notAfter: new Date(Date.now() - 30 * day) });
  future = issueCert(ca, "future", { ips: ["127.0.0.1"], notBefore: new Date(Date.now() + 30 * day), notAfter: new Date(Date.now() + 400 * day) });
  dnsOnly = issueCert(ca, "dns-only", { dns: ["localhost"] });
});

/** Connects with a request queued at once; resolves with the error event and every datagram we sent. */
function expectFailure(options) {
  const sent = [];
  const link = {
    outbound: (bytes, port, address, deliver) => {
      sent.push(bytes);
      directLink.outbound(bytes, port, address, deliver);
    },
    inbound: directLink.inbound,
  };
  const dtls = createDtlsModule({ dgram: createDgramModule({ link }), log: () => {} });
  return new Promise((resolve, reject) => {
    // Generous enough that a slow peer on a loaded machine still answers before our handshake gives up.
    const socket = dtls.connect({ retransmitMinMs: 250, retransmitMaxMs: 2000, ...options });
    socket.send(coapGet(["secret"]).toString("latin1"));
    const timer = setTimeout(() => reject(new Error("no error within 10 s")), 10000);
    let error = null;
    socket.on("connect", () => reject(new Error("connected although it must not")));
    socket.on("error", (e) => (error = e));
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ error, sent });
    });
  });
}

function assertNoApplicationData(sent) {
  for (const d of sent) {
    for (let off = 0; off + 13 <= d.length; off += 13 + d.readUInt16BE(off + 11)) {
      assert.notEqual(d[off], 23, "an application-data record was sent");
      assert.notEqual(d[off], 25, "a CID (encrypted application) record was sent");
    }
  }
}

async function againstOpenssl(serverOptions, clientOptions) {
  const server = await startOpensslServer(serverOptions);
  try {
    const result = await expectFailure({ host: "127.0.0.1", port: server.port, ...clientOptions });
    assertNoApplicationData(result.sent.map((b) => Buffer.from(b)));
    assert.doesNotMatch(server.output(), /secret/);
    return result.error;
  } finally {
    await server.stop();
  }
}

test("certificate from another CA", async () => {
  const error = await againstOpenssl({ cert: foreign.cert, key: foreign.key }, { ca: ca.pem });
  assert.deepEqual(error, { code: "UNKNOWN_CA", message: "server certificate is not signed by a trusted CA (Unknown CA)" });
});

test("expired certificate", async () => {
  const error = await againstOpenssl({ cert: expired.cert, key: expired.key }, { ca: ca.pem });
  assert.deepEqual(error, { code: "CERT_EXPIRED", message: "server certificate has expired" });
});

test("certificate not yet valid", async () => {
  const error = await againstOpenssl({ cert: future.cert, key: future.key }, { ca: ca.pem });
  assert.deepEqual(error, { code: "CERT_NOT_YET_VALID", message: "server certificate is not yet valid" });
});

test("wrong host name", async () => {
  const error = await againstOpenssl({ cert: good.cert, key: good.key }, { ca: ca.pem, servername: "thingsboard.example" });
  assert.deepEqual(error, { code: "HOSTNAME_MISMATCH", message: 'server certificate does not match the host name "thingsboard.example"' });
});

test("IP address not in the certificate (DNS name only)", async () => {
  const error = await againstOpenssl({ cert: dnsOnly.cert, key: dnsOnly.key }, { ca: ca.pem });
  assert.deepEqual(error, { code: "HOSTNAME_MISMATCH", message: 'server certificate does not match the host name "127.0.0.1"' });
});

test("server demanding a client certificate we do not have", async () => {
  const error = await againstOpenssl({ cert: good.cert, key: good.key, caFile: ca.cert, requireClientCert: true }, { ca: ca.pem });
  assert.equal(error.code, "CLIENT_CERT_REQUIRED");
  assert.match(error.message, /^server requires a client certificate \(alert received: (handshake failure|certificate required|bad certificate)\)$/);
});

test("no cipher suite in common: the server's alert is reported", async () => {
  // The server allows only PSK suites while we offer certificate suites.
  const error = await againstOpenssl({ psk: "00112233", pskIdentity: "x" }, { ca: ca.pem });
  assert.deepEqual(error, { code: "ALERT_RECEIVED", message: "alert received from the peer: handshake failure (40)" });
});

test("wrong pre-shared key", async () => {
  const server = await startCoapServer({ psk: "the-right-key" });
  try {
    const { error, sent } = await expectFailure({ host: "127.0.0.1", port: server.port, psk: "a-wrong-key!!", pskIdentity: "node" });
    assert.equal(error.code, "HANDSHAKE_TIMEOUT");
    assert.equal(error.message, "handshake timeout: the server never answered our Finished message (wrong pre-shared key or identity?)");
    assertNoApplicationData(sent.map((b) => Buffer.from(b)));
  } finally {
    await server.stop();
  }
});

test("no server at all: handshake timeout", async () => {
  const port = await freeUdpPort();
  const { error, sent } = await expectFailure({ host: "127.0.0.1", port, ca: ca.pem });
  assert.deepEqual(error, { code: "HANDSHAKE_TIMEOUT", message: "handshake timeout: no answer from the peer" });
  // 250 ms doubling to 2 s: the first ClientHello and its retransmissions, nothing else.
  assert.ok(sent.length >= 3 && sent.every((d) => d[0] === 22), `sent ${sent.length}`);
});

test("a peer whose datagrams exceed our record buffer: the timeout says so", async () => {
  const peer = dgram.createSocket("udp4");
  peer.on("message", (m, rinfo) => peer.send(Buffer.alloc(6000, 22), rinfo.port, rinfo.address));
  await new Promise((r) => peer.bind(0, "127.0.0.1", r));
  try {
    const { error } = await expectFailure({ host: "127.0.0.1", port: peer.address().port, ca: ca.pem });
    assert.deepEqual(error, {
      code: "HANDSHAKE_TIMEOUT",
      message: "handshake timeout: the peer's datagrams (6000 bytes) exceed our receive buffer (MBEDTLS_SSL_IN_CONTENT_LEN)",
    });
  } finally {
    peer.close();
  }
});

test("bad configuration is refused in words", () => {
  const dtls = createDtlsModule({ log: () => {} });
  assert.throws(() => dtls.connect({ host: "127.0.0.1", port: 5684, ca: "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n" }),
    /^Error: DTLS: cannot use the CA certificate\(s\) \(option ca\): a certificate in it is damaged \(mbedTLS error -0x[0-9a-f]{4}\)$/);
  const refused = (caText) => {
    try {
      dtls.connect({ host: "127.0.0.1", port: 5684, ca: caText });
    } catch (e) {
      return e.message;
    }
    return "accepted";
  };
  assert.equal(refused("hello, I am not a certificate\n"),
    "DTLS: cannot use the CA certificate(s) (option ca): it is not a certificate: neither PEM text (-----BEGIN CERTIFICATE-----) nor DER");
  assert.equal(refused(good.keyPem), `DTLS: cannot use the CA certificate(s) (option ca): it holds a PEM ${/-----BEGIN ([A-Z ]+)-----/.exec(good.keyPem)[1].toLowerCase()}, not a certificate`);
  assert.equal(refused(ca.pem.slice(0, 200)), "DTLS: cannot use the CA certificate(s) (option ca): a certificate's PEM block is cut short (no -----END CERTIFICATE-----)");
  assert.throws(() => dtls.connect({ host: "127.0.0.1", port: 5684, ca: ca.pem, cert: good.pem }), /cert and key must be given together/);
  assert.throws(() => dtls.connect({ host: "127.0.0.1", port: 0, ca: ca.pem }), /bad port 0/);
});
