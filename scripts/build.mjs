#!/usr/bin/env node
// `npm run build [-- --board <id>]`: validates the board files, bundles src/ for every board (and the library
// bundles), runs the Espruino compatibility gate on the result and prints each bundle's size.
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import crypto from "node:crypto";
import { rollup } from "rollup";
import { BoardError, loadBoards, espruinoToolsBoardJson } from "./board.mjs";
import { SourceMap } from "node:module";
import { checkFiles, checkSource, formatFinding } from "./gate.mjs";
import ts from "typescript";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
process.chdir(root);

const USAGE = `usage: npm run build -- [--board ID]... [--quiet] [--if-stale]

  --board ID     build only this board's bundle (boards/ID.json; repeatable); the library bundles are always built
  --quiet        print nothing but errors
  --if-stale     return at once when no input changed since the last full build
`;

class UsageError extends Error {}

function parseArgs(argv) {
  const args = { boards: [], quiet: false, ifStale: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--board") {
      if (i + 1 >= argv.length || argv[i + 1].startsWith("--")) throw new UsageError("--board needs a value");
      args.boards.push(argv[++i]);
    } else if (argv[i] === "--quiet") args.quiet = true;
    else if (argv[i] === "--if-stale") args.ifStale = true;
    else if (argv[i] === "--help" || argv[i] === "-h") args.help = true;
    else if (argv[i].startsWith("-")) throw new UsageError(`unknown option ${argv[i]} (see --help)`);
    else throw new UsageError(`unexpected argument ${argv[i]} (see --help)`);
  }
  return args;
}

/** Everything a full build reads: sources, board files, the build's own code and settings, the lock file. */
const INPUTS = ["src", "boards", "rollup.config.js", "tsconfig.json", "package-lock.json", "scripts/build.mjs", "scripts/board.mjs",
  "scripts/gate.mjs", "scripts/espruino-rewrites.mjs", "scripts/private-members.mjs", "scripts/terser-plugin.mjs", "src/platform/tslib.js"];
const STAMP = "dist/.build-stamp";

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
  let mapped = [];
  try {
    const bundle = await rollup(config);
    const { output } = await bundle.generate({ ...config.output, plugins: [], sourcemap: true });
    await bundle.close();
    const map = new SourceMap(/** @type {import("node:module").SourceMapPayload} */ (/** @type {unknown} */ (output[0].map)));
    mapped = checkSource(output[0].code, config.output.file).map((f) => {
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
function emitLibraryDeclarations(entries) {
  const { config } = ts.readConfigFile(path.join(root, "tsconfig.json"), ts.sys.readFile);
  const { options, fileNames } = ts.parseJsonConfigFileContent(config, ts.sys, root);
  const outDir = path.join(root, "dist/lib/types");
  fs.rmSync(outDir, { recursive: true, force: true });
  const program = ts.createProgram([...entries, ...fileNames.filter((f) => f.endsWith(".d.ts"))], { ...options, noEmit: false, declaration: true, emitDeclarationOnly: true, outDir, rootDir: path.join(root, "src") });
  const result = program.emit(undefined, (file, text) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text.replace(/\bconst enum\b/g, "enum"));
  });
  const errors = ts.getPreEmitDiagnostics(program).concat(result.diagnostics);
  if (errors.length) throw new Error(ts.formatDiagnostics(errors, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => "\n" }));
  for (const entry of entries) {
    const name = path.basename(entry, ".ts");
    fs.writeFileSync(path.join(root, `dist/lib/${name}.d.cts`), `export * from "./types/lib/${name}";\n`);
  }
}

/** A hash of the build's inputs (contents, not times: checkouts touch files without changing them). */
export function inputsFingerprint() {
  const h = crypto.createHash("sha256");
  const add = (p) => {
    if (!fs.existsSync(p)) return;
    if (fs.statSync(p).isDirectory()) for (const e of fs.readdirSync(p).sort()) add(path.join(p, e));
    else h.update(p).update("\0").update(fs.readFileSync(p)).update("\0");
  };
  for (const i of INPUTS) add(i);
  h.update(`${process.env.BOARDS_DIR || ""}\0${process.env.FW_VERSION || ""}\0${process.version}`);
  return h.digest("hex");
}

/**
 * `caches` (a Map kept between calls, as the --watch loops do) holds each bundle's rollup cache, so a rebuild after
 * a small change transforms and type-checks only what changed.
 */
export async function build({ boards: only = [], quiet = false, caches = null } = {}) {
  let boards;
  try {
    boards = loadBoards();
  } catch (e) {
    if (e instanceof BoardError) throw new Error(`bad board file: ${e.message}`);
    throw e;
  }
  for (const id of only) {
    if (!boards.some((b) => b.id === id)) throw new UsageError(`unknown board "${id}" (boards: ${boards.map((b) => b.id).join(", ")})`);
  }
  // A complete build leaves the stamp that says which inputs dist/ was built from. A one-board build of those very
  // inputs writes the same bytes and keeps it; any other build removes it until a complete one runs.
  const fingerprint = inputsFingerprint();
  const current = fs.existsSync(STAMP) && fs.readFileSync(STAMP, "utf8") === fingerprint;
  if (!(only.length && current)) fs.rmSync(STAMP, { force: true });
  const { firmwareConfig, libraryConfig, libraryEntries } = await import("../rollup.config.js");
  const wanted = only.length ? boards.filter((b) => only.includes(b.id)) : boards;
  const configs = [...wanted.map(firmwareConfig), ...(only.length ? [] : libraryEntries().map(libraryConfig))];
  const files = [];
  for (const config of configs) {
    const bundle = await rollup(/** @type {import("rollup").RollupOptions} */ ({ ...config, cache: caches?.get(config.output.file) }));
    caches?.set(config.output.file, bundle.cache);
    await bundle.write(/** @type {import("rollup").OutputOptions} */ (config.output));
    await bundle.close();
    files.push(config.output.file);
  }
  if (!only.length) emitLibraryDeclarations(libraryEntries());
  for (const b of wanted) {
    fs.writeFileSync(`dist/${b.id}/board.json`, JSON.stringify(espruinoToolsBoardJson(b), null, 2) + "\n");
  }
  const findings = checkFiles(files);
  if (findings.length) {
    const lines = [];
    for (const config of configs) {
      const here = findings.filter((f) => f.file === config.output.file);
      if (here.length) lines.push(...(await inTheSource(config, here)));
    }
    throw new Error(`Espruino compatibility gate failed:\n${lines.join("\n")}`);
  }
  if (!only.length) fs.writeFileSync(STAMP, fingerprint);
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

/** A full build unless dist/ was built from these very inputs (the stamp a full build leaves); says when it builds. */
async function buildIfStale(args) {
  const have = fs.existsSync(STAMP) ? fs.readFileSync(STAMP, "utf8") : "";
  if (have && have === inputsFingerprint()) return;
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
