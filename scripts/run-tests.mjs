#!/usr/bin/env node
// `npm test [-- FILE or FOLDER... | --test-name-pattern=RE]`: node:test over the test files (test/unit/ and
// test/e2e/, not the helpers in test/; or the files given, and a folder's *.test.mjs), eight at a time, each in a
// process of its own, with the project's reporter (scripts/test-reporter.mjs). Set-up runs before it (pretest).
import fs from "node:fs";
import path from "node:path";
import { run } from "node:test";
import reporter from "./test-reporter.mjs";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const USAGE = "usage: npm test [-- FILE or FOLDER... | --test-name-pattern=RE]\n";
const patterns = [];
const files = [];
for (const a of process.argv.slice(2)) {
  if (a.startsWith("--test-name-pattern=")) patterns.push(new RegExp(a.slice("--test-name-pattern=".length)));
  else if (a === "--help" || a === "-h") process.exit(void process.stdout.write(USAGE));
  else if (a.startsWith("-")) {
    process.stderr.write(`test: unknown option ${a} (see --help)\n`);
    process.exit(2);
  } else if (fs.statSync(a, { throwIfNoEntry: false })?.isDirectory()) {
    files.push(...fs.readdirSync(a).filter((f) => f.endsWith(".test.mjs")).sort().map((f) => path.resolve(a, f)));
  } else files.push(path.resolve(a));
}
// The files on the real interpreter in real time (45-75 s each, most of it waiting) start first, so that the run
// does not end waiting on one of them alone. (node --test sorts the files by name; run() takes them in this order.)
const FIRST = ["hil-interpreter", "interpreter-node", "interpreter-dtls"];
const rank = (f) => {
  const i = FIRST.indexOf(path.basename(f, ".test.mjs"));
  return i < 0 ? FIRST.length : i;
};
// test/unit: in-process and fast (the codec, the message layer on a virtual clock over a scripted transport, the gate,
// the type checks); test/e2e: over real sockets to real peers, the real interpreter, the simulator, Chromium.
const all = ["unit", "e2e"].flatMap((d) => fs.readdirSync(path.join(root, "test", d)).filter((f) => f.endsWith(".test.mjs")).sort().map((f) => path.join(root, "test", d, f)));
const order = (files.length ? files : all).slice().sort((a, b) => rank(a) - rank(b));
// Eight files at a time: many tests wait on real peers and real time rather than on the CPU.
process.chdir(root); // the test files' processes start here
const stream = run({ files: order, concurrency: 8, timeout: 300000, ...(patterns.length ? { testNamePatterns: patterns } : {}) });
stream.on("test:fail", () => (process.exitCode = 1));
stream.compose(reporter).pipe(process.stdout);
