// The host's shape, checked: no function in host/ longer than 80 lines (a long closure is several jobs in one), and
// runtime code (the engine, the simulator's node, the server, the HIL targets) never imports the build tools.
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import * as acorn from "acorn";
import * as walk from "acorn-walk";
import { ROOT } from "../sim-support.mjs";

const MAX_LINES = 80;

function hostFiles(dir = path.join(ROOT, "host")) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? hostFiles(p) : /\.m?js$/.test(e.name) ? [p] : [];
  });
}

/** Every function of `file` over MAX_LINES lines, as "file:line name (N lines)". */
function longFunctions(file) {
  const ast = acorn.parse(fs.readFileSync(file, "utf8"), { ecmaVersion: "latest", sourceType: "module", locations: true, allowHashBang: true });
  const out = [];
  walk.full(ast, (n) => {
    if (!/Function/.test(n.type)) return;
    const lines = n.loc.end.line - n.loc.start.line + 1;
    if (lines > MAX_LINES) out.push(`${path.relative(ROOT, file)}:${n.loc.start.line} ${n.id ? n.id.name : "(anonymous)"} (${lines} lines)`);
  });
  return out;
}

test(`no function in host/ is longer than ${MAX_LINES} lines`, () => {
  assert.deepEqual(hostFiles().flatMap(longFunctions), []);
});

test("runtime code never imports the build tools (scripts/): only the commands that build do", () => {
  const BUILDERS = ["host/cli/watch.mjs", "host/hil/flash-cli.mjs", "host/hil/cli.mjs", "host/hil/update-build.mjs"];
  const offenders = hostFiles()
    .map((f) => path.relative(ROOT, f))
    .filter((f) => !BUILDERS.includes(f) && /from "(\.\.\/)+scripts\/|import\("(\.\.\/)+scripts\//.test(fs.readFileSync(path.join(ROOT, f), "utf8")));
  assert.deepEqual(offenders, []);
});
