// `npm run sim`: the command line starts a server and nodes, prints what they do, writes node.cfg, refuses bad input.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { execFile } from "node:child_process";
import { ROOT, tempDir } from "../sim-support.mjs";
import { readFlashFile } from "../../host/engine/storage.mjs";
import { describeDatagram } from "../../host/sim/coap-trace.mjs";

/** `npm run sim` with `args`; its dashboard on a free port (8080 belongs to the docs' examples, run as written). */
function sim(args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, "host", "sim", "cli.mjs"), "--http-port", "0", ...args], { cwd: ROOT, timeout: 60000, killSignal: "SIGKILL" },
      (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
}

test("npm run sim starts a local server and a node that boots the bundle, then cleans up", async () => {
  const r = await sim(["--duration", "5", "--token", "secret-token-4711", "--loss", "0.2", "--seed", "7"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout.split("\n")[0], /^sim: dashboard http:\/\/127\.0\.0\.1:\d+\/ \(local server host\/server on coap:\/\/127\.0\.0\.1:\d+\)$/, "the first line is the dashboard's address");
  assert.match(r.stdout, /^\[node1 00:00:00\.\d{3}\] \* boot \(poweron, #1\)$/m);
  assert.match(r.stdout, /^\[node1 \d\d:\d\d:\d\d\.\d{3}\] node: .*\{"temperature":[-\d.]+,"battery":[-\d.]+\}$/m);
  assert.match(r.stdout, /^\[node1 \d\d:\d\d:\d\d\.\d{3}\] \* -> 127\.0\.0\.1:\d+ CON (GET|POST|PUT) \//m, "its CoAP requests are shown");
  assert.doesNotMatch(r.stdout + r.stderr, /secret-token-4711/, "the token never appears in the output");
  const storage = /Storage (\S+)/.exec(r.stdout)[1];
  assert.equal(fs.existsSync(storage), false, "the temporary Storage is removed at exit");
});

test("a simulated hour of the application against the local server: a telemetry post every interval", async () => {
  const r = await sim(["--duration", "3600", "--interval", "60"]);
  assert.equal(r.code, 0, r.stderr);
  const posts = r.stdout.split("\n").filter((l) => /\] \* -> 127\.0\.0\.1:\d+ CON POST \/api\/v1\/<token>\/telemetry /.test(l));
  assert.ok(posts.length >= 55 && posts.length <= 62, `${posts.length} telemetry posts`);
  const last = /^\[node1 (\d\d):(\d\d)/.exec(posts[posts.length - 1]);
  assert.ok(Number(last[1]) * 60 + Number(last[2]) >= 58, `last post at ${last[0]}`);
});

test("nodes get node.cfg in their Storage, validated by the firmware's own rules", async (t) => {
  const dir = tempDir(t);
  const r = await sim(["--storage", dir, "--server", "coap://127.0.0.1:5999", "--token", "abc", "--interval", "30",
    "--sleep", "--nodes", "2", "--duration", "16", "--clock", "virtual"]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /local server/);
  for (const n of [1, 2]) {
    const cfg = JSON.parse(readFlashFile(path.join(dir, `node${n}`, "flash.bin")).get("node.cfg").toString("latin1"));
    assert.deepEqual(cfg, { server: "coap://127.0.0.1:5999", token: `abc${n}`, wifi: { ssid: "sim" }, intervalS: 30, sleep: true });
  }
  // The second node powers on half an interval later.
  assert.match(r.stdout, /^\[node1 00:00:00\.\d{3}\] \* boot \(poweron, #1\)$/m);
  assert.match(r.stdout, /^sim: node2 \(.*\), Storage \S+, powers on at 00:00:15\.000$/m);
  assert.match(r.stdout, /^\[node2 00:00:15\.000\] \* boot \(poweron, #1\)$/m);
});

test("--nodes with --config: each node its own configuration and token, spread power-on, and a summary at the end", async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, "nodes.json");
  fs.writeFileSync(file, JSON.stringify([{ intervalS: 30 }, { intervalS: 45, token: "own-token-2" }]));
  const r = await sim(["--config", file, "--duration", "100"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^sim: node2 \(.*\), Storage \S+, powers on at 00:00:22\.500$/m, "node 2 of 2 at half of its 45 s interval");
  const readings = (n) => r.stdout.split("\n").filter((l) => l.startsWith(`[node${n} `) && / node: reading \{/.test(l)).map((l) => l.slice(7, 19));
  assert.deepEqual(readings(1).map((t) => t.slice(0, 5)), ["00:00", "00:00", "00:01", "00:01"], `node1 every 30 s: ${readings(1)}`);
  assert.equal(readings(2).length, 2, `node2 every 45 s from 22.5 s: ${readings(2)}`);
  assert.match(r.stdout, /^sim: summary node1: 4 readings made, 4 delivered, 0 retransmissions, 0 datagrams lost by the link$/m);
  assert.match(r.stdout, /^sim: summary node2: 2 readings made, 2 delivered, 0 retransmissions, 0 datagrams lost by the link$/m);
  assert.doesNotMatch(r.stdout + r.stderr, /own-token-2/, "a token from the file is masked too");
  const bad = await sim(["--config", file, "--nodes", "3"]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, `sim: --config ${file} has 2 entries for --nodes 3\n`);
  fs.writeFileSync(file, "[1]");
  const notObjects = await sim(["--config", file]);
  assert.equal(notObjects.stderr, `sim: --config ${file} must hold a JSON object of node.cfg fields, or an array of them (one per node)\n`);
});

test("the trace marks Observe and retransmissions, and the summary counts what the link lost", async () => {
  const r = await sim(["--loss", "0.3", "--seed", "3", "--duration", "300", "--interval", "30"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\* -> 127\.0\.0\.1:\d+ CON GET \/api\/v1\/<token>\/rpc mid=\d+ observe=0$/m, "the registration carries Observe 0");
  const resent = r.stdout.split("\n").filter((l) => l.endsWith(" (retransmission)"));
  assert.ok(resent.length > 0, "30 % loss makes the node retransmit");
  const lost = r.stdout.split("\n").filter((l) => / \* link: (outbound|inbound) datagram \(\d+ B\) lost$/.test(l)).length;
  const m = /^sim: summary node1: (\d+) readings made, (\d+) delivered, (\d+) retransmissions?, (\d+) datagrams? lost by the link$/m.exec(r.stdout);
  assert.ok(m, r.stdout.slice(-500));
  assert.equal(Number(m[3]), resent.length, "every marked retransmission is counted");
  assert.equal(Number(m[4]), lost, "every lost datagram is counted");
  assert.ok(Number(m[2]) <= Number(m[1]));
});

test("bad options and configurations are refused with a clear message", async () => {
  const cases = [
    [["--loss", "2"], 2, "sim: loss (outbound) must be a probability between 0 and 1, not 2"],
    [["--clock", "fast"], 2, "sim: --clock must be virtual or real, not fast"],
    [["--outage", "10"], 2, "sim: --outage needs START:LEN in seconds, e.g. 60:30"],
    [["--server", "http://x"], 2, "sim: --server must be a coap:// or coaps:// URI, not http://x"],
    [["--frobnicate"], 2, "sim: unknown option --frobnicate (see --help)"],
    [["--ca", "/no/such.pem"], 1, "sim: cannot read the CA certificate --ca /no/such.pem: no such file"],
    [["--server", "coaps://127.0.0.1:5684", "--duration", "1"], 1, 'sim: bad node configuration:\n  "ca" is needed for a coaps:// server'],
  ];
  for (const [args, code, message] of cases) {
    const r = await sim(args);
    assert.equal(r.code, code, args.join(" "));
    assert.ok(r.stderr.startsWith(message), `${args.join(" ")}: ${r.stderr}`);
  }
});

test("datagram summaries: CoAP with the token hidden, DTLS record types, anything else by size", () => {
  const post = Buffer.concat([Buffer.from([0x42, 0x02, 0x00, 0x07, 0xab, 0xcd, 0xb3]), Buffer.from("api"), Buffer.from([0x02]),
    Buffer.from("v1"), Buffer.from([0x06]), Buffer.from("SECRET"), Buffer.from([0x09]), Buffer.from("telemetry"), Buffer.from([0xff, 0x7b, 0x7d])]);
  assert.equal(describeDatagram(post, { secrets: ["SECRET"] }), "CON POST /api/v1/<token>/telemetry mid=7 payload 2 B");
  assert.equal(describeDatagram(Buffer.from([0x60, 0x44, 0x00, 0x07])), "ACK 2.04 mid=7");
  const hello = Buffer.from([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 0]);
  const appData = Buffer.from([23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 9]);
  assert.equal(describeDatagram(Buffer.concat([hello, appData])), "DTLS ClientHello+application data (29 B)");
  assert.equal(describeDatagram(Buffer.from("hello")), "5 B");
});

test("a local server that cannot start is reported, not replaced by another server", async (t) => {
  const { startDefaultServer } = await import("../../host/sim/server.mjs");
  const dgram = await import("node:dgram");
  const busy = dgram.createSocket("udp4");
  await new Promise((r) => busy.bind(0, "127.0.0.1", r));
  t.after(() => busy.close());
  await assert.rejects(startDefaultServer({ port: busy.address().port }), (e) =>
    /^the local server \(host\/server\) did not start: .*EADDRINUSE/.test(e.message));
});

test("with --server the clock is real by default, so timestamps never run ahead of the server; virtual is warned about", async () => {
  const real = await sim(["--server", "coap://127.0.0.1:9", "--duration", "1"]);
  assert.match(real.stdout, /^sim: real clock x1, for 1 simulated seconds$/m);
  assert.doesNotMatch(real.stderr, /ahead of real time/);
  const fast = await sim(["--server", "coap://127.0.0.1:9", "--clock", "virtual", "--duration", "1"]);
  assert.match(fast.stderr, /^sim: warning: --clock virtual with --server: once SNTP sets the node's clock it runs faster than the server's, so readings carry timestamps ahead of real time$/m);
  const local = await sim(["--duration", "1"]);
  assert.match(local.stdout, /^sim: virtual clock, as fast as possible while idle, for 1 simulated seconds$/m);
});

test("over coaps:// the trace shows the CoAP inside each DTLS record, the token masked", async (t) => {
  const { startTb } = await import("../node-support.mjs");
  const tb = await startTb(t, { secure: true });
  await tb.createDevice("sim-dtls", "sim-dtls-token-77");
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, "ca.pem"), tb.caPem);
  const r = await sim(["--server", tb.uri, "--ca", path.join(dir, "ca.pem"), "--token", "sim-dtls-token-77", "--duration", "8", "--clock", "virtual"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\[node1 [\d:.]+\] \* -> 127\.0\.0\.1:\d+ DTLS application data \(CID\) \(\d+ B\)\n\[node1 [\d:.]+\] \* => in DTLS: CON POST \/api\/v1\/<token>\/telemetry mid=\d+ payload \d+ B$/m);
  assert.match(r.stdout, /^\[node1 [\d:.]+\] \* <= in DTLS: (ACK|CON) 2\.01 mid=\d+/m, "the answer inside its record");
  assert.match(r.stdout, /\* => in DTLS: CON GET \/api\/v1\/<token>\/rpc mid=\d+ observe=0$/m);
  assert.ok(!(r.stdout + r.stderr).includes("sim-dtls-token-77"), "the token never appears");
});
