// The rollup configurations of the build (scripts/build.mjs): one Espruino bundle per board (<out>/<board>/firmware.js)
// from src/main.ts, plus ES5 library bundles (<out>/lib/<name>.cjs) from src/lib/*.ts that the host tools and tests
// load, so they exercise the very code that is flashed. Both go through the same pipeline: TypeScript to ES5 with our
// own helpers, terser with hoisted functions and variables and ASCII-only output, then the rewrites of
// scripts/espruino-rewrites.mjs (docs/espruino.md says why each is needed: every one was seen to fail on the real
// interpreter).
import fs from "node:fs";
import path from "node:path";
import typescript from "@rollup/plugin-typescript";
import { terser } from "./terser-plugin.mjs";
import * as acorn from "acorn";
import * as walk from "acorn-walk";
import { espruinoRewrites } from "./espruino-rewrites.mjs";
import { markInternalNames } from "./internal-names.mjs";

import { ROOT, DIST, FIRMWARE } from "./project.mjs";

const HELPERS = path.join(ROOT, "src/platform/tslib.js");

/**
 * The ES module rollup compiles into a board's bundle as `import ... from "board"`; `version` is the firmware
 * version it reports (current_fw_version).
 */
export function boardModuleSource(board, version = FIRMWARE.version) {
  const fw = { title: FIRMWARE.title, version };
  const c = (v) => JSON.stringify(v);
  const has = (m) => board.modules.includes(m);
  return [
    `export var BOARD_ID = ${c(board.id)};`,
    `export var BOARD_NAME = ${c(board.name)};`,
    `export var FW_TITLE = ${c(fw.title)};`,
    `export var FW_VERSION = ${c(fw.version)};`,
    `export var ESPRUINO_BOARD = ${c(board.espruinoBoard)};`,
    `export var MODULES = ${c(board.modules)};`,
    `export var STATUS_LED = ${c(board.statusLed)};`,
    `export var STATUS_LED_ACTIVE_LOW = ${c(board.statusLedActiveLow)};`,
    `export var SENSORS = ${c(board.sensors.map(({ sim, ...s }) => s))};`,
    `export var HAS_WIFI = ${c(has("Wifi"))};`,
    `export var HAS_DEEP_SLEEP = ${c(has("ESP32"))};`,
    `export var HAS_DTLS = ${c(has("DTLS"))};`,
    // Code for input kinds a board does not fit is dropped from its bundle.
    `export var HAS_DIGITAL_INPUTS = ${c(board.sensors.some((s) => s.kind === "digital"))};`,
    `export var HAS_I2C_SENSORS = ${c(board.sensors.some((s) => s.kind === "i2c"))};`,
    `export var JSVAR_BUDGET = ${c(board.jsVarBudget)};`,
    `export var UDP_RECV_BUFFER = ${c(board.udpRecvBufferSize)};`,
  ].join("\n");
}

function boardModule(board, version) {
  return {
    name: "espruino-board",
    resolveId: (id) => (id === "board" ? "\0board" : null),
    load: (id) => (id === "\0board" ? boardModuleSource(board, version) : null),
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
  return { name: "espruino-finish", renderChunk: (code) => ({ code: espruinoRewrites(code), map: null }) };
}

/** @type {import("terser").MinifyOptions} */
const terserOptions = {
  ecma: 5,
  toplevel: true,
  // `unsafe` only assumes built-ins are not redefined (true on Espruino); arrows stay off: Espruino's are limited.
  // Espruino hoists neither functions nor variables: a `var` exists once its statement has run, so an assignment the
  // minifier moved before it (or into a loop ahead of it) would overwrite the enclosing scope's variable.
  compress: { hoist_funs: true, passes: 3, keep_fargs: false, unsafe: true, unsafe_arrows: false, arrows: false, pure_getters: false },
  mangle: { toplevel: true },
  format: { ascii_only: true, comments: false },
};

/** A last pass that only moves every `var` to the top of its function, once constants have been inlined. */
/** @type {import("terser").MinifyOptions} */
const hoistVarsOptions = { ...terserOptions, compress: { defaults: false, hoist_vars: true, hoist_funs: true, join_vars: true }, mangle: false };

/** @type {import("terser").MinifyOptions} */
export const firmwareTerserOptions = {
  ...terserOptions,
  // Also every property name ending in "$": the names that never leave the firmware (private class members and the
  // members of interfaces marked @firmwareOnly), marked so by scripts/internal-names.mjs. builtins: the regex alone
  // decides (terser otherwise keeps every name some browser API uses, like "value").
  mangle: { toplevel: true, properties: { regex: /\$$/, builtins: true } },
};

/**
 * TypeScript lowers each class method to a statement `C.prototype.m = function ...`, and the minifier keeps every
 * "prototype" (about 400 bytes in the firmware). Where a class body has two or more, this reads C.prototype once into
 * a local (`var C$p = C.prototype;` before the first) and assigns through it.
 */
function prototypeAlias() {
  const methodOf = (st) => {
    const a = st.type === "ExpressionStatement" && st.expression.type === "AssignmentExpression" && st.expression.left;
    const proto = a && a.type === "MemberExpression" && a.object;
    const ok = proto && proto.type === "MemberExpression" && !proto.computed && proto.property.name === "prototype" && proto.object.type === "Identifier";
    return ok ? proto : null;
  };
  return {
    name: "prototype-alias",
    renderChunk(code) {
      const edits = [];
      walk.simple(acorn.parse(code, { ecmaVersion: "latest", sourceType: "script" }), {
        BlockStatement(block) {
          const byClass = new Map();
          for (const st of block.body) {
            const proto = methodOf(st);
            if (proto) byClass.set(proto.object.name, [...(byClass.get(proto.object.name) || []), { st, proto }]);
          }
          for (const [name, uses] of byClass) {
            if (uses.length < 2) continue;
            edits.push({ at: uses[0].st.start, end: uses[0].st.start, text: `var ${name}$p = ${name}.prototype; ` });
            for (const u of uses) edits.push({ at: u.proto.start, end: u.proto.end, text: `${name}$p` });
          }
        },
      });
      edits.sort((a, b) => b.at - a.at || b.end - a.end);
      let out = code;
      for (const e of edits) out = out.slice(0, e.at) + e.text + out.slice(e.end);
      return { code: out, map: null };
    },
  };
}

/**
 * Firmware bundles inline every const enum member they use; library bundles keep the enums as objects for the host.
 * Every bundle's TypeScript program is the whole of src/ (tsconfig.json's files), so one type check per build is
 * enough: a build checks its first bundle only (`typeCheck`), the others are compiled without the checker's
 * diagnostics (the same output: it still resolves const enums and the types internal-names.mjs reads).
 * @param {{ transformers?: object, preserveConstEnums?: boolean, typeCheck?: boolean }} [options]
 */
function tsPlugin({ transformers = undefined, preserveConstEnums = false, typeCheck = true } = {}) {
  return typescript({ tsconfig: path.join(ROOT, "tsconfig.json"), filterRoot: ROOT, tslib: HELPERS, noEmit: false, outputToFilesystem: false, transformers,
    compilerOptions: { preserveConstEnums, noCheck: !typeCheck } });
}

function onwarn(warning, warn) {
  // A circular import or an unresolved module is a real bug in firmware code, not noise; so is a type error, which
  // the TypeScript plugin reports only as a warning (with a 1-based column).
  if (warning.code === "CIRCULAR_DEPENDENCY" || warning.code === "UNRESOLVED_IMPORT") throw new Error(warning.message);
  if (warning.plugin === "typescript") {
    const where = warning.loc ? `${path.relative(ROOT, warning.loc.file)}:${warning.loc.line}:${warning.loc.column}: ` : "";
    throw new Error(`${where}${warning.pluginCode ? warning.pluginCode + ": " : ""}${warning.message.replace(/^[\s\S]*?TS\d+: /, "")}`);
  }
  warn(warning);
}

// Espruino's built-in modules stay as require("x") calls; only they may be external.
const BUILTIN = ["dgram", "Storage", "Wifi", "ESP32", "DTLS", "crypto", "heatshrink", "Flash", "net", "timer"];

/**
 * The rollup configuration of `board`'s bundle, written to <outDir>/<board id>/firmware.js as firmware `version`.
 * @param {object} board a validated board file (boards/board-file.mjs)
 * @param {{ outDir?: string, version?: string, typeCheck?: boolean }} [options] typeCheck: false when another bundle of
 *   the same build checks the sources
 */
export function firmwareConfig(board, { outDir = DIST, version = FIRMWARE.version, typeCheck = true } = {}) {
  return {
    input: path.join(ROOT, "src/main.ts"),
    external: BUILTIN,
    onwarn,
    treeshake: { moduleSideEffects: true, propertyReadSideEffects: false },
    plugins: [boardModule(board, version), tsPlugin({ transformers: { before: [{ type: "program", factory: markInternalNames }] }, typeCheck })],
    output: {
      file: path.join(outDir, board.id, "firmware.js"),
      format: "iife",
      strict: false,
      generatedCode: "es5",
      globals: Object.fromEntries(BUILTIN.map((m) => [m, `require(${JSON.stringify(m)})`])),
      plugins: [prototypeAlias(), terser(firmwareTerserOptions), terser(hoistVarsOptions), espruinoFinish()],
    },
  };
}

/**
 * The rollup configuration of the library bundle of `entry` (src/lib/<name>.ts), written to <outDir>/lib/<name>.cjs.
 * @param {string} entry
 * @param {{ outDir?: string, typeCheck?: boolean }} [options]
 */
export function libraryConfig(entry, { outDir = DIST, typeCheck = true } = {}) {
  const name = path.basename(entry, ".ts");
  return {
    input: entry,
    external: BUILTIN,
    onwarn,
    plugins: [noBoardInLibraries(), tsPlugin({ preserveConstEnums: true, typeCheck })],
    output: {
      file: path.join(outDir, "lib", `${name}.cjs`),
      format: "cjs",
      exports: "named",
      strict: false,
      generatedCode: "es5",
      plugins: [terser({ ...terserOptions, toplevel: false, mangle: { toplevel: false } }), terser({ ...hoistVarsOptions, toplevel: false }), espruinoFinish()],
    },
  };
}

/** The library entry points, src/lib/*.ts. */
export function libraryEntries() {
  const dir = path.join(ROOT, "src/lib");
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".ts")).sort().map((f) => path.join(dir, f)) : [];
}
