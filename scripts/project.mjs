// What every build script needs to know of the project without loading the build itself (rollup, TypeScript and
// terser take half a second to load, which `npm run build -- --if-stale` on unchanged inputs need not pay).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The project the build scripts build (the checkout, or a copy of its build inputs). */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** Where bundles go unless a build is told otherwise. */
export const DIST = path.join(ROOT, "dist");

const PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));

/** The firmware's title as reported to ThingsBoard (current_fw_title) and the version a build gives by default. */
export const FIRMWARE = { title: PACKAGE.name, version: PACKAGE.version };
