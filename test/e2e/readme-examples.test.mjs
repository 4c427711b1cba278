// Examples from the README and docs/ that need no hardware, run as written (bash, from the repository root): each is
// taken from between its <!-- example:NAME --> markers, so the documentation cannot drift from what runs.
import test from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "../sim-support.mjs";
import { tempDir } from "../temp-dir.mjs";

function example(file, name) {
  const text = fs.readFileSync(path.join(ROOT, file), "utf8");
  const n = name.replace(/\./g, "\\.");
  const m = new RegExp(`<!-- example:${n} -->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\`\\n<!-- /example:${n} -->`).exec(text);
  assert.ok(m, `${file} has the example ${name}`);
  return m[1];
}

test("docs/server.md: the local server over DTLS with openssl certificates and libcoap's coap-client-openssl, as written", () => {
  const r = spawnSync("bash", ["-e", "-c", example("docs/server.md", "dtls-server.sh")], { cwd: ROOT, encoding: "utf8", timeout: 60000 });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /\{"temperature":\[\{"ts":\d+,"value":"25"\}\]\}/, "the reading sent over DTLS is stored");
  assert.match(r.stdout + r.stderr, /\[dtls\] 127\.0\.0\.1:\d+ session established: TLS-ECDHE-ECDSA-/);
  assert.equal(fs.readdirSync(ROOT).filter((f) => /\.(pem|key|csr|srl)$/.test(f)).length, 0, "no key or certificate lands in the repository");
});

test("docs/server.md: the HTTP API and CoAP commands, as written, against `npm run server`", async (t) => {
  const server = spawn(process.execPath, ["host/server/cli.mjs", "--db", ":memory:"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => server.kill("SIGKILL"));
  await new Promise((resolve, reject) => {
    let out = "";
    server.stdout.on("data", (d) => /http:\/\/127\.0\.0\.1:8080/.test((out += d)) && resolve());
    server.on("exit", (code) => reject(new Error(`the server exited (${code}):\n${out}`)));
  });
  const dir = tempDir(t, "server-api-");
  // The example writes /tmp/fw.bin and /tmp/chunk0 as its readers would; here they go to a folder of the test's.
  const script = example("docs/server.md", "server-api.sh").replaceAll("/tmp/", `${dir}/`);
  const r = await new Promise((resolve) => {
    const c = spawn("bash", ["-e", "-c", script], { cwd: ROOT });
    let stdout = "", stderr = "";
    c.stdout.on("data", (d) => (stdout += d));
    c.stderr.on("data", (d) => (stderr += d));
    c.on("exit", (status) => resolve({ status, stdout, stderr }));
  });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const out = r.stdout;
  assert.match(out, /\{"temperature":\[\{"ts":\d+,"value":25\}\]\}/, "the latest value, typed");
  assert.match(out, /\{"temperature":\[\{"ts":\d+,"value":"25"\}\]\}/, "the history, as strings");
  assert.match(out, /\[\{"lastUpdateTs":\d+,"key":"interval","value":30\}\]/, "the shared attribute over HTTP");
  assert.match(out, /\{"shared":\{"interval":30\}\}/, "the shared attribute over CoAP");
  assert.match(out, /"QUEUED"/, "the persistent RPC waits for a device that is not connected");
  assert.match(out, /"[0-9a-f]{64}"/, "the package's SHA-256");
  assert.equal(fs.statSync(path.join(dir, "chunk0")).size, 1024, "the first 1024-byte chunk of the assigned firmware");
  assert.match(out, /"status":"SUCCESS"/, "the device provisioned itself");
});
