// Command-line options of the project's commands (server, flash, configure, hil): `spec` maps "--name" to "string", "number",
// "flag" or "list"; values land under the camelCased name. Unknown options and missing values are errors.

export class UsageError extends Error {}

/**
 * Runs a command's `main()` and ends the process the same way for every command: `tool: message` on stderr, exit 2
 * for usage and configuration errors (`usageErrors`, UsageError always), 1 for anything else.
 */
export function runCommand(tool, main, { usageErrors = [] } = {}) {
  main().catch((e) => {
    process.stderr.write(`${tool}: ${e.message}\n`);
    process.exitCode = e instanceof UsageError || usageErrors.some((E) => e instanceof E) ? 2 : 1;
    // Whatever is still open (a port, a server) must not keep a failed command running.
    setTimeout(() => process.exit(), 200).unref();
  });
}

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
