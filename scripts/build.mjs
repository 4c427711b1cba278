#!/usr/bin/env node
// `npm run build [-- --board <id>]`: validates the board files, bundles src/ for every board (and the library
// bundles), runs the Espruino compatibility gate on the result and prints each bundle's size.
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { rollup } from "rollup";
import { BoardError, loadBoards, espruinoToolsBoardJson } from "./board.mjs";
import { checkFiles, formatFinding } from "./gate.mjs";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
process.chdir(root);

function parseArgs(argv) {
  const args = { boards: [], quiet: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--board") args.boards.push(argv[++i]);
    else if (argv[i] === "--quiet") args.quiet = true;
    else throw new Error(`unknown option ${argv[i]} (use --board <id> or --quiet)`);
  }
  return args;
}

export async function build({ boards: only = [], quiet = false } = {}) {
  let boards;
  try {
    boards = loadBoards();
  } catch (e) {
    if (e instanceof BoardError) throw new Error(`bad board file: ${e.message}`);
    throw e;
  }
  for (const id of only) {
    if (!boards.some((b) => b.id === id)) throw new Error(`no board "${id}" (boards: ${boards.map((b) => b.id).join(", ")})`);
  }
  const { firmwareConfig, libraryConfig, libraryEntries } = await import("../rollup.config.js");
  const wanted = only.length ? boards.filter((b) => only.includes(b.id)) : boards;
  const configs = [...wanted.map(firmwareConfig), ...(only.length ? [] : libraryEntries().map(libraryConfig))];
  const files = [];
  for (const config of configs) {
    const bundle = await rollup(config);
    await bundle.write(config.output);
    await bundle.close();
    files.push(config.output.file);
  }
  for (const b of wanted) {
    fs.writeFileSync(`dist/${b.id}/board.json`, JSON.stringify(espruinoToolsBoardJson(b), null, 2) + "\n");
  }
  const findings = checkFiles(files);
  if (findings.length) {
    throw new Error(`Espruino compatibility gate failed:\n${findings.map(formatFinding).join("\n")}`);
  }
  const sizes = files.map((f) => {
    const code = fs.readFileSync(f);
    return { file: f, bytes: code.length, gzip: zlib.gzipSync(code, { level: 9 }).length };
  });
  if (!quiet) {
    console.log("bundle                          bytes    gzip");
    for (const s of sizes) console.log(`${s.file.padEnd(30)} ${String(s.bytes).padStart(7)} ${String(s.gzip).padStart(7)}`);
    console.log(`gate: ${files.length} bundle(s) pass the Espruino compatibility check`);
  }
  return sizes;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  build(parseArgs(process.argv.slice(2))).catch((e) => {
    console.error(`build failed: ${e.message}`);
    process.exit(1);
  });
}
