// README examples that need no hardware, run as written (bash, from the repository root): the example is taken from
// between its <!-- example:NAME --> markers, so the README cannot drift from what runs.
import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "./sim-support.mjs";

function example(name) {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const m = new RegExp(`<!-- example:${name.replace(/\./g, "\\.")} -->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\`\\n<!-- /example:${name.replace(/\./g, "\\.")} -->`).exec(readme);
  assert.ok(m, `README has the example ${name}`);
  return m[1];
}

test("README: the local server over DTLS with openssl certificates and libcoap's coap-client-openssl, as written", () => {
  const r = spawnSync("bash", ["-e", "-c", example("dtls-server.sh")], { cwd: ROOT, encoding: "utf8", timeout: 60000 });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /\{"temperature":\[\{"ts":\d+,"value":"25"\}\]\}/, "the reading sent over DTLS is stored");
  assert.match(r.stdout + r.stderr, /\[dtls\] 127\.0\.0\.1:\d+ session established: TLS-ECDHE-ECDSA-/);
  assert.equal(fs.readdirSync(ROOT).filter((f) => /\.(pem|key|csr|srl)$/.test(f)).length, 0, "no key or certificate lands in the repository");
});
