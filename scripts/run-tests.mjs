#!/usr/bin/env node
// `npm test [-- FILE... | --test-name-pattern=RE]`: node:test over the test files (test/*.test.mjs, not the helpers
// beside them, or the files given), eight at a time, with the project's reporter (scripts/test-reporter.mjs).
// Set-up runs before it (npm's pretest).
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const given = process.argv.slice(2);
const options = given.filter((a) => a.startsWith("--"));
const files = given.filter((a) => !a.startsWith("--"));
const all = fs.readdirSync(path.join(root, "test")).filter((f) => f.endsWith(".test.mjs")).map((f) => path.join("test", f));
// Eight files at a time: many tests wait on real peers and real time rather than on the CPU.
const args = ["--test", "--test-concurrency=8", "--test-timeout=300000", `--test-reporter=${path.join(root, "scripts/test-reporter.mjs")}`,
  ...options, ...(files.length ? files : all)];
spawn(process.execPath, args, { cwd: root, stdio: "inherit" }).on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
