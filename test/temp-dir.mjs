// A temporary folder for one test, removed after it (every test's scratch space comes from here). `t` is the test's
// context, or node:test's `{ after }` for a folder the tests of a whole file share.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** @param {{ after: (fn: () => void) => void }} t @param {string} [prefix] */
export function tempDir(t, prefix = "test-") {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
