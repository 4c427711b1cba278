#!/usr/bin/env node
// `npm run configure -- --port P --server URI [options]`: validates node.cfg with the firmware's own validator, then
// writes it (and the CA certificate) to the board's Storage. See docs/hardware.md.
import { parseArgs, runCommand, UsageError } from "../cli/args.mjs";
import { buildConfig, maskConfig, writeConfig, ConfigError } from "./configure.mjs";
import { boardById, FlashError } from "./flash.mjs";
import { parsePort, PortError } from "./port.mjs";

const HELP = `usage: npm run configure -- --port PORT --server URI [options]

  --port P                    serial device (/dev/ttyUSB0) or tcp://HOST:PORT (simulator console, TelnetServer)
  --baud N                    serial speed (default 115200)
  --server URI                coap://host[:port] or coaps://host[:port]
  --board ID|FILE             the board's file (boards/ID.json, default esp32), to check it has what the server needs
  --token-file F | --token-env VAR | --token T
                              the device's access token (--token lands in shell history)
  --provision-key K, --provision-secret-file F | --provision-secret-env VAR, --device-name N
                              provision the device on first contact instead of a token
  --ca FILE                   CA certificate (PEM) of the coaps server, stored as node.ca
  --insecure                  coaps without verifying the server (unsafe)
  --wifi SSID                 Wi-Fi network; password with --wifi-password-file F | --wifi-password-env VAR
  --interval S                seconds between readings (5-86400, default 60)
  --sleep                     deep-sleep between readings
  --queue-max N, --ota-max-trials N, --no-client-ts
  --no-restart                write only; do not load() the firmware afterwards
  --dry-run                   validate and show the configuration (secrets masked); touch no board
`;

const SPEC = {
  "--help": "flag", "--port": "string", "--board": "string", "--baud": "number", "--server": "string", "--token": "string",
  "--token-file": "string", "--token-env": "string", "--provision-key": "string", "--provision-secret": "string",
  "--provision-secret-file": "string", "--provision-secret-env": "string", "--device-name": "string", "--ca": "string",
  "--insecure": "flag", "--wifi": "string", "--wifi-password": "string", "--wifi-password-file": "string",
  "--wifi-password-env": "string", "--interval": "number", "--sleep": "flag", "--queue-max": "number",
  "--ota-max-trials": "number", "--no-client-ts": "flag", "--no-restart": "flag", "--dry-run": "flag",
};

async function main() {
  const o = parseArgs(process.argv.slice(2), SPEC);
  if (o.help) return void process.stdout.write(HELP);
  if (o._.length) throw new UsageError(`unexpected argument ${o._[0]}`);
  if (!o.dryRun) parsePort(o.port);
  const warn = (w) => process.stderr.write(`configure: warning: ${w}\n`);
  const board = boardById(o.board ?? "esp32");
  if (/^coaps:/i.test(o.server || "") && !board.modules.includes("DTLS")) {
    warn(`the server is coaps:// but the board file of ${board.id} does not list the DTLS module, so the node will ` +
      `report "this board has no DTLS module": add "DTLS" to its "modules" and flash an Espruino build with DTLS, or use coap://`);
  }
  const built = buildConfig({ ...o, clientTs: o.noClientTs ? false : undefined }, { warn });
  process.stdout.write(`configure: node.cfg ${JSON.stringify(maskConfig(built.config))}\n`);
  if (o.dryRun) return;
  await writeConfig(o.port, built, { restart: !o.noRestart, baud: o.baud, progress: (t) => process.stdout.write(`configure: ${t}\n`) });
  process.stdout.write(`configure: done${o.noRestart ? "" : "; the firmware restarted with it"}\n`);
}

runCommand("configure", main, { usageErrors: [ConfigError, PortError, FlashError] });
