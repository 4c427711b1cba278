// The node's configuration (node.cfg) from command-line options, validated by the firmware's own validateConfig
// (dist/lib/node.cjs, the code that runs on the board) before anything is written, then stored on the board through
// its console: the CA certificate as its own Storage file (node.ca, named in "ca"), then node.cfg, then load() so the
// firmware starts with it. Secrets come from files or environment variables and are never printed.
import fs from "node:fs";
import path from "node:path";
import { nodeLib } from "../lib.mjs";
import { Repl } from "./repl.mjs";

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");
export const CONFIG_FILE = "node.cfg";
export const CA_FILE = "node.ca";

export class ConfigError extends Error {}

/** The option that sets each node.cfg field, so an error names what the user typed as well. */
const FLAG_OF = {
  server: "--server", token: "--token-file/--token-env", "provision.key": "--provision-key",
  "provision.secret": "--provision-secret-file/--provision-secret-env", "provision.deviceName": "--device-name",
  ca: "--ca", insecure: "--insecure", wifi: "--wifi", "wifi.ssid": "--wifi", "wifi.password": "--wifi-password-file/--wifi-password-env",
  intervalS: "--interval", sleep: "--sleep", queueMax: "--queue-max", otaMaxTrials: "--ota-max-trials", clientTs: "--no-client-ts",
};

function withFlag(error) {
  const m = /^"([^"]+)"/.exec(error);
  return m && FLAG_OF[m[1]] ? `${FLAG_OF[m[1]]}: ${error}` : error;
}


/**
 * A secret from `--X-file F` (first line of F) or `--X-env VAR`, or given inline (then `warn` is told).
 * Returns undefined when none of them is set.
 */
export function readSecret(name, { inline = undefined, file, envVar }, { env = process.env, warn = (_warning) => {} } = {}) {
  const given = [inline, file, envVar].filter((v) => v !== undefined).length;
  if (given > 1) throw new ConfigError(`give the ${name} one way only: --${name}, --${name}-file or --${name}-env`);
  if (file !== undefined) {
    let text;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (e) {
      throw new ConfigError(`cannot read the ${name} from --${name}-file ${file}: ${e.code === "ENOENT" ? "no such file" : e.message}`);
    }
    const value = text.replace(/\r?\n$/, "");
    if (value.includes("\n")) throw new ConfigError(`--${name}-file ${file} must hold the ${name} on one line`);
    return value;
  }
  if (envVar !== undefined) {
    if (env[envVar] === undefined) throw new ConfigError(`environment variable ${envVar} (--${name}-env) is not set`);
    return env[envVar];
  }
  if (inline !== undefined) warn(`--${name} on the command line lands in your shell history; prefer --${name}-file or --${name}-env`);
  return inline;
}

/** A secret as it may be shown: its length only. */
export function masked(value) {
  return `<hidden, ${String(value).length} characters>`;
}

/** The configuration with every secret replaced by masked(). */
export function maskConfig(cfg) {
  const out = JSON.parse(JSON.stringify(cfg));
  if (out.token !== undefined) out.token = masked(out.token);
  if (out.wifi && out.wifi.password !== undefined) out.wifi.password = masked(out.wifi.password);
  if (out.provision && out.provision.secret !== undefined) out.provision.secret = masked(out.provision.secret);
  return out;
}

/** Removes every secret in `secrets` from `text` (for logs and reports that may quote the board). */
export function redact(text, secrets) {
  let out = String(text);
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join(masked(s));
  return out;
}

/**
 * Builds node.cfg from parsed options (see configure-cli.mjs) and validates it with the firmware's validator.
 * Returns { config, caPem, secrets }; throws a ConfigError listing every problem (secrets never quoted).
 */
export function buildConfig(o, { env = process.env, warn = (_warning) => {}, validate = nodeLib.validateConfig } = {}) {
  const cfg = {};
  if (o.server !== undefined) cfg.server = o.server;
  const token = readSecret("token", { inline: o.token, file: o.tokenFile, envVar: o.tokenEnv }, { env, warn });
  if (token !== undefined) cfg.token = token;
  const provisionSecret = readSecret("provision-secret", { inline: o.provisionSecret, file: o.provisionSecretFile, envVar: o.provisionSecretEnv }, { env, warn });
  if (o.provisionKey !== undefined || provisionSecret !== undefined) {
    cfg.provision = { key: o.provisionKey, secret: provisionSecret };
    if (o.deviceName !== undefined) cfg.provision.deviceName = o.deviceName;
  }
  let caPem;
  if (o.ca !== undefined) {
    try {
      caPem = fs.readFileSync(o.ca, "latin1");
    } catch (e) {
      throw new ConfigError(`cannot read the CA certificate --ca ${o.ca}: ${e.code === "ENOENT" ? "no such file" : e.message}`);
    }
    if (!/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/.test(caPem)) throw new ConfigError(`--ca ${o.ca} holds no PEM certificate`);
    cfg.ca = CA_FILE;
  }
  if (o.insecure) {
    cfg.insecure = true;
    warn("--insecure: the node will not verify the server's certificate; anyone on the path can read and change its data");
  }
  const wifiPassword = readSecret("wifi-password", { inline: o.wifiPassword, file: o.wifiPasswordFile, envVar: o.wifiPasswordEnv }, { env, warn });
  if (o.wifi !== undefined) {
    cfg.wifi = { ssid: o.wifi };
    if (wifiPassword !== undefined) cfg.wifi.password = wifiPassword;
  } else if (wifiPassword !== undefined) throw new ConfigError("a Wi-Fi password needs --wifi SSID");
  if (o.interval !== undefined) cfg.intervalS = o.interval;
  if (o.sleep) cfg.sleep = true;
  if (o.queueMax !== undefined) cfg.queueMax = o.queueMax;
  if (o.clientTs === false) cfg.clientTs = false;
  if (o.otaMaxTrials !== undefined) cfg.otaMaxTrials = o.otaMaxTrials;
  // Validated as the board will read it: Espruino's strings are bytes, so text outside ASCII (an SSID such as
  // "Café") arrives as its UTF-8 bytes, and the 32-character SSID limit counts those bytes.
  const { errors } = validate(JSON.parse(Buffer.from(JSON.stringify(cfg), "utf8").toString("latin1")));
  if (errors.length) throw new ConfigError(`the configuration is not valid:\n  ${errors.map(withFlag).join("\n  ")}`);
  const secrets = [token, wifiPassword, provisionSecret].filter((s) => s !== undefined);
  return { config: cfg, caPem, secrets };
}

/**
 * Writes the configuration to the board on `port` (an open Repl or a port string) and restarts the firmware with
 * load() unless `restart` is false. Existing node.ca is removed when no CA is given, so a stale one is not used.
 */
export async function writeConfig(port, { config, caPem }, { restart = true, progress = (_text) => {}, baud = undefined } = {}) {
  const repl = typeof port === "string" ? await Repl.open(port, { baud, name: port }) : port;
  try {
    await repl.prompt();
    if (caPem !== undefined) {
      progress(`writing the CA certificate (${caPem.length} bytes) to Storage ${CA_FILE}`);
      await repl.writeFile(CA_FILE, caPem);
    } else {
      await repl.eval(`require("Storage").erase(${JSON.stringify(CA_FILE)})`);
    }
    const bytes = Buffer.from(JSON.stringify(config), "utf8");
    progress(`writing ${CONFIG_FILE} (${bytes.length} bytes)`);
    await repl.writeFile(CONFIG_FILE, bytes);
    if (restart) {
      progress("restarting the firmware (load())");
      await repl.write("\x10load()\n");
    }
  } finally {
    if (typeof port === "string") await repl.close();
  }
}
