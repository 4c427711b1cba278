// The same shim built natively (C test: client against the server role in one process) by firmware/build.sh with the
// mbedTLS source the WebAssembly uses. The ESP32-C3 (rv32imc) library is checked by `npm run bench -- dtls`, whose
// set-up installs the RISC-V toolchain.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import path from "node:path";
import { createCa, issueCert } from "../../host/dtls/pki.mjs";
import { tempDir } from "../temp-dir.mjs";

const BUILD = new URL("../../build/dtls/", import.meta.url).pathname;
const dir = tempDir({ after }, "dtls-native-");
let ca, server, p384;
before(() => {
  ca = createCa(dir, "ca");
  server = issueCert(ca, "server", { dns: ["localhost"], ips: ["127.0.0.1"] });
  p384 = issueCert(createCa(dir, "ca384", { type: "p384" }), "server384", { type: "p384", dns: ["localhost"] });
});

const selftest = (...args) => spawnSync(path.join(BUILD, "dtls-selftest"), args, { encoding: "utf8" });

test("native: full handshake with CID, application data, then resumption", () => {
  const r = selftest(ca.cert, server.cert, server.key, "localhost", "2");
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.cipher, "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256");
  assert.equal(out.cid, 1);
  assert.equal(out.resumed, 1);
  assert.ok(out.full_ms > 0 && out.resumed_ms > 0);
});

test("native: an IP address as the expected name matches the certificate's IP SAN", () => {
  const r = selftest(ca.cert, server.cert, server.key, "127.0.0.1", "1");
  assert.equal(r.status, 0, r.stderr);
});

test("native: P-384 certificates", () => {
  const r = selftest(path.join(dir, "ca384.pem"), p384.cert, p384.key, "localhost", "1");
  assert.equal(r.status, 0, r.stderr);
});

test("native: host name mismatch is explained in words", () => {
  const r = selftest(ca.cert, server.cert, server.key, "other.example", "1");
  assert.equal(r.status, 1);
  assert.equal(r.stderr, 'dtls-selftest: client: server certificate does not match the host name "other.example"\n');
});
