// The firmware's library bundles (dist/lib/<name>.cjs, built by `npm run build` from src/lib/<name>.ts): host code
// speaks CoAP and checks configuration with the very code that is flashed. This is the one place that loads them;
// their types are the declarations the build writes beside them (dist/lib/<name>.d.cts).
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const DIST = fileURLToPath(new URL("../dist/", import.meta.url));

/**
 * The library bundle `name` from `dist` (a build output folder; the project's dist/ by default), with a clear error
 * when it was not built.
 * @param {"coap" | "node"} name
 * @param {string} [dist]
 * @returns {any}
 */
export function loadLibrary(name, dist = DIST) {
  const file = path.join(dist, "lib", `${name}.cjs`);
  if (!fs.existsSync(file)) throw new Error(`${path.relative(process.cwd(), file) || file} is missing: run "npm run build" first`);
  return require(file);
}

/** The CoAP stack: codec, URIs, the message layer, the UDP transport and the CoAP numbers. */
export const coap = /** @type {typeof import("../dist/lib/coap.cjs")} */ (loadLibrary("coap"));

/** The sensor node's building blocks: configuration, the telemetry queue, checksums, the boot state. */
export const nodeLib = /** @type {typeof import("../dist/lib/node.cjs")} */ (loadLibrary("node"));
