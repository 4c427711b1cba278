// Watching the firmware's sources for `--watch` (sim and flash): a change under src/ or boards/, once changes have
// settled for 200 ms, runs `onChange()`; changes made while it runs lead to one more run after it, never two at once.
import fs from "node:fs";
import path from "node:path";

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");

export function watchSources(onChange, { root = ROOT, settleMs = 200 } = {}) {
  let timer = null;
  let running = false;
  let again = false;
  const run = async () => {
    if (running) return void (again = true);
    running = true;
    try {
      await onChange();
    } finally {
      running = false;
      if (again) {
        again = false;
        run();
      }
    }
  };
  const changed = () => {
    clearTimeout(timer);
    timer = setTimeout(run, settleMs);
  };
  // One plain watcher per folder, armed before this returns (Node's recursive watch on Linux arms asynchronously and
  // could miss a change made at once); a folder created later is not watched.
  const folders = [];
  const walk = (d) => {
    folders.push(d);
    for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
  };
  for (const d of ["src", "boards"]) walk(path.join(root, d));
  const watchers = folders.map((d) => fs.watch(d, changed));
  return {
    close() {
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}

/**
 * One board's rebuild for a --watch loop, its rollup caches kept between builds. A first build starts at once, so
 * that the caches are warm and the first reload after a change is as quick as the later ones; `first` is that build
 * (a command that needs the bundle before it watches waits for it instead of building again).
 */
export function boardRebuilder(boardId) {
  const caches = new Map();
  const rebuild = async () => {
    const { build } = await import("../../scripts/build.mjs");
    await build({ boards: [boardId], quiet: true, caches });
  };
  const first = rebuild();
  const warm = first.catch(() => {}); // a broken tree is reported by the first reload's build
  return {
    first,
    next: async () => {
      await warm;
      await rebuild();
    },
  };
}

/** "31894 -> 31900 bytes, +6" */
export function sizeChange(before, after) {
  const d = after - before;
  return `${before} -> ${after} bytes, ${d >= 0 ? "+" : ""}${d}`;
}
