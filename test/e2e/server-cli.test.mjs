// The command-line entry: starts on the given ports and database, stops cleanly on SIGTERM, refuses bad options.
import test from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { spawn } from "node:child_process";
import { tempDir } from "../server-support.mjs";

const CLI = new URL("../../host/server/cli.mjs", import.meta.url).pathname;

function run(args) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => out, exited };
}

test("npm run server: listens, serves the HTTP API, keeps the database, stops on SIGTERM", async (t) => {
  const db = path.join(tempDir(t), "cli.db");
  const p = run(["--port", "0", "--http-port", "0", "--db", db, "--log-level", "info"]);
  t.after(() => p.child.exitCode === null && p.child.kill("SIGKILL"));
  let m;
  for (let i = 0; i < 200 && !(m = /^server: dashboard (http:\/\/127\.0\.0\.1:\d+)\/$/m.exec(p.output())); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(m, `the dashboard's address is printed: ${p.output()}`);
  assert.match(p.output(), new RegExp(`HTTP API on ${m[1]},`));
  const page = await fetch(m[1] + "/");
  assert.match(await page.text(), /<title>Sensor nodes · local server<\/title>/);
  const res = await fetch(m[1] + "/api/device", { method: "POST", body: JSON.stringify({ name: "cli-dev" }) });
  assert.equal(res.status, 200);
  const token = (await res.json()).credentials.credentialsId;
  p.child.kill("SIGTERM");
  assert.equal(await p.exited, 0);
  assert.match(p.output(), /stopped/);
  assert.ok(!p.output().includes(token));
  const again = run(["--port", "0", "--http-port", "0", "--db", db, "--log-level", "info"]);
  t.after(() => again.child.exitCode === null && again.child.kill("SIGKILL"));
  for (let i = 0; i < 200 && !(m = /HTTP API on (http:\/\/127\.0\.0\.1:\d+)/.exec(again.output())); i++) await new Promise((r) => setTimeout(r, 25));
  const found = await fetch(m[1] + "/api/tenant/devices?deviceName=cli-dev");
  assert.equal(found.status, 200);
  again.child.kill("SIGTERM");
  assert.equal(await again.exited, 0);
});

test("bad options are refused with a clear message", async () => {
  for (const [args, text] of [
    [["--port", "99999"], /--port must be an integer 0\.\.65535, not "99999"/],
    [["--bogus"], /^server: unknown option --bogus \(see --help\)\n$/],
    [["--log-level", "loud", "--port", "0", "--http-port", "0", "--db", ":memory:"], /unknown log level "loud"/],
    [["--dtls-port", "5684"], /CoAP over DTLS needs all of --dtls-port, --cert and --key/],
    [["--dtls-port", "0", "--cert", "/nonexistent.pem", "--key", "/nonexistent.key"], /cannot read the certificate \/nonexistent\.pem/],
  ]) {
    const p = run(args);
    const code = await p.exited;
    assert.notEqual(code, 0);
    assert.match(p.output(), text);
  }
});
