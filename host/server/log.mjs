// Readable one-line logs. Secrets (access tokens, provisioning secrets, keys) are only ever printed masked.

const LEVELS = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 };

/** "A1b2C3d4E5" -> "A1…(10)": enough to tell devices apart, never enough to use. */
export function mask(secret) {
  const s = String(secret ?? "");
  if (s.length === 0) return "";
  return s.slice(0, Math.min(2, Math.floor(s.length / 4))) + "…(" + s.length + ")";
}

/**
 * Where a device path carries an access token: /api/v1/{token}[/...] (every /api/v1 path but /api/v1/provision) and
 * /fw|sw/{token}. -1 when it has none.
 */
export function tokenIndex(segments) {
  if (segments[0] === "api" && segments[1] === "v1" && segments.length >= 3 && segments[2] !== "provision") return 2;
  if ((segments[0] === "fw" || segments[0] === "sw") && segments.length >= 2) return 1;
  return -1;
}

/** The path with its token replaced by `hide(token)` (masked by default). */
export function maskPath(segments, hide = mask) {
  const p = segments.slice();
  const i = tokenIndex(p);
  if (i >= 0) p[i] = hide(p[i]);
  return "/" + p.join("/");
}

export function createLogger(level = "info", sink = (line) => process.stderr.write(line + "\n")) {
  if (!(level in LEVELS)) throw new Error(`unknown log level "${level}" (use one of ${Object.keys(LEVELS).join(", ")})`);
  const max = LEVELS[level];
  const write = (name, area, text) => sink(`${new Date().toISOString()} ${name.padEnd(5)} [${area}] ${text}`);
  const at = (name) => (area, text) => {
    if (LEVELS[name] <= max) write(name, area, text);
  };
  // Lines any peer can cause (a malformed datagram each) are limited per kind: `burst` in a window, then one line
  // counting what was suppressed, so a flood cannot fill the log.
  const windows = new Map();
  const limited = (name, kind, { burst = 10, windowMs = 10000 } = {}) => (area, text) => {
    if (LEVELS[name] > max) return;
    let w = windows.get(kind);
    if (!w) {
      w = { count: 0, suppressed: 0 };
      windows.set(kind, w);
      const timer = setTimeout(() => {
        windows.delete(kind);
        if (w.suppressed) write(name, area, `${w.suppressed} more ${kind} line(s) suppressed in the last ${windowMs / 1000} s`);
      }, windowMs);
      if (timer.unref) timer.unref();
    }
    if (w.count++ < burst) write(name, area, text);
    else w.suppressed++;
  };
  return { level, error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug"), limited, enabled: (name) => LEVELS[name] <= max };
}
