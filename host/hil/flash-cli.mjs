#!/usr/bin/env node
// `npm run flash -- --board ID --port P`: builds the board's bundle and saves it to the board's Storage (.bootcde)
// through EspruinoTools. `npm run flash -- --firmware espruino_esp32.bin --port P`: writes the Espruino interpreter
// itself through the chip's ROM bootloader (esptool-js). See docs/hardware.md.
import { parseArgs, runCommand, UsageError } from "../cli/args.mjs";
import { boardById, flashBundle, FlashError } from "./flash.mjs";
import { writeFirmware, FirmwareError } from "./firmware.mjs";
import { parsePort, PortError } from "./port.mjs";
import { boardRebuilder, sizeChange, watchSources } from "../cli/watch.mjs";

const HELP = `usage: npm run flash -- --board ID --port PORT [options]
       npm run flash -- --firmware espruino_esp32.bin --port /dev/ttyUSB0 [--bootloader F --partitions F]

  --port P          serial device (/dev/ttyUSB0) or tcp://HOST:PORT (TelnetServer, simulator console)
  --board ID        board file boards/ID.json (default esp32)
  --baud N          console speed (default 115200)
  --bundle FILE     upload FILE instead of dist/ID/firmware.js
  --no-build        do not build the bundle first
  --erase           erase all of Storage first (configuration, queued readings, OTA slots)
  --throttle        EspruinoTools' slow 19-byte writes, for a serial link that loses data
  --watch           after flashing, rebuild on every change under src/ or boards/ and flash again (Ctrl-C stops)

  --firmware FILE   the Espruino interpreter image, written at 0x10000 (serial ports only)
  --bootloader F    also the second-stage bootloader (0x1000 on ESP32, 0x0 on ESP32-C3/S3)
  --partitions F    also the partition table (0x8000)
  --erase-all       erase the whole flash first (a fresh board)
  --flash-baud N    speed while writing (default 460800; the ROM starts at 115200)
`;

const SPEC = {
  "--help": "flag", "--port": "string", "--board": "string", "--baud": "number", "--bundle": "string", "--no-build": "flag",
  "--erase": "flag", "--throttle": "flag", "--firmware": "string", "--bootloader": "string", "--partitions": "string",
  "--erase-all": "flag", "--flash-baud": "number", "--watch": "flag",
};

const say = (t) => process.stdout.write(`flash: ${t}\n`);

async function main() {
  const o = parseArgs(process.argv.slice(2), SPEC);
  if (o.help) return void process.stdout.write(HELP);
  if (o._.length) throw new UsageError(`unexpected argument ${o._[0]}`);
  const board = boardById(o.board ?? "esp32");
  parsePort(o.port);
  if (o.watch && (o.bundle !== undefined || o.noBuild || o.firmware !== undefined)) {
    throw new UsageError("--watch rebuilds and flashes the bundle: it cannot go with --bundle, --no-build or --firmware");
  }
  if (o.firmware !== undefined || o.bootloader !== undefined || o.partitions !== undefined) {
    const r = await writeFirmware({ port: o.port, board, firmware: o.firmware, bootloader: o.bootloader, partitions: o.partitions,
      baud: o.flashBaud, eraseAll: o.eraseAll, progress: say });
    say(`${r.chip}: wrote ${r.images.map((i) => `${i.file} (${i.bytes} bytes) at 0x${i.address.toString(16)}`).join(", ")}; reset`);
    say(`next: npm run flash -- --board ${board.id} --port ${o.port}`);
    return;
  }
  // With --watch the first build is the watch loop's, which keeps rollup's cache for the reloads.
  const rebuilder = o.watch ? boardRebuilder(board.id) : null;
  if (!o.noBuild && o.bundle === undefined) {
    say(`building dist/${board.id}/firmware.js`);
    if (rebuilder) await rebuilder.first;
    else await (await import("../../scripts/build.mjs")).build({ boards: [board.id], quiet: true });
  }
  const flash = (progress) => flashBundle({ port: o.port, board: board.id, bundle: o.bundle, erase: o.erase, baud: o.baud, throttle: o.throttle, progress });
  const r = await flash(say);
  say(`done: ${r.bytes} bytes in Storage .bootcde (CRC-32 ${r.crc.toString(16)}), running; configure it with npm run configure`);
  if (!rebuilder) return;
  let size = r.bytes;
  o.erase = false; // a reload keeps the configuration and queued readings
  watchSources(async () => {
    const t0 = Date.now();
    try {
      await rebuilder.next();
      say(`rebuilt dist/${board.id}/firmware.js in ${((Date.now() - t0) / 1000).toFixed(1)} s; flashing it`);
      const again = await flash(() => {});
      say(`reloaded dist/${board.id}/firmware.js (${sizeChange(size, again.bytes)}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      size = again.bytes;
    } catch (e) {
      say(`reload failed, the board keeps the firmware it runs: ${e.message}`);
    }
  });
  // Said once the watchers are armed: a change made after this line is seen.
  say("watching src/ and boards/; a change rebuilds and flashes again (Ctrl-C stops)");
  await new Promise(() => {}); // until Ctrl-C
}

runCommand("flash", main, { usageErrors: [PortError, FlashError, FirmwareError] });
