// npm run configure: validation by the firmware's own validateConfig before any port is touched, secrets read from
// files or the environment and never echoed, and the configuration written to a simulated board's Storage through
// its console (the CA certificate in chunks, checked by CRC).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { execFile, execFileSync } from "node:child_process";
import { ROOT, startNode, tempDir } from "../sim-support.mjs";
import { createCa } from "../../host/dtls/pki.mjs";

const CONFIGURE = path.join(ROOT, "host", "hil", "configure-cli.mjs");
const TOKEN = "Tok3nThatMustNeverShow";
const WIFI_PASSWORD = "w1fi-Secret-Pass";

function configure(args, env = {}) {
  return new Promise((resolve) => {
    execFile(process.execPath, [CONFIGURE, ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60000, killSignal: "SIGKILL" },
      (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
}

test("configure rejects a bad configuration with the firmware's own messages before touching the port", async () => {
  // Port 1 on 127.0.0.1 refuses connections: an error about the port would mean validation came too late.
  const r = await configure(["--port", "tcp://127.0.0.1:1", "--server", "http://example.com", "--token-env", "HIL_T", "--interval", "2"], { HIL_T: "a/b c" });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /the configuration is not valid:/);
  assert.match(r.stderr, /"server" must be a coap:\/\/ or coaps:\/\/ URI such as coaps:\/\/thingsboard\.example\.com \(got "http:\/\/example\.com"\)/);
  assert.match(r.stderr, /"token" must be 1-128 printable characters without "\/" or spaces \(value not shown\)/);
  assert.match(r.stderr, /  --interval: "intervalS" must be a whole number from 5 to 86400 \(got 2\)/, "the error names the option typed");
  assert.match(r.stderr, /  --server: "server" must be/);
  assert.doesNotMatch(r.stderr, /connect|refused/);
  assert.ok(!r.stderr.includes("a/b c") && !r.stdout.includes("a/b c"), "the bad token is not echoed");

  const coaps = await configure(["--port", "tcp://127.0.0.1:1", "--server", "coaps://tb.example.com", "--token-env", "HIL_T"], { HIL_T: TOKEN });
  assert.equal(coaps.code, 2);
  assert.match(coaps.stderr, /"ca" is needed for a coaps:\/\/ server/);
});

test("configure warns when the server is coaps:// and the board file has no DTLS module, and names an unknown board", async (t) => {
  const dir = tempDir(t, "hil-configure-board-");
  const board = JSON.parse(fs.readFileSync(path.join(ROOT, "boards/esp32.json"), "utf8"));
  board.id = "nodtls";
  board.modules = board.modules.filter((m) => m !== "DTLS");
  const file = path.join(dir, "nodtls.json");
  fs.writeFileSync(file, JSON.stringify(board));
  const args = ["--dry-run", "--server", "coaps://192.0.2.7", "--ca", createCa(dir, "ca").cert, "--token-env", "HIL_T"];
  const without = await configure([...args, "--board", file], { HIL_T: TOKEN });
  assert.equal(without.code, 0, without.stderr);
  assert.equal(without.stderr.split("\n").filter((l) => l.includes("DTLS")).join("\n"),
    'configure: warning: the server is coaps:// but the board file of nodtls does not list the DTLS module, so the node will report "this board has no DTLS module": add "DTLS" to its "modules" and flash an Espruino build with DTLS, or use coap://');
  const shipped = await configure([...args, "--board", "esp32"], { HIL_T: TOKEN });
  assert.equal(shipped.code, 0, shipped.stderr);
  assert.doesNotMatch(shipped.stderr, /DTLS/, "the shipped ESP32 board lists the DTLS module");
  const unknown = await configure([...args, "--board", "nosuch"], { HIL_T: TOKEN });
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^configure: unknown board "nosuch" \(boards: [a-z0-9, ]*esp32[a-z0-9, ]*\)\n$/);
});

test("secrets come from files or the environment and are masked; --token on the command line is warned about", async (t) => {
  const dir = tempDir(t, "hil-configure-");
  const tokenFile = path.join(dir, "token");
  fs.writeFileSync(tokenFile, TOKEN + "\n");
  const r = await configure(["--dry-run", "--server", "coap://192.0.2.7", "--token-file", tokenFile, "--wifi", "bench",
    "--wifi-password-env", "HIL_WIFI", "--interval", "30", "--sleep"], { HIL_WIFI: WIFI_PASSWORD });
  assert.equal(r.code, 0, r.stderr);
  const shown = JSON.parse(/node\.cfg (\{.*\})/.exec(r.stdout)[1]);
  assert.deepEqual(shown, { server: "coap://192.0.2.7", token: `<hidden, ${TOKEN.length} characters>`,
    wifi: { ssid: "bench", password: `<hidden, ${WIFI_PASSWORD.length} characters>` }, intervalS: 30, sleep: true });
  assert.ok(!(r.stdout + r.stderr).includes(TOKEN) && !(r.stdout + r.stderr).includes(WIFI_PASSWORD));

  const inline = await configure(["--dry-run", "--server", "coap://192.0.2.7", "--token", TOKEN]);
  assert.equal(inline.code, 0);
  assert.match(inline.stderr, /warning: --token on the command line lands in your shell history; prefer --token-file or --token-env/);
  assert.ok(!(inline.stdout + inline.stderr).includes(TOKEN));

  const provision = await configure(["--dry-run", "--server", "coap://192.0.2.7", "--provision-key", "fieldKey",
    "--provision-secret-env", "HIL_PS", "--device-name", "node-7"], { HIL_PS: "fieldSecretValue" });
  assert.equal(provision.code, 0, provision.stderr);
  assert.deepEqual(JSON.parse(/node\.cfg (\{.*\})/.exec(provision.stdout)[1]).provision,
    { key: "fieldKey", secret: "<hidden, 16 characters>", deviceName: "node-7" });
  assert.ok(!(provision.stdout + provision.stderr).includes("fieldSecretValue"));

  const unset = await configure(["--dry-run", "--server", "coap://192.0.2.7", "--token-env", "HIL_NOT_SET_ANYWHERE"]);
  assert.equal(unset.code, 2);
  assert.match(unset.stderr, /environment variable HIL_NOT_SET_ANYWHERE \(--token-env\) is not set/);
  const missing = await configure(["--dry-run", "--server", "coap://192.0.2.7", "--token-file", path.join(dir, "nope")]);
  assert.match(missing.stderr, /cannot read the token from --token-file .*nope: no such file/);
  const twice = await configure(["--dry-run", "--server", "coap://192.0.2.7", "--token", "x", "--token-env", "HIL_WIFI"], { HIL_WIFI: "y" });
  assert.match(twice.stderr, /give the token one way only/);
});

test("configure writes node.cfg and a multi-chunk CA certificate to the board's Storage, without echoing secrets", async (t) => {
  const dir = tempDir(t, "hil-configure-");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
    "-subj", "/CN=HIL test CA with a long enough name to need more than one chunk", "-keyout", path.join(dir, "ca.key"), "-out", path.join(dir, "ca.pem")], { stdio: "ignore" });
  const pem = fs.readFileSync(path.join(dir, "ca.pem"), "latin1");
  assert.ok(pem.length > 512, "the PEM spans several 256-byte chunks");
  const node = await startNode(t, { consolePort: 0, rtcMs: "host" });
  const r = await configure(["--port", `tcp://127.0.0.1:${node.console.port}`, "--server", "coaps://127.0.0.1:5684", "--token-env", "HIL_T",
    "--ca", path.join(dir, "ca.pem"), "--wifi", "bench", "--wifi-password-env", "HIL_WIFI", "--no-restart"], { HIL_T: TOKEN, HIL_WIFI: WIFI_PASSWORD });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /writing the CA certificate \(\d+ bytes\) to Storage node\.ca/);
  assert.equal(node.device.storage.read("node.ca").toString("latin1"), pem);
  assert.deepEqual(JSON.parse(node.device.storage.read("node.cfg").toString("latin1")),
    { server: "coaps://127.0.0.1:5684", token: TOKEN, ca: "node.ca", wifi: { ssid: "bench", password: WIFI_PASSWORD } });
  const everything = r.stdout + r.stderr + node.device.lines.join("\n");
  assert.ok(!everything.includes(TOKEN) && !everything.includes(WIFI_PASSWORD), "no secret in the tool's output or on the board's console");

  // Configured again without a CA: the stale node.ca goes, so the firmware cannot pick it up.
  const plain = await configure(["--port", `tcp://127.0.0.1:${node.console.port}`, "--server", "coap://127.0.0.1:5683", "--token-env", "HIL_T", "--no-restart"], { HIL_T: TOKEN });
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(node.device.storage.read("node.ca"), undefined);
  assert.deepEqual(JSON.parse(node.device.storage.read("node.cfg").toString("latin1")), { server: "coap://127.0.0.1:5683", token: TOKEN });
});

test("configure names an unreachable port", async () => {
  const r = await configure(["--port", "tcp://127.0.0.1:1", "--server", "coap://192.0.2.7", "--token-env", "HIL_T"], { HIL_T: TOKEN });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /configure: cannot connect to tcp:\/\/127\.0\.0\.1:1: connection refused/);
  const serial = await configure(["--port", "/dev/ttyHIL-none", "--server", "coap://192.0.2.7", "--token-env", "HIL_T"], { HIL_T: TOKEN });
  assert.match(serial.stderr, /serial port \/dev\/ttyHIL-none does not exist/);
});

test("text outside ASCII goes to the board as UTF-8 bytes, and is validated as the board reads it", async (t) => {
  const long = await configure(["--dry-run", "--server", "coap://192.0.2.7", "--token-env", "HIL_T", "--wifi", "\u2615".repeat(11)], { HIL_T: TOKEN });
  assert.equal(long.code, 2, "11 characters, but 33 bytes: over the 32 an SSID may have");
  assert.match(long.stderr, /--wifi: "wifi.ssid" must be 1-32 characters \(bytes of UTF-8\)/);

  const node = await startNode(t, { consolePort: 0 });
  const r = await configure(["--port", `tcp://127.0.0.1:${node.console.port}`, "--server", "coap://127.0.0.1:5683", "--token-env", "HIL_T",
    "--wifi", "Caf\u00e9 \u2615", "--no-restart"], { HIL_T: TOKEN });
  assert.equal(r.code, 0, r.stderr);
  const stored = node.device.storage.read("node.cfg");
  assert.ok(stored.includes(Buffer.from('"ssid":"Caf\u00e9 \u2615"', "utf8")), stored.toString("latin1"));
});
