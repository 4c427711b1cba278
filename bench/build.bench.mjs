// Bundle sizes per board, from the same build `npm run build` makes, and the workbench's daily loop: how long a
// second `npm run sim` takes to its first simulated line (set-up finds everything current), and how long one board's
// rebuild takes and how long `sim --watch` takes from saving a change to the new firmware's boot (goal 2 s).
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { build } from "../scripts/build.mjs";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");

/** Seconds from starting `npm run sim` until its first line from the node. */
function simFirstLine() {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn("npm", ["run", "--silent", "sim", "--", "--duration", "5"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      if (/^\[node1 /m.test(out)) {
        resolve((performance.now() - t0) / 1000);
        child.kill("SIGINT");
      }
    });
    child.on("exit", () => reject(new Error(`npm run sim printed no node line:\n${out}`)));
  });
}

/**
 * Seconds from saving a one-line change to src/main.ts until `npm run sim -- --watch` prints the new firmware's
 * boot banner, in a copy of the project (so this tree is never edited).
 */
async function watchReload() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-watch-"));
  let child;
  try {
    for (const name of ["src", "boards", "scripts", "host", "dist", "tsconfig.json", "package.json", "package-lock.json"]) {
      fs.cpSync(path.join(ROOT, name), path.join(dir, name), { recursive: true });
    }
    for (const name of ["node_modules", "build"]) fs.symlinkSync(path.join(ROOT, name), path.join(dir, name), "dir");
    child = spawn(process.execPath, ["host/sim/cli.mjs", "--watch", "--interval", "5"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const seen = (re, ms) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sim --watch did not print ${re} in ${ms / 1000} s:\n${out.slice(-2000)}`)), ms);
      const look = () => re.test(out) && (clearTimeout(timer), child.stdout.off("data", look), resolve());
      child.stdout.on("data", look);
      look();
    });
    child.stdout.on("data", (d) => (out += d));
    await seen(/node: telemetry 1 reading\(s\) -> 2\.01/, 60000);
    await new Promise((r) => setTimeout(r, 3000)); // the watch loop's first (warming) build is done
    const main = path.join(dir, "src/main.ts");
    const t0 = performance.now();
    fs.writeFileSync(main, fs.readFileSync(main, "utf8").replace('") up, readings "', '") up again, readings "'));
    await seen(/\) up again, readings \{/, 60000);
    return (performance.now() - t0) / 1000;
  } finally {
    if (child) child.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function run() {
  const sizes = await build({ quiet: true });
  const out = {};
  for (const s of sizes) {
    const m = /^dist\/([^/]+)\/firmware\.js$/.exec(s.file);
    if (m) {
      out[`build.${m[1]}_bundle_bytes`] = s.bytes;
      out[`build.${m[1]}_bundle_gzip_bytes`] = s.gzip;
    }
  }
  await simFirstLine(); // the first run may still build; the second is the one a user waits for every time
  const firsts = [];
  for (let i = 0; i < 3; i++) firsts.push(await simFirstLine());
  out["build.sim_first_line_s"] = firsts.sort((a, b) => a - b)[1];
  // A --watch reload after a one-line change to src/main.ts, the caches warm from the watch loop's first build.
  const caches = new Map();
  await build({ boards: ["sim"], quiet: true, caches });
  const main = path.join(ROOT, "src/main.ts");
  const source = fs.readFileSync(main, "utf8");
  try {
    fs.writeFileSync(main, source.replace('") up, readings "', '") up again, readings "'));
    const t0 = performance.now();
    await build({ boards: ["sim"], quiet: true, caches });
    out["build.one_board_rebuild_s"] = (performance.now() - t0) / 1000;
  } finally {
    fs.writeFileSync(main, source);
  }
  // The complete build leaves the stamp set-up checks; a one-board build removed it.
  await build({ quiet: true });
  out["build.watch_reload_s"] = await watchReload();
  return out;
}
