// terser as a rollup output step, run in this process: @rollup/plugin-terser starts worker threads on every build,
// which cost a --watch reload more than the minifying itself. terser writes defaults into the options it is given
// (compress.toplevel, ...), so each run gets its own copy: one bundle's settings must not leak into the next.
import { minify } from "terser";

export function terser(options) {
  return {
    name: "terser",
    async renderChunk(code) {
      const result = await minify(code, structuredClone(options));
      return { code: result.code, map: null };
    },
  };
}
