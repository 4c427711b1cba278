// One Espruino bundle per board (dist/<board>/firmware.js) from src/main.ts, plus ES5 library bundles
// (dist/lib/<name>.cjs) from src/lib/*.ts that the host tools and tests load, so they exercise the very code that
// is flashed. Both go through the same pipeline: TypeScript to ES5 with our own helpers, terser with hoisted
// functions and ASCII-only output, then array holes rewritten (see ../shared/docs/espruino.md, section 1.4).
import fs from "node:fs";
import path from "node:path";
import typescript from "@rollup/plugin-typescript";
import terser from "@rollup/plugin-terser";
import { loadBoards, boardModuleSource } from "./scripts/board.mjs";
import { fillArrayHoles } from "./scripts/holes.mjs";

const HELPERS = path.resolve("src/platform/tslib.js");

function boardModule(board) {
  return {
    name: "espruino-board",
    resolveId: (id) => (id === "board" ? "\0board" : null),
    load: (id) => (id === "\0board" ? boardModuleSource(board) : null),
  };
}

function noBoardInLibraries() {
  return {
    name: "no-board-in-libraries",
    resolveId(id, importer) {
      if (id === "board") this.error(`${importer} imports "board": library bundles are board-independent`);
      return null;
    },
  };
}

function espruinoFinish() {
  return { name: "espruino-finish", renderChunk: (code) => ({ code: fillArrayHoles(code), map: null }) };
}

const terserOptions = {
  ecma: 5,
  toplevel: true,
  compress: { hoist_funs: true, passes: 2, unsafe_arrows: false, arrows: false, pure_getters: false },
  mangle: { toplevel: true },
  format: { ascii_only: true, comments: false },
};

function tsPlugin() {
  return typescript({ tsconfig: "./tsconfig.json", tslib: HELPERS, noEmit: false, outputToFilesystem: false });
}

function onwarn(warning, warn) {
  // A circular import or an unresolved module is a real bug in firmware code, not noise.
  if (warning.code === "CIRCULAR_DEPENDENCY" || warning.code === "UNRESOLVED_IMPORT") throw new Error(warning.message);
  warn(warning);
}

// Espruino's built-in modules stay as require("x") calls; only they may be external.
const BUILTIN = ["dgram", "Storage", "Wifi", "ESP32", "DTLS", "crypto", "heatshrink", "Flash", "net", "timer"];

export function firmwareConfig(board) {
  return {
    input: "src/main.ts",
    external: BUILTIN,
    onwarn,
    treeshake: { moduleSideEffects: true, propertyReadSideEffects: false },
    plugins: [boardModule(board), tsPlugin()],
    output: {
      file: `dist/${board.id}/firmware.js`,
      format: "iife",
      strict: false,
      generatedCode: "es5",
      globals: Object.fromEntries(BUILTIN.map((m) => [m, `require(${JSON.stringify(m)})`])),
      plugins: [terser(terserOptions), espruinoFinish()],
    },
  };
}

export function libraryConfig(entry) {
  const name = path.basename(entry, ".ts");
  return {
    input: entry,
    external: BUILTIN,
    onwarn,
    plugins: [noBoardInLibraries(), tsPlugin()],
    output: {
      file: `dist/lib/${name}.cjs`,
      format: "cjs",
      exports: "named",
      strict: false,
      generatedCode: "es5",
      plugins: [terser({ ...terserOptions, toplevel: false, mangle: { toplevel: false } }), espruinoFinish()],
    },
  };
}

export function libraryEntries() {
  const dir = "src/lib";
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".ts")).sort().map((f) => path.join(dir, f)) : [];
}

export default [...loadBoards().map(firmwareConfig), ...libraryEntries().map(libraryConfig)];
