#!/usr/bin/env node
// `npm run bench [-- area...]`: runs every bench/<area>.bench.mjs (each exports `run()` resolving to an object of
// metric name -> number), writes them all to bench/results.json and prints a table. Ratios are measured against
// their named peer in the same run, never against a stored number.
import fs from "node:fs";
import path from "node:path";

const dir = path.dirname(new URL(import.meta.url).pathname);
const only = process.argv.slice(2);
const areas = fs.readdirSync(dir).filter((f) => f.endsWith(".bench.mjs")).sort().map((f) => f.replace(".bench.mjs", ""));
if (only.includes("--help") || only.includes("-h")) {
  process.stdout.write(`usage: npm run bench [-- AREA...]  (areas: ${areas.join(", ")}; default all): writes bench/results.json\n`);
  process.exit(0);
}
for (const a of only) {
  if (a.startsWith("-")) {
    process.stderr.write(`bench: unknown option ${a} (see --help)\n`);
    process.exit(2);
  }
  if (!areas.includes(a)) {
    process.stderr.write(`bench: unknown area ${JSON.stringify(a)} (areas: ${areas.join(", ")})\n`);
    process.exit(2);
  }
}
const files = areas.filter((a) => only.length === 0 || only.includes(a)).map((a) => `${a}.bench.mjs`);
const resultsFile = path.join(dir, "results.json");
// Running one area keeps the other areas' last numbers.
const results = only.length && fs.existsSync(resultsFile) ? JSON.parse(fs.readFileSync(resultsFile, "utf8")) : {};
let failed = false;
for (const f of files) {
  const area = f.replace(".bench.mjs", "");
  process.stdout.write(`bench: ${area} ...\n`);
  try {
    const mod = await import(path.join(dir, f));
    const metrics = await mod.run();
    for (const [k, v] of Object.entries(metrics)) {
      if (typeof v !== "number" || !isFinite(v)) throw new Error(`metric ${k} is not a finite number: ${v}`);
      results[k] = v;
    }
  } catch (e) {
    failed = true;
    console.error(`bench: ${area} failed: ${e.stack || e.message}`);
  }
}
const sorted = Object.fromEntries(Object.keys(results).sort().map((k) => [k, results[k]]));
fs.writeFileSync(resultsFile, JSON.stringify(sorted, null, 2) + "\n");
const width = Math.max(...Object.keys(sorted).map((k) => k.length), 10);
console.log(`\n${"metric".padEnd(width)}  value`);
for (const [k, v] of Object.entries(sorted)) console.log(`${k.padEnd(width)}  ${Number.isInteger(v) ? v : v.toFixed(3)}`);
console.log(`\nwritten to ${path.relative(process.cwd(), resultsFile)}`);
process.exit(failed ? 1 : 0);
