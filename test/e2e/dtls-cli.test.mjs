// The command-line client (npm run coap) against coap-server-openssl: exit status, output and errors in words.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { createCa, issueCert } from "../../host/dtls/pki.mjs";
import { freeUdpPort, startCoapServer } from "../../host/dtls/peers.mjs";
import { tempDir } from "../temp-dir.mjs";

const CLI = new URL("../../host/cli/coap.mjs", import.meta.url).pathname;
const dir = tempDir({ after }, "dtls-cli-");
let ca, otherCa, server, peer;
before(async () => {
  ca = createCa(dir, "ca");
  otherCa = createCa(dir, "other");
  server = issueCert(ca, "server", { dns: ["localhost"], ips: ["127.0.0.1"] });
  peer = await startCoapServer({ cert: server.cert, key: server.key, psk: "cli-secret", dynamic: 5 });
});
after(async () => {
  await peer.stop();
});

function cli(...args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    const out = [];
    let stderr = "";
    child.stdout.on("data", (d) => out.push(d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20000);
    child.on("exit", (status) => {
      clearTimeout(timer);
      const bytes = Buffer.concat(out);
      resolve({ status, stdout: bytes.toString("utf8"), bytes, stderr });
    });
  });
}

test("GET over coaps with a CA file, verbose", async () => {
  const r = await cli("-v", "-R", ca.cert, `coaps://127.0.0.1:${peer.port}/time`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\w{3} \d+ \d\d:\d\d:\d\d\n$/);
  assert.match(r.stderr, /dtls: -> datagram of \d+ bytes/);
  assert.match(r.stderr, /dtls: connected, TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256/);
  assert.match(r.stderr, /-> CON GET mid=\d+ token=[0-9a-f]+ \/time/);
  assert.match(r.stderr, /<- ACK 2\.05 mid=\d+/);
});

test("GET over coaps with PSK and the host name localhost", async () => {
  const r = await cli("-k", "cli-secret", "-u", "node-1", `coaps://localhost:${peer.port}/time`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\d\d:\d\d:\d\d/);
});

test("server certificate from another CA: exit 1 with the reason", async () => {
  const r = await cli("-R", otherCa.cert, `coaps://127.0.0.1:${peer.port}/time`);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, "");
  assert.equal(r.stderr, "coap: server certificate is not signed by a trusted CA (Unknown CA)\n");
});

test("coaps without -R is refused", async () => {
  const r = await cli(`coaps://127.0.0.1:${peer.port}/time`);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^coap: coaps needs -R ca.pem to verify the server/);
});

test("an error response exits 1; plain coap works too", async () => {
  const missing = await cli("-R", ca.cert, `coaps://127.0.0.1:${peer.port}/no-such-resource`);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /error: the server answered 4\.04/);
  const plain = await cli(`coap://127.0.0.1:${peer.plainPort}/time`);
  assert.equal(plain.status, 0, plain.stderr);
});

test("PUT with a JSON payload creates a resource that GET then returns", async () => {
  const put = await cli("-m", "PUT", "-t", "json", "-e", '{"temperature":42}', "-R", ca.cert, `coaps://127.0.0.1:${peer.port}/telemetry`);
  assert.equal(put.status, 0, put.stderr);
  const get = await cli("-R", ca.cert, `coaps://127.0.0.1:${peer.port}/telemetry`);
  assert.equal(get.status, 0, get.stderr);
  assert.equal(get.stdout, '{"temperature":42}\n');
});

test("observe for a few seconds over coaps prints each notification", async () => {
  const r = await cli("-s", "3", "-R", ca.cert, `coaps://127.0.0.1:${peer.port}/time`);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.ok(lines.length >= 2, `notifications: ${r.stdout}`);
  assert.ok(lines.every((l) => /\d\d:\d\d:\d\d/.test(l)));
  assert.ok(new Set(lines).size >= 2, "the clock moved between notifications");
});

test("verbose output never shows a ThingsBoard access token from the path", async () => {
  const r = await cli("-v", "-m", "post", "-t", "json", "-e", "{}", "-R", ca.cert, `coaps://127.0.0.1:${peer.port}/api/v1/S3CR3T-T0KEN/telemetry`);
  assert.match(r.stderr, /<- ACK \d\.\d\d mid=/);
  assert.match(r.stderr, /-> CON POST mid=\d+ token=[0-9a-f]+ \/api\/v1\/<token>\/telemetry payload=2 bytes/);
  assert.doesNotMatch(r.stderr + r.stdout, /S3CR3T/);
});

test("-B: no answer within the wait time exits 1 in words", async () => {
  const silent = await freeUdpPort();
  const r = await cli("-B", "1", "-R", ca.cert, `coaps://127.0.0.1:${silent}/time`);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, "coap: no answer within 1 s\n");
});

test("bad usage exits 2 with the reason", async () => {
  const r = await cli("-m", "brew", "coap://127.0.0.1/x");
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^coap: -m: unknown method brew/);
});

test("payload bytes come out exactly: UTF-8 text on standard output, binary with -o FILE", async () => {
  const text = "h\u00e9llo \u00b0C";
  assert.equal((await cli("-m", "PUT", "-t", "text", "-e", text, "-R", ca.cert, `coaps://127.0.0.1:${peer.port}/payload`)).status, 0);
  const got = await cli("-R", ca.cert, `coaps://127.0.0.1:${peer.port}/payload`);
  assert.deepEqual(got.bytes, Buffer.from(text + "\n", "utf8"), "the bytes the server holds, not their latin1 re-encoded");
  const binary = Buffer.from(Array.from({ length: 600 }, (_, i) => (i * 151 + 7) & 255));
  const file = path.join(dir, "binary.in");
  fs.writeFileSync(file, binary);
  assert.equal((await cli("-m", "PUT", "-t", "octet", "-f", file, "-R", ca.cert, `coaps://127.0.0.1:${peer.port}/payload`)).status, 0);
  const outFile = path.join(dir, "binary.out");
  const r = await cli("-o", outFile, "-R", ca.cert, `coaps://127.0.0.1:${peer.port}/payload`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.bytes.length, 0, "nothing on standard output with -o");
  assert.deepEqual(fs.readFileSync(outFile), binary);
});

test("no access token in any output: three-segment /api/v1 paths, /fw paths, bad URIs", async () => {
  const token = "PL4NT3D-T0KEN";
  const runs = [
    await cli("-v", "-m", "post", "-e", "{}", "-R", ca.cert, `coaps://127.0.0.1:${peer.port}/api/v1/${token}`),
    await cli("-v", "-R", ca.cert, `coaps://127.0.0.1:${peer.port}/fw/${token}?title=a&version=1&size=10&chunk=0`),
    await cli("-v", `coap://127.0.0.1:${peer.plainPort}/api/v1/${token}/%zz`),
    await cli("-v", `coap://127.0.0.1:${peer.plainPort}/api/v1/${token}/telemetry`, `coap://x/api/v1/${token}`),
  ];
  assert.match(runs[0].stderr, /-> CON POST mid=\d+ token=[0-9a-f]+ \/api\/v1\/<token> payload=2 bytes/);
  assert.match(runs[1].stderr, /-> CON GET mid=\d+ token=[0-9a-f]+ \/fw\/<token>/);
  assert.match(runs[2].stderr, /bad CoAP URI "coap:\/\/127\.0\.0\.1:\d+\/api\/v1\/<token>\/%zz": bad percent-escape/);
  assert.match(runs[3].stderr, /only one URI/);
  for (const r of runs) assert.ok(!(r.stderr + r.stdout).includes(token), r.stderr);
});

test("requests larger than one DTLS record go block-wise, the blocks sized to the record's room", async () => {
  // One resource for every size: the peer (coap-server with -d 5) makes at most five resources on PUT.
  for (const size of [900, 1000, 3000]) {
    const body = Buffer.from(Array.from({ length: size }, (_, i) => 0x41 + (i % 26)));
    const file = path.join(dir, `body${size}.txt`);
    fs.writeFileSync(file, body);
    const put = await cli("-v", "-m", "put", "-t", "text", "-f", file, "-R", ca.cert, `coaps://127.0.0.1:${peer.port}/big`);
    assert.equal(put.status, 0, `${size}: ${put.stderr}`);
    assert.doesNotMatch(put.stderr, /does not fit one record/);
    const sent = [...put.stderr.matchAll(/-> CON PUT mid=\d+ token=[0-9a-f]+ \/big payload=(\d+) bytes/g)].map((m) => +m[1]);
    assert.ok(sent.every((n) => n <= 512 || n === size), `${size}: block payloads ${sent}`);
    const got = await cli("-R", ca.cert, `coaps://127.0.0.1:${peer.port}/big`);
    assert.equal(got.status, 0, got.stderr);
    assert.deepEqual(got.bytes, Buffer.concat([body, Buffer.from("\n")]), `${size}: the server has the whole body`);
  }
});
