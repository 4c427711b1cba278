// CoAP over DTLS on the real Espruino interpreter: the ESP32-like build carries our DTLS module
// (firmware/espruino/dtls/), and the firmware bundle exactly as built for the ESP32-DevKitC (dist/esp32/firmware.js)
// runs from Storage against the local server's DTLS endpoint and libcoap's coap-server-openssl, over real UDP on
// 127.0.0.1. Certificates are made for each test with the openssl command line. Real time; every wait is bounded.
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { hardwareFor, runScript } from "../../host/interpreter/interpreter.mjs";
import { startRelay } from "../../host/interpreter/relay.mjs";
import { createDtlsModule } from "../../host/dtls/module.mjs";
import { createCa, issueCert } from "../../host/dtls/pki.mjs";
import { coapGet, startCoapServer } from "../../host/dtls/peers.mjs";
import { loadBoard } from "../../boards/board-file.mjs";
import { startTb, until } from "../node-support.mjs";
import { ROOT, tempDir, interpreterNode } from "../sim-support.mjs";

const BUNDLE = path.join(ROOT, "dist/esp32/firmware.js");
const HANDSHAKE = 22;
const CERTIFICATE = 11;
const SERVER_HELLO = 2;

/** The handshake messages in the plaintext (epoch 0) records of one datagram, by type number. */
function handshakeTypes(bytes) {
  const types = [];
  for (let i = 0; i + 13 <= bytes.length;) {
    const len = (bytes[i + 11] << 8) | bytes[i + 12];
    const epoch = (bytes[i + 3] << 8) | bytes[i + 4];
    if (bytes[i] === HANDSHAKE && epoch === 0 && len > 0) types.push(bytes[i + 13]);
    i += 13 + len;
  }
  return types;
}

/** The local server over DTLS (a certificate for 127.0.0.1), a relay to it, and a node on the interpreter. */
async function coapsNode(t, { name, config = {}, wire } = {}) {
  const tb = await startTb(t, { secure: true });
  const relay = await startRelay({ serverPort: tb.server.dtlsPort, onDatagram: wire || (() => {}) });
  t.after(() => relay.close());
  const node = interpreterNode(t, `${name}-`, { hardware: hardwareFor(loadBoard(path.join(ROOT, "boards/esp32.json"))) });
  node.writeStorage({
    ".bootcde": fs.readFileSync(BUNDLE),
    "ca.pem": tb.caPem,
    "node.cfg": JSON.stringify({ server: `coaps://127.0.0.1:${relay.port}`, ca: "ca.pem", wifi: { ssid: "sim" }, intervalS: 5, ...config }),
  });
  const text = () => node.lines.join("\n");
  const seen = (re, ms, what) => until(() => re.test(text()), ms, `${what}; console so far:\n${text()}`);
  return { tb, relay, node, text, seen };
}

test("real interpreter, coaps://: the server is verified against the CA, telemetry is stored, only DTLS records leave, no secret is printed", { timeout: 90000 }, async (t) => {
  const token = "dtok" + Math.random().toString(36).slice(2, 10);
  const records = [];
  const { tb, relay, node, text, seen } = await coapsNode(t, { name: "interp-dtls", config: { token }, wire: (dir, bytes) => records.push({ dir, bytes }) });
  const id = await tb.createDevice("interp-dtls", token);
  // The first ClientHellos are lost: the handshake goes on by the module's retransmission timer.
  relay.outage(2500);
  node.start();
  await seen(/node: espruino-coap-node \S+ on esp32, server 127\.0\.0\.1:\d+ \(DTLS\)/, 10000, "the firmware line");
  await seen(/node: DTLS handshake done with 127\.0\.0\.1/, 15000, "the handshake");
  // Only the node sends unprompted, so what the relay dropped was the node's: the handshake recovered from it.
  assert.ok(relay.stats.dropped >= 1, "the node's first datagrams were lost");
  await until(async () => (await tb.history(id, "temperature")).length >= 2, 20000, `two readings over DTLS; console:\n${text()}`);
  assert.deepEqual(Object.keys(await tb.rpc(id, "getReading", {}, 8000)).sort(), ["battery", "temperature"], "RPC over the DTLS observation");
  const out = records.filter((r) => r.dir === "out");
  assert.ok(out.length > 4 && out.every((r) => r.bytes[0] >= 20 && r.bytes[0] <= 25), "only DTLS records left the node");
  assert.ok(out.some((r) => r.bytes[0] === 25), "records carry the RFC 9146 Connection ID (content type 25)");
  assert.ok(!text().includes(token), "the token never appears on the console");
  assert.ok(!/Uncaught|Error/.test(text()), `no error on the console:\n${text()}`);
});

test("real interpreter, coaps://: a foreign CA, an expired certificate and a wrong host name are refused in the simulator's words", { timeout: 120000 }, async (t) => {
  const dir = tempDir(t, "interp-dtls-pki-");
  const foreign = createCa(dir, "foreign");
  const cases = [
    { what: "foreign CA", files: { "ca.pem": foreign.pem }, words: "server certificate is not signed by a trusted CA (Unknown CA)" },
    {
      what: "expired certificate",
      serverCert: (ca) => issueCert(ca, "expired", { ips: ["127.0.0.1"], notBefore: new Date(Date.now() - 10 * 86400e3), notAfter: new Date(Date.now() - 86400e3) }),
      words: "server certificate has expired",
    },
    {
      what: "wrong host name",
      serverCert: (ca) => issueCert(ca, "elsewhere", { dns: ["elsewhere.example"] }),
      words: "server certificate does not match the host name \"127.0.0.1\"",
    },
  ];
  for (const c of cases) {
    const tb = await startTb(t, { secure: true });
    const caPem = tb.caPem;
    let port = tb.server.dtlsPort;
    if (c.serverCert) {
      const cert = c.serverCert(tb.keys.ca);
      const other = await startTb(t, { dtlsPort: 0, dtlsCert: cert.pem, dtlsKey: cert.keyPem });
      port = other.server.dtlsPort;
    }
    const node = interpreterNode(t, "interp-refuse-", { hardware: hardwareFor(loadBoard(path.join(ROOT, "boards/esp32.json"))) });
    node.writeStorage({
      ".bootcde": fs.readFileSync(BUNDLE),
      "ca.pem": caPem,
      ...(c.files || {}),
      "node.cfg": JSON.stringify({ server: `coaps://127.0.0.1:${port}`, ca: "ca.pem", token: "T", wifi: { ssid: "sim" }, intervalS: 5 }),
    });
    node.start();
    await until(() => node.lines.some((l) => l.includes(c.words)), 20000, `${c.what}: "${c.words}"; console:\n${node.lines.join("\n")}`);
    const simulated = await simulatorWords(c, caPem, port);
    assert.ok(simulated.includes(c.words), `${c.what}: the simulator's module says ${simulated}`);
    await node.stop();
  }
});

/** What the simulator's DTLS module reports for the same server. */
function simulatorWords(c, caPem, port) {
  const ca = c.files && c.files["ca.pem"] ? c.files["ca.pem"] : caPem;
  return new Promise((resolve) => {
    const s = createDtlsModule({ log: () => {} }).connect({ host: "127.0.0.1", port, ca, retransmitMinMs: 200, retransmitMaxMs: 800 });
    s.on("error", (e) => resolve(`${e.code}: ${e.message}`));
  });
}

test("real interpreter, coaps://: two-way X.509, the device known by its certificate and no token", { timeout: 90000 }, async (t) => {
  const tb = await startTb(t, { secure: true });
  const client = issueCert(tb.keys.ca, "node-x509", { usage: "client" });
  const created = await tb.api("POST", "/api/device-with-credentials", { device: { name: "node-x509" }, credentials: { credentialsType: "X509_CERTIFICATE", credentialsValue: client.pem } });
  const id = created.id.id;
  const node = interpreterNode(t, "interp-x509-node-", { hardware: hardwareFor(loadBoard(path.join(ROOT, "boards/esp32.json"))) });
  node.writeStorage({
    ".bootcde": fs.readFileSync(BUNDLE),
    "ca.pem": tb.caPem,
    "node.crt": client.pem,
    "node.key": client.keyPem,
    "node.cfg": JSON.stringify({ server: tb.uri, ca: "ca.pem", cert: "node.crt", key: "node.key", wifi: { ssid: "sim" }, intervalS: 5 }),
  });
  node.start();
  await until(async () => (await tb.history(id, "temperature")).length >= 1, 25000, `telemetry by certificate; console:\n${node.lines.join("\n")}`);
  const keyBody = client.keyPem.split("\n").filter((l) => l && !l.startsWith("-----"));
  assert.ok(keyBody.every((l) => !node.lines.join("\n").includes(l)), "the private key never appears on the console");
});

test("real interpreter, coaps://: waking from deep sleep resumes the saved session (abbreviated handshake on the wire)", { timeout: 90000 }, async (t) => {
  const handshakes = []; // one entry per ServerHello: did a Certificate follow?
  const wire = (dir, bytes) => {
    const types = handshakeTypes(bytes);
    if (dir === "in" && types.includes(SERVER_HELLO)) handshakes.push({ full: types.includes(CERTIFICATE) });
    else if (dir === "in" && types.includes(CERTIFICATE) && handshakes.length) handshakes[handshakes.length - 1].full = true;
  };
  const token = "stok" + Math.random().toString(36).slice(2, 10);
  const { tb, node, text, seen } = await coapsNode(t, { name: "interp-sleep", config: { token, sleep: true }, wire });
  const id = await tb.createDevice("interp-sleep", token);
  node.start();
  await seen(/node: DTLS handshake done/, 15000, "the first, full handshake");
  await until(() => node.boots >= 3, 40000, `two wakes; console:\n${text()}`);
  await seen(/node: DTLS session resumed with 127\.0\.0\.1[\s\S]*node: DTLS session resumed/, 20000, "two resumed sessions");
  await until(async () => (await tb.history(id, "temperature")).length >= 3, 20000, "a reading from each wake");
  assert.equal(handshakes[0].full, true, "the first handshake sent the server's certificate");
  assert.ok(handshakes.length >= 3 && handshakes.slice(1).every((h) => !h.full), `later handshakes are abbreviated: ${JSON.stringify(handshakes)}`);
  assert.equal((text().match(/DTLS handshake done/g) || []).length, 1, text());
  await node.stop();
  const session = node.readStorage("dtls.ses");
  assert.ok(session && session.length > 40, "the session is kept in Storage");
  assert.ok(!text().includes(session.slice(8, 40)), "the session's bytes never appear on the console");
});

test("real interpreter: the DTLS module against libcoap's coap-server-openssl, and its errors in the simulator's words", { timeout: 60000 }, async (t) => {
  const dir = tempDir(t, "interp-dtls-libcoap-");
  const ca = createCa(dir, "ca");
  const server = issueCert(ca, "server", { dns: ["localhost"], ips: ["127.0.0.1"] });
  const peer = await startCoapServer({ cert: server.cert, key: server.key });
  t.after(() => peer.stop());
  fs.writeFileSync(path.join(dir, "ca.pem"), ca.pem);
  // Bytes as \xHH escapes: the console takes the script as text.
  const get = '"' + [...coapGet([".well-known", "core"])].map((b) => "\\x" + b.toString(16).padStart(2, "0")).join("") + '"';
  const script = `
var D = require("DTLS");
var s = D.connect({ host: "127.0.0.1", port: ${peer.port}, ca: require("fs").readFileSync("ca.pem"), connectionId: true });
s.on("connect", function (i) { print("<connect " + i.resumed + " " + i.cipher + " " + s.maxDatagram() + ">"); s.send(${get}); });
s.on("message", function (m) { print("<message " + m.charCodeAt(1) + " " + (m.indexOf("</>") >= 0) + ">"); s.close(); });
s.on("error", function (e) { print("<error " + e.code + ": " + e.message + ">"); });
s.on("close", function () { print("<close>"); setTimeout(function () { print("<vars " + process.memory().usage + ">"); }, 10); });
`;
  const r = runScript(script, { dir, timeoutMs: 20000 }).stdout;
  assert.match(r, /<connect false TLS-ECDHE-ECDSA-WITH-AES-128-(GCM|CCM)-\S* \d+>/, r);
  assert.match(r, /<message 69 true>/, `a 2.05 Content answer from libcoap: ${r}`);
  assert.match(r, /<close>/);
  assert.match(r, /<vars \d+>/, "the interpreter runs on after the connection closed");

  // Option errors and send errors: the interpreter's words equal the simulator module's.
  const calls = [
    ["no options", "D.connect()"],
    ["no host", "D.connect({ port: 5684, insecure: true })"],
    ["bad port", "D.connect({ host: '127.0.0.1', port: 70000, insecure: true })"],
    ["no CA", "D.connect({ host: '127.0.0.1', port: 5684 })"],
    ["cert without key", "D.connect({ host: '127.0.0.1', port: 5684, ca: CA, cert: CA })"],
    ["empty psk", "D.connect({ host: '127.0.0.1', port: 5684, psk: '' })"],
    ["a key as CA", "D.connect({ host: '127.0.0.1', port: 5684, ca: '-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\\n' })"],
    ["not a certificate", "D.connect({ host: '127.0.0.1', port: 5684, ca: 'hello' })"],
    ["cut short", "D.connect({ host: '127.0.0.1', port: 5684, ca: CA.slice(0, 200) })"],
    ["bad mtu", "D.connect({ host: '127.0.0.1', port: 5684, ca: CA, mtu: 100 })"],
    ["unknown suite", "D.connect({ host: '127.0.0.1', port: 5684, ca: CA, suites: ['TLS-NOPE'] })"],
  ];
  const probe = calls.map(([what, call]) => `try { ${call}; print("<" + ${JSON.stringify(what)} + "|no error>"); } catch (e) { print("<" + ${JSON.stringify(what)} + "|" + e.message + ">"); }`).join("\n");
  const onDevice = runScript(`var D = require("DTLS"); var CA = require("fs").readFileSync("ca.pem");\n${probe}\n`, { dir }).stdout;
  const D = createDtlsModule({ log: () => {} });
  const CA = ca.pem;
  for (const [what, call] of calls) {
    let simulated = "no error";
    try {
      // eslint-disable-next-line no-new-func
      new Function("D", "CA", call)(D, CA).close();
    } catch (e) {
      simulated = e.message;
    }
    const m = new RegExp(`<${what}\\|([^>]*)>`).exec(onDevice);
    assert.ok(m, `${what}: no answer from the interpreter: ${onDevice}`);
    assert.equal(m[1], simulated, `${what}: the interpreter and the simulator say the same`);
    assert.notEqual(simulated, "no error", what);
  }
});

test("one mbedTLS per library: the DTLS object exports only the shim's API beside Espruino's own mbedTLS", () => {
  const globals = (file) => execFileSync("nm", ["-g", "--defined-only", file], { encoding: "latin1" })
    .split("\n").map((l) => l.trim().split(/\s+/)[2]).filter(Boolean);
  const ours = globals(path.join(ROOT, "build/dtls/dtls-espruino.o"));
  assert.ok(ours.includes("dtls_conn_new") && ours.includes("dtls_read"), ours.join(" "));
  assert.deepEqual(ours.filter((s) => !s.startsWith("dtls_")), [], "only dtls_* symbols are global");
  const inBinary = execFileSync("nm", [path.join(ROOT, "build/espruino/esp32/espruino")], { encoding: "latin1" });
  assert.match(inBinary, / T mbedtls_ssl_setup\n/, "Espruino's own mbedTLS (its tls module) is linked as well");
});

// The same recipe with a board's toolchain (the ESP32-C3's RISC-V one) runs in `npm run bench -- dtls`, whose set-up
// installs that toolchain; here the host's gcc stands in for it, as the recipe's CROSS prefix is all that differs.
test("the device recipe's `make cross`: the shim and mbedTLS as one object exporting only the shim's API", { timeout: 300000 }, (t) => {
  const out = tempDir(t, "dtls-cross-");
  const mbedtls = fs.readdirSync(path.join(ROOT, ".cache")).find((d) => /^mbedtls-3\.6/.test(d));
  execFileSync("make", ["-s", "-j2", "-C", path.join(ROOT, "firmware"), `MBEDTLS=${path.join(ROOT, ".cache", mbedtls)}`, `OUT=${out}`,
    "CROSS=", "CROSS_CFLAGS=", "cross"], { stdio: "pipe" });
  const object = path.join(out, "cross", "dtls-espruino.o");
  const nm = (flags) => execFileSync("nm", [...flags, object], { encoding: "latin1" }).split("\n").map((l) => l.trim().split(/\s+/).pop()).filter(Boolean);
  assert.deepEqual(nm(["-g", "--defined-only"]).filter((s) => !s.startsWith("dtls_")), [], "only dtls_* symbols are global");
  const needed = nm(["-u"]);
  assert.deepEqual(needed.filter((s) => s.startsWith("dtls_")).sort(), ["dtls_platform_clock_ms", "dtls_platform_random", "dtls_platform_unix_time"],
    "the platform services are what the module (jswrap_dtls.c) supplies");
  assert.deepEqual(needed.filter((s) => /^mbedtls_|^psa_/.test(s)), [], "no mbedTLS symbol is left for the board's own mbedTLS to satisfy");
  assert.match(execFileSync("objdump", ["-f", object], { encoding: "latin1" }), /file format elf64-x86-64[\s\S]*HAS_RELOC/, "a relocatable object");
});
