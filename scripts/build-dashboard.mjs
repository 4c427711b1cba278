#!/usr/bin/env node
// The local server's dashboard (host/dashboard/) bundled into build/dashboard/: index.html, app.js (the page's modules
// and uPlot, minified) and app.css (uPlot's style sheet and ours). Nothing is loaded from elsewhere at run time.
//   node scripts/build-dashboard.mjs [--if-stale]
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { createRequire } from "node:module";
import { rollup } from "rollup";
import { nodeResolve } from "@rollup/plugin-node-resolve";
import { terser } from "./terser-plugin.mjs";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const SRC = path.join(root, "host/dashboard");
const OUT = path.join(root, "build/dashboard");
const STAMP = path.join(OUT, ".build-stamp");
const require = createRequire(import.meta.url);

function fingerprint() {
  const h = crypto.createHash("sha256");
  for (const f of fs.readdirSync(SRC).sort()) h.update(f).update("\0").update(fs.readFileSync(path.join(SRC, f)));
  for (const f of [new URL(import.meta.url).pathname, path.join(root, "package-lock.json")]) h.update(fs.readFileSync(f));
  return h.digest("hex");
}

export async function buildDashboard() {
  fs.mkdirSync(OUT, { recursive: true });
  fs.rmSync(STAMP, { force: true });
  const bundle = await rollup({ input: path.join(SRC, "app.mjs"), plugins: [nodeResolve({ browser: true })] });
  await bundle.write({ file: path.join(OUT, "app.js"), format: "iife", plugins: [terser({})] });
  await bundle.close();
  const uplotCss = fs.readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8");
  fs.writeFileSync(path.join(OUT, "app.css"), uplotCss + "\n" + fs.readFileSync(path.join(SRC, "style.css"), "utf8"));
  fs.copyFileSync(path.join(SRC, "index.html"), path.join(OUT, "index.html"));
  fs.writeFileSync(STAMP, fingerprint());
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const ifStale = process.argv.includes("--if-stale");
  const fresh = ifStale && fs.existsSync(STAMP) && fs.readFileSync(STAMP, "utf8") === fingerprint();
  if (!fresh) {
    if (ifStale) process.stderr.write("setup: building the dashboard (build/dashboard)\n");
    buildDashboard().catch((e) => {
      process.stderr.write(`dashboard build failed: ${e.message}\n`);
      process.exit(1);
    });
  }
}
