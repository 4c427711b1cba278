#!/usr/bin/env node
// `npm run hil -- (--port P | --sim) [options] [scenario...]`: runs hardware-in-the-loop scenarios against a board or
// the simulator, with the local server, and writes reports/hil-report.json and reports/hil-junit.xml. Exits 1 when a
// scenario fails. See docs/hardware.md.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs, runCommand, UsageError } from "../cli/args.mjs";
import { parsePort, PortError, requirePresent } from "./port.mjs";
import { boardById, FlashError } from "./flash.mjs";
import { readSecret, ConfigError } from "./configure.mjs";
import { startHilServer } from "./server.mjs";
import { BoardTarget, SimTarget, InterpreterTarget, lanAddress } from "./target.mjs";
import { runScenarios } from "./runner.mjs";
import { writeReports } from "./report.mjs";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");
const SCENARIO_DIR = path.join(ROOT, "host", "hil", "scenarios");

const HELP = `usage: npm run hil -- (--port PORT | --sim | --engine linux) [options] [scenario...]

  --port P               the board: serial device (/dev/ttyUSB0) or tcp://HOST:PORT (TelnetServer, simulator console)
  --sim                  a simulated node per scenario (its console on a free port), with the EspruinoTools path
  --engine linux         a real Espruino interpreter per scenario (the ESP32-like Linux build), console on a free
                         port, link through a relay for outages; real time throughout
  --board ID             board file boards/ID.json (default: sim with --sim, esp32 otherwise)
  --baud N               serial speed (default 115200)
  --server-host H        address the local server's CoAP port binds to (default 127.0.0.1; 0.0.0.0 for boards on the LAN)
  --server-port N        its UDP port (default: any free one)
  --server-address A     the address the node is told to use (default 127.0.0.1, or this machine's LAN address
                         when --server-host is 0.0.0.0)
  --wifi SSID            Wi-Fi network for a real board; password with --wifi-password-file F | --wifi-password-env VAR
  --reports DIR          where hil-report.json and hil-junit.xml go (default reports/)
  --no-build             use dist/ as it is instead of building the board's bundle first
  --list                 list the scenarios and exit
  scenario               a name from host/hil/scenarios (default: all) or a path to a scenario .mjs file
`;

const SPEC = {
  "--help": "flag", "--port": "string", "--sim": "flag", "--board": "string", "--baud": "number", "--server-host": "string",
  "--server-port": "number", "--server-address": "string", "--wifi": "string", "--wifi-password-file": "string",
  "--wifi-password-env": "string", "--reports": "string", "--no-build": "flag", "--list": "flag", "--engine": "string",
};

function shippedScenarios() {
  return fs.readdirSync(SCENARIO_DIR).filter((f) => f.endsWith(".mjs")).sort().map((f) => path.join(SCENARIO_DIR, f));
}

async function loadScenarios(names) {
  const files = names.length ? names.map((n) => {
    if (n.endsWith(".mjs")) {
      if (!fs.existsSync(n)) throw new UsageError(`no scenario file ${n}`);
      return path.resolve(n);
    }
    const f = path.join(SCENARIO_DIR, `${n}.mjs`);
    if (!fs.existsSync(f)) throw new UsageError(`no scenario ${JSON.stringify(n)} (scenarios: ${shippedScenarios().map((s) => path.basename(s, ".mjs")).join(", ")})`);
    return f;
  }) : shippedScenarios();
  const list = [];
  for (const f of files) {
    const sc = (await import(pathToFileURL(f).href)).default;
    if (!sc || typeof sc.name !== "string" || !Array.isArray(sc.steps) || !(sc.timeLimitS > 0)) {
      throw new UsageError(`${f} does not export a scenario { name, description, timeLimitS, steps }`);
    }
    list.push(sc);
  }
  return list;
}

let serverUriOf = () => null;

async function main() {
  const o = parseArgs(process.argv.slice(2), SPEC);
  if (o.help) return void process.stdout.write(HELP);
  const scenarios = await loadScenarios(o._);
  if (o.list) {
    for (const s of scenarios) process.stdout.write(`${s.name.padEnd(20)} ${s.simOnly ? "(simulator only) " : ""}${s.description}\n`);
    return;
  }
  if (o.engine !== undefined && o.engine !== "linux") throw new UsageError(`--engine must be linux (the simulator is --sim), not ${o.engine}`);
  const local = o.sim || o.engine === "linux";
  if ((o.sim && o.engine) || local === (o.port !== undefined)) {
    throw new UsageError("give one of --port PORT (a board), --sim (the simulator) or --engine linux (the real interpreter)");
  }
  if (o.port !== undefined) requirePresent(parsePort(o.port));
  const board = boardById(o.board ?? (o.sim ? "sim" : "esp32"));
  const localTarget = (sc) => (o.sim ? new SimTarget({ board, serverUri: serverUriOf(), pace: sc && sc.pace }) : new InterpreterTarget({ board, serverUri: serverUriOf() }));
  const warn = (w) => process.stderr.write(`hil: warning: ${w}\n`);
  const wifiPassword = readSecret("wifi-password", { file: o.wifiPasswordFile, envVar: o.wifiPasswordEnv }, { warn });
  if (wifiPassword !== undefined && o.wifi === undefined) throw new UsageError("a Wi-Fi password needs --wifi SSID");
  const serverHost = o.serverHost ?? "127.0.0.1";
  const serverAddress = o.serverAddress ?? (serverHost === "0.0.0.0" ? lanAddress() : serverHost);
  if (!serverAddress) throw new UsageError("cannot tell which address the board reaches this machine at: give --server-address");
  if (!local && !o.port.startsWith("tcp://127.") && serverAddress.startsWith("127.")) {
    warn(`the board is told to use ${serverAddress}, which is itself: use --server-host 0.0.0.0 (and --wifi) for a board on the LAN`);
  }

  if (!o.noBuild) {
    const { build } = await import("../../scripts/build.mjs");
    await build({ boards: [board.id], quiet: true });
  }
  const tb = await startHilServer({ host: serverHost, port: o.serverPort ?? 0 });
  const serverUri = `coap://${serverAddress}:${tb.port}`;
  serverUriOf = () => serverUri;
  const log = (t) => process.stdout.write(`hil: ${t}\n`);
  log(`local server on udp ${serverHost}:${tb.port} (the node uses ${serverUri}), HTTP API ${tb.server.httpUrl}`);
  const wifi = o.wifi === undefined ? undefined : { ssid: o.wifi, password: wifiPassword };
  const boardTarget = o.port === undefined ? null : new BoardTarget({ port: o.port, board, baud: o.baud, serverUri, wifi });
  const started = new Date().toISOString();
  let results;
  try {
    results = await runScenarios({
      scenarios,
      tb,
      log,
      targetFor: async (sc) => boardTarget ?? localTarget(sc),
    });
  } finally {
    await tb.close();
  }
  const target = boardTarget ?? localTarget();
  const description = boardTarget ? target.describe() : o.sim ? `simulated ${board.id}` : `${board.id} on the real Espruino interpreter`;
  const run = { started, target: { kind: target.kind, board: board.id, description }, server: serverUri, scenarios: results };
  const files = writeReports(path.resolve(o.reports ?? path.join(ROOT, "reports")), run);
  const failed = results.filter((r) => r.status === "failed");
  const skipped = results.filter((r) => r.status === "skipped");
  log(`${results.length - failed.length - skipped.length} passed, ${failed.length} failed, ${skipped.length} skipped; reports ${path.relative(process.cwd(), files.json) || files.json}, ${path.relative(process.cwd(), files.junit) || files.junit}`);
  for (const f of failed) log(`FAILED ${f.name}: ${f.failure.message}`);
  process.exitCode = failed.length ? 1 : 0;
}

runCommand("hil", main, { usageErrors: [PortError, ConfigError, FlashError] });
