// Command-line options for the flash, configure and hil commands: `spec` maps "--name" to "string", "number",
// "flag" or "list"; values land under the camelCased name. Unknown options and missing values are errors.

export class UsageError extends Error {}

function camel(flag) {
  return flag.replace(/^--/, "").replace(/-([a-z])/g, (_, c) => c.toUpperCase());
}

export function parseArgs(argv, spec) {
  const o = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) {
      o._.push(a);
      continue;
    }
    const [flag, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const kind = spec[flag];
    if (!kind) throw new UsageError(`unknown option ${flag} (see --help)`);
    const key = camel(flag);
    if (kind === "flag") {
      if (inline !== undefined) throw new UsageError(`${flag} takes no value`);
      o[key] = true;
      continue;
    }
    let v = inline;
    if (v === undefined) {
      if (i + 1 >= argv.length || argv[i + 1].startsWith("--")) throw new UsageError(`${flag} needs a value`);
      v = argv[++i];
    }
    if (kind === "number") {
      const n = Number(v);
      if (v === "" || !Number.isFinite(n)) throw new UsageError(`${flag} needs a number, not ${JSON.stringify(v)}`);
      o[key] = n;
    } else if (kind === "list") (o[key] ??= []).push(v);
    else o[key] = v;
  }
  return o;
}
