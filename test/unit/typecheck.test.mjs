// The type checks CI runs: the firmware under its own tsconfig, and the host (host/, the build scripts, benches) as checked
// JavaScript against the firmware's Espruino module contracts (src/types/espruino-modules.d.ts) and the library
// bundles' emitted declarations (dist/lib/*.d.cts). A stand-in that drifts from its contract fails here.
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
import { ROOT, tempDir } from "../sim-support.mjs";

/** The diagnostics of a tsconfig's program, with `extraFiles` added; `only` limits them to that file's. */
function check(configFile, extraFiles = [], only = undefined) {
  const { config } = ts.readConfigFile(configFile, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, path.dirname(configFile));
  const program = ts.createProgram([...parsed.fileNames, ...extraFiles], parsed.options);
  return ts.getPreEmitDiagnostics(program, only && program.getSourceFile(only)).map((d) => {
    const where = d.file ? `${path.relative(ROOT, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: ` : "";
    return `${where}TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
  });
}

test("the firmware type-checks under tsconfig.json", () => {
  assert.deepEqual(check(path.join(ROOT, "tsconfig.json")), []);
});

test("the host type-checks under tsconfig.host.json, the library bundles' declarations included", () => {
  assert.ok(fs.existsSync(path.join(ROOT, "dist/lib/coap.d.cts")), "the build writes dist/lib/coap.d.cts");
  assert.deepEqual(check(path.join(ROOT, "tsconfig.host.json")), []);
});

test("a host stand-in that drifts from its Espruino module contract fails the host type check", (t) => {
  const dir = tempDir(t, "typecheck-");
  const file = path.join(dir, "drift.mjs");
  // A DTLS module whose sockets lack maxDatagram(), and a Storage module whose read() returns bytes.
  fs.writeFileSync(file, `
/** @returns {DtlsModule} */
export function dtls() {
  return { connect: (o) => ({ on() {}, emit() {}, removeListener() {}, removeAllListeners() {}, send(m) {}, exportSession: () => undefined, close() {} }) };
}
/** @returns {StorageModule} */
export function storage() {
  return { read: (name) => new Uint8Array(0), readJSON() {}, readArrayBuffer: () => undefined, write: () => true, writeJSON: () => true,
    erase() {}, eraseAll() {}, list: () => [], getFree: () => 0, compact() {}, getStats: () => ({ totalBytes: 0, fileBytes: 0, fileCount: 0, trashBytes: 0, trashCount: 0 }) };
}
`);
  const errors = check(path.join(ROOT, "tsconfig.host.json"), [file], file);
  assert.ok(errors.length > 0 && errors.every((e) => e.includes("drift.mjs")), errors.join("\n"));
  assert.ok(errors.some((e) => /maxDatagram/.test(e)), errors.join("\n"));
  assert.ok(errors.some((e) => /Uint8Array.*is not assignable to type 'string'/.test(e)), errors.join("\n"));
});
