// Bundle sizes per board, from the same build `npm run build` makes.
import { build } from "../scripts/build.mjs";

export async function run() {
  const sizes = await build({ quiet: true });
  const out = {};
  for (const s of sizes) {
    const m = /^dist\/([^/]+)\/firmware\.js$/.exec(s.file);
    if (m) {
      out[`build.${m[1]}_bundle_bytes`] = s.bytes;
      out[`build.${m[1]}_bundle_gzip_bytes`] = s.gzip;
    }
  }
  return out;
}
