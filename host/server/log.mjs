// Readable one-line logs. Secrets (access tokens, provisioning secrets, keys) are only ever printed masked.

const LEVELS = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 };

/** "A1b2C3d4E5" -> "A1…(10)": enough to tell devices apart, never enough to use. */
export function mask(secret) {
  const s = String(secret ?? "");
  if (s.length === 0) return "";
  return s.slice(0, Math.min(2, Math.floor(s.length / 4))) + "…(" + s.length + ")";
}

/** Masks the token segment of /api/v1/{token}/... and /fw|sw/{token}. */
export function maskPath(segments) {
  const p = segments.slice();
  if (p[0] === "api" && p[1] === "v1" && p.length > 3) p[2] = mask(p[2]);
  if ((p[0] === "fw" || p[0] === "sw") && p.length >= 2) p[1] = mask(p[1]);
  return "/" + p.join("/");
}

export function createLogger(level = "info", sink = (line) => process.stderr.write(line + "\n")) {
  if (!(level in LEVELS)) throw new Error(`unknown log level "${level}" (use one of ${Object.keys(LEVELS).join(", ")})`);
  const max = LEVELS[level];
  const at = (name) => (area, text) => {
    if (LEVELS[name] <= max) sink(`${new Date().toISOString()} ${name.padEnd(5)} [${area}] ${text}`);
  };
  return { level, error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug"), enabled: (name) => LEVELS[name] <= max };
}
