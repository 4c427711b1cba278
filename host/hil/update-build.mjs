// A distinguishable firmware update for OTA scenarios: the board's bundle built as another firmware version, into a
// temporary folder, so dist/ (which others are using) stays exactly as it was. The build is loaded only when an OTA
// scenario runs: TypeScript and rollup take half a second to load, which every other `npm run hil` would pay.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { FIRMWARE } from "../../scripts/project.mjs";

/** Resolves to { title, version, bytes } of the board's bundle built as `version`. */
export async function buildUpdate(board, version) {
  const { build } = await import("../../scripts/build.mjs");
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "hil-update-"));
  try {
    await build({ boards: [board], outDir, version, quiet: true });
    return { title: FIRMWARE.title, version, bytes: fs.readFileSync(path.join(outDir, board, "firmware.js")) };
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true });
  }
}
