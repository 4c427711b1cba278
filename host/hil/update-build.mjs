// A distinguishable firmware update for OTA scenarios: the same sources built with FW_VERSION set, in a temporary
// copy of the build inputs, so dist/ (which others are using) stays exactly as it was.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFile } from "node:child_process";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");
const INPUTS = ["src", "boards", "scripts", "rollup.config.js", "tsconfig.json", "package.json"];

/** Resolves to { title, version, bytes } of dist/<board>/firmware.js built as `version`. */
export async function buildUpdate(board, version) {
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`firmware version ${JSON.stringify(version)} is not x.y.z`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hil-update-"));
  try {
    for (const name of INPUTS) fs.cpSync(path.join(ROOT, name), path.join(dir, name), { recursive: true });
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
    await new Promise((resolve, reject) => {
      execFile(process.execPath, [path.join(dir, "scripts", "build.mjs"), "--board", board, "--quiet"], {
        cwd: dir, env: { ...process.env, FW_VERSION: version }, timeout: 180000,
      }, (err, stdout, stderr) => (err ? reject(new Error(`building the ${version} update failed: ${stderr || err.message}`)) : resolve()));
    });
    const bytes = fs.readFileSync(path.join(dir, "dist", board, "firmware.js"));
    const title = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).name;
    return { title, version, bytes };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
