#!/usr/bin/env node
// The build: validates the board files, bundles src/ for every board (and the library bundles), runs the Espruino
// compatibility gate on the result and prints each bundle's size. `build()` is the API the CLIs, the HIL runner and
// the tests call; `npm run build [-- options]` runs it from the command line.
//
// Rollup, TypeScript, terser and the gate are loaded when a build runs, not with this module: a command that only
// parses its options, or finds the bundles current (--if-stale), answers in a tenth of a second instead of 0.7.
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import crypto from "node:crypto";
import { SourceMap } from "node:module";
import { BoardError, BOARDS_DIR, loadBoards, espruinoToolsBoardJson } from "../boards/board-file.mjs";
import { ROOT as root, DIST, FIRMWARE } from "./project.mjs";

const USAGE = `usage: npm run build -- [--board ID]... [--boards-dir DIR] [--out DIR] [--fw-version X.Y.Z] [--quiet] [--if-stale]

  --board ID          build only this board's bundle (boards/ID.json; repeatable); else every board and the
                      library bundles
  --boards-dir DIR    read the board files from DIR instead of boards/
  --out DIR           write the bundles to DIR instead of dist/
  --fw-version X.Y.Z  the firmware version the bundles report (default: package.json's, ${FIRMWARE.version})
  --quiet             print nothing but errors
  --if-stale          return at once when no input changed since the last full build
`;

class UsageError extends Error {}

function parseArgs(argv) {
  const args = { boards: [], quiet: false, ifStale: false, boardsDir: undefined, outDir: undefined, version: undefined, help: false };
  const value = (i) => {
    if (i + 1 >= argv.length || argv[i + 1].startsWith("--")) throw new UsageError(`${argv[i]} needs a value`);
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--board") args.boards.push(value(i++));
    else if (argv[i] === "--boards-dir") args.boardsDir = path.resolve(value(i++));
    else if (argv[i] === "--out") args.outDir = path.resolve(value(i++));
    else if (argv[i] === "--fw-version") args.version = value(i++);
    else if (argv[i] === "--quiet") args.quiet = true;
    else if (argv[i] === "--if-stale") args.ifStale = true;
    else if (argv[i] === "--help" || argv[i] === "-h") args.help = true;
    else if (argv[i].startsWith("-")) throw new UsageError(`unknown option ${argv[i]} (see --help)`);
    else throw new UsageError(`unexpected argument ${argv[i]} (see --help)`);
  }
  return args;
}

/** Everything a full build reads besides the board files: sources, the build's own code and settings, the lock file. */
const INPUTS = ["src", "tsconfig.json", "package.json", "package-lock.json", "boards/board-file.mjs", "scripts/build.mjs", "scripts/bundles.mjs",
  "scripts/gate.mjs", "scripts/espruino-rewrites.mjs", "scripts/internal-names.mjs", "scripts/terser-plugin.mjs", "scripts/project.mjs"];
const STAMP = ".build-stamp";

/**
 * The gate's findings in a minified bundle, each with the TypeScript line it comes from where that can be found: the
 * bundle is generated again without the minifying output steps and with a source map, the gate runs on that, and
 * each finding in the bundle takes the source position of the first unused finding of the same construct there.
 * Constructs the minifier made have no source line and keep their bundle position only.
 */
/** A source map's source (relative to the bundle, or a file: URL) as a path from the project root. */
function sourcePath(config, source) {
  const file = source.startsWith("file://") ? new URL(source).pathname : path.resolve(root, path.dirname(config.output.file), source);
  return path.relative(root, file);
}

async function inTheSource(config, findings) {
  const [{ rollup }, { checkSource, formatFinding }] = await Promise.all([import("rollup"), import("./gate.mjs")]);
  let mapped = [];
  try {
    const bundle = await rollup(config);
    const { output } = await bundle.generate({ ...config.output, plugins: [], sourcemap: true });
    await bundle.close();
    const map = new SourceMap(/** @type {import("node:module").SourceMapPayload} */ (/** @type {unknown} */ (output[0].map)));
    mapped = checkSource(output[0].code, path.relative(root, config.output.file)).map((f) => {
      const e = /** @type {import("node:module").SourceMapping} */ (map.findEntry(f.line - 1, f.column - 1));
      return e && e.originalSource ? { ...f, source: `${sourcePath(config, e.originalSource)}:${e.originalLine + 1}:${e.originalColumn + 1}` } : f;
    });
  } catch (e) {
    /* no source positions: the bundle's are still right */
  }
  return findings.map((f) => {
    const i = mapped.findIndex((m) => m.source && m.construct === f.construct);
    if (i < 0) return formatFinding(f);
    const [m] = mapped.splice(i, 1);
    return `${m.source}: ${f.construct}  (${f.file}:${f.line}:${f.column})`;
  });
}

/**
 * Type declarations of the library bundles, for host code that loads them (host/lib.mjs): dist/lib/<name>.d.cts
 * beside each bundle, over the declarations of the sources in dist/lib/types/. The bundles keep the const enums as
 * objects, so the declarations say enum.
 */
async function emitLibraryDeclarations(entries, outDir) {
  const { default: ts } = await import("typescript");
  const { config } = ts.readConfigFile(path.join(root, "tsconfig.json"), ts.sys.readFile);
  const { options, fileNames } = ts.parseJsonConfigFileContent(config, ts.sys, root);
  const typesDir = path.join(outDir, "lib/types");
  fs.rmSync(typesDir, { recursive: true, force: true });
  const program = ts.createProgram([...entries, ...fileNames.filter((f) => f.endsWith(".d.ts"))], { ...options, noEmit: false, declaration: true, emitDeclarationOnly: true, outDir: typesDir, rootDir: path.join(root, "src") });
  const result = program.emit(undefined, (file, text) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text.replace(/\bconst enum\b/g, "enum"));
  });
  const errors = ts.getPreEmitDiagnostics(program).concat(result.diagnostics);
  if (errors.length) throw new Error(ts.formatDiagnostics(errors, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => "\n" }));
  for (const entry of entries) {
    const name = path.basename(entry, ".ts");
    fs.writeFileSync(path.join(outDir, `lib/${name}.d.cts`), `export * from "./types/lib/${name}";\n`);
  }
}

/** A hash of a build's inputs (contents, not times: checkouts touch files without changing them). */
function inputsFingerprint({ boardsDir = BOARDS_DIR, version = FIRMWARE.version } = {}) {
  const h = crypto.createHash("sha256");
  const add = (p, name) => {
    if (!fs.existsSync(p)) return;
    if (fs.statSync(p).isDirectory()) for (const e of fs.readdirSync(p).sort()) add(path.join(p, e), `${name}/${e}`);
    else h.update(name).update("\0").update(fs.readFileSync(p)).update("\0");
  };
  for (const i of INPUTS) add(path.join(root, i), i);
  for (const f of fs.existsSync(boardsDir) ? fs.readdirSync(boardsDir).filter((f) => f.endsWith(".json")).sort() : []) add(path.join(boardsDir, f), `boards/${f}`);
  h.update(`${version}\0${process.version}`);
  return h.digest("hex");
}

/**
 * Builds the bundles of `boards` (ids; every board and the library bundles when none is given) from the board files
 * in `boardsDir` into `outDir` as firmware `version`, and returns each bundle's size. `caches` (a Map kept between
 * calls, as the --watch loops do) holds each bundle's rollup cache, so a rebuild after a small change transforms and
 * type-checks only what changed.
 * @param {{ boards?: string[], boardsDir?: string, outDir?: string, version?: string, quiet?: boolean, caches?: Map<string, any> | null }} [options]
 * @returns {Promise<{ file: string, bytes: number, gzip: number }[]>}
 */
export async function build({ boards: only = [], boardsDir = BOARDS_DIR, outDir = DIST, version = FIRMWARE.version, quiet = false, caches = null } = {}) {
  if (!/^[\w.+-]{1,32}$/.test(version)) throw new UsageError(`firmware version ${JSON.stringify(version)}: use letters, digits and . + - _ only (such as 1.2.0)`);
  let boards;
  try {
    boards = loadBoards(boardsDir);
  } catch (e) {
    if (e instanceof BoardError) throw new Error(`bad board file: ${e.message}`);
    throw e;
  }
  for (const id of only) {
    if (!boards.some((b) => b.id === id)) throw new UsageError(`unknown board "${id}" (boards: ${boards.map((b) => b.id).join(", ")})`);
  }
  const [{ rollup }, { checkFiles }, { firmwareConfig, libraryConfig, libraryEntries }] =
    await Promise.all([import("rollup"), import("./gate.mjs"), import("./bundles.mjs")]);
  // A complete build leaves the stamp that says which inputs dist/ was built from. A one-board build of those very
  // inputs writes the same bytes and keeps it; any other build removes it until a complete one runs.
  const stamp = path.join(outDir, STAMP);
  const fingerprint = inputsFingerprint({ boardsDir, version });
  const current = fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === fingerprint;
  if (!(only.length && current)) fs.rmSync(stamp, { force: true });
  const wanted = only.length ? boards.filter((b) => only.includes(b.id)) : boards;
  // The first bundle's TypeScript program checks the sources for the whole build (tsPlugin in bundles.mjs).
  const configs = [...wanted.map((b) => (typeCheck) => firmwareConfig(b, { outDir, version, typeCheck })),
    ...(only.length ? [] : libraryEntries().map((e) => (typeCheck) => libraryConfig(e, { outDir, typeCheck })))].map((make, i) => make(i === 0));
  const files = [];
  for (const config of configs) {
    const bundle = await rollup(/** @type {import("rollup").RollupOptions} */ ({ ...config, cache: caches?.get(config.output.file) }));
    caches?.set(config.output.file, bundle.cache);
    await bundle.write(/** @type {import("rollup").OutputOptions} */ (config.output));
    await bundle.close();
    files.push(config.output.file);
  }
  if (!only.length) await emitLibraryDeclarations(libraryEntries(), outDir);
  for (const b of wanted) {
    fs.writeFileSync(path.join(outDir, b.id, "board.json"), JSON.stringify(espruinoToolsBoardJson(b), null, 2) + "\n");
  }
  const findings = checkFiles(files, root);
  if (findings.length) {
    const lines = [];
    for (const config of configs) {
      const here = findings.filter((f) => f.file === path.relative(root, config.output.file));
      if (here.length) lines.push(...(await inTheSource(config, here)));
    }
    throw new Error(`Espruino compatibility gate failed:\n${lines.join("\n")}`);
  }
  if (!only.length) fs.writeFileSync(stamp, fingerprint);
  const sizes = files.map((f) => {
    const code = fs.readFileSync(f);
    return { file: path.relative(root, f), bytes: code.length, gzip: zlib.gzipSync(code, { level: 9 }).length };
  });
  if (!quiet) {
    console.log("bundle                          bytes    gzip");
    for (const s of sizes) console.log(`${s.file.padEnd(30)} ${String(s.bytes).padStart(7)} ${String(s.gzip).padStart(7)}`);
    console.log(`gate: ${files.length} bundle(s) pass the Espruino compatibility check`);
  }
  return sizes;
}

/** A full build unless dist/ was built from these very inputs (the stamp a full build leaves); says when it builds. */
async function buildIfStale(args) {
  const stamp = path.join(args.outDir || DIST, STAMP);
  const have = fs.existsSync(stamp) ? fs.readFileSync(stamp, "utf8") : "";
  if (have && have === inputsFingerprint(args)) return;
  process.stderr.write(`setup: building the bundles (${have ? "sources changed" : "no build of these sources yet"})\n`);
  await build({ ...args, boards: [] });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const fail = (e) => {
    process.stderr.write(e instanceof UsageError ? `build: ${e.message}\n` : `build failed: ${e.message}\n`);
    process.exit(e instanceof UsageError ? 2 : 1);
  };
  try {
    const args = parseArgs(process.argv.slice(2));
    if (args.help) process.stdout.write(USAGE);
    else (args.ifStale ? buildIfStale(args) : build(args)).catch(fail);
  } catch (e) {
    fail(e);
  }
}
