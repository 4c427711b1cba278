// Writes a user-supplied Espruino interpreter image to an ESP32 through its ROM bootloader, with esptool-js (npm,
// Espressif's own) over the Web Serial adapter in web-serial.mjs. Images are checked before the port is touched.
import fs from "node:fs";
import { parsePort, PortError } from "./port.mjs";
import { WebSerialPort } from "./web-serial.mjs";

export class FirmwareError extends Error {}

/** The chip esptool reports for each Espruino board, and where its second-stage bootloader goes. */
const CHIPS = {
  ESP32: { chip: "ESP32", bootloader: 0x1000 },
  ESP32C3_IDF4: { chip: "ESP32-C3", bootloader: 0x0 },
  ESP32S3_IDF4: { chip: "ESP32-S3", bootloader: 0x0 },
};
const PARTITIONS = 0x8000;
/** Espruino's factory app partition (targets/esp32 partitions_espruino.csv). */
const APP = 0x10000;
const APP_MAX = 1536 * 1024;

function readImage(flag, file, check) {
  let data;
  try {
    data = fs.readFileSync(file);
  } catch (e) {
    throw new FirmwareError(`cannot read ${flag} ${file}: ${e.code === "ENOENT" ? "no such file" : e.message}`);
  }
  const problem = check(data);
  if (problem) throw new FirmwareError(`${flag} ${file}: ${problem}`);
  return new Uint8Array(data);
}

const espImage = (max) => (d) =>
  d.length < 24 ? "too short for an ESP image" : d[0] !== 0xe9 ? `not an ESP firmware image (first byte 0x${d[0].toString(16)}, expected 0xe9)` : d.length > max ? `${d.length} bytes is more than the ${max} bytes of its partition` : null;

/**
 * The images to write, checked: [{ flag, file, address, data }].
 * @param {object} o { firmware, bootloader?, partitions?, board } (board: a loaded board file)
 */
export function firmwareImages({ firmware, bootloader, partitions, board }) {
  const chip = CHIPS[board.espruinoBoard];
  if (!chip) throw new FirmwareError(`no ROM flashing layout for ${board.espruinoBoard}`);
  if (!firmware) throw new FirmwareError("--firmware needs the Espruino image file (espruino_esp32.bin from an Espruino ESP32 release)");
  const images = [];
  if (bootloader) images.push({ flag: "--bootloader", file: bootloader, address: chip.bootloader, data: readImage("--bootloader", bootloader, espImage(0x7000)) });
  if (partitions) {
    images.push({ flag: "--partitions", file: partitions, address: PARTITIONS, data: readImage("--partitions", partitions,
      (d) => (d.length < 32 || d[0] !== 0xaa || d[1] !== 0x50 ? "not a binary partition table (expected it to start with aa 50)" : d.length > 0xc00 ? "too large for a partition table" : null)) });
  }
  images.push({ flag: "--firmware", file: firmware, address: APP, data: readImage("--firmware", firmware, espImage(APP_MAX)) });
  return { chip: chip.chip, images };
}

/**
 * Writes the images to the chip on serial `port` and resets it.
 * @param {object} o
 * @param {string} o.port serial device
 * @param {object} o.board loaded board file
 * @param {number} [o.baud] flashing speed after the stub is loaded (the ROM talks at 115200)
 * @param {string} [o.firmware] Espruino's firmware image (the board's default otherwise)
 * @param {string} [o.bootloader] the bootloader image
 * @param {string} [o.partitions] the partition table image
 * @param {boolean} [o.eraseAll]
 * @param {(text: string) => void} [o.progress]
 * @param {object} [o.serial] WebSerialPort options (tests inject a mock binding)
 */
export async function writeFirmware({ port, board, firmware, bootloader, partitions, baud = 460800, eraseAll = false, progress = () => {}, serial = {} }) {
  const p = parsePort(port);
  if (p.kind !== "serial") {
    throw new PortError(`--firmware needs a serial port: ${port} reaches Espruino's console, not the chip's ROM bootloader`);
  }
  const { chip, images } = firmwareImages({ firmware, bootloader, partitions, board });
  if (!serial.openStream && !fs.existsSync(p.path)) throw new PortError(`serial port ${p.path} does not exist (is the board plugged in?)`);
  const { ESPLoader, Transport } = await import("esptool-js");
  const device = new WebSerialPort(p.path, serial);
  await device.identify();
  const transport = new Transport(device, false);
  // esptool-js prints some trace lines ("readLoop exited") with console.log even with tracing off.
  transport.trace = () => {};
  let line = "";
  const terminal = {
    clean() {},
    write(t) {
      line += t;
    },
    writeLine(t) {
      progress((line + t).trim());
      line = "";
    },
  };
  const loader = new ESPLoader({ transport, baudrate: baud, romBaudrate: 115200, terminal, debugLogging: false });
  try {
    let found;
    try {
      found = await loader.main();
    } catch (e) {
      if (device.openError) throw new PortError(`cannot open serial port ${p.path}: ${device.openError.message}`);
      throw new FirmwareError(`no ESP bootloader answered on ${p.path} (${e.message}): hold the BOOT button while pressing EN/RESET, or check the cable`);
    }
    if (loader.chip.CHIP_NAME !== chip) {
      throw new FirmwareError(`the chip on ${p.path} is ${found}, but boards/${board.id}.json is for ${chip}`);
    }
    let shown = -1;
    await loader.writeFlash({
      fileArray: images.map((i) => ({ data: i.data, address: i.address })),
      flashMode: "keep", flashFreq: "keep", flashSize: "keep", eraseAll, compress: true,
      reportProgress: (index, written, total) => {
        const pct = Math.floor((100 * written) / total);
        if (pct >= shown + 10 || written === total) {
          shown = pct;
          progress(`${images[index].flag} at 0x${images[index].address.toString(16)}: ${pct}%`);
        }
      },
    });
    await loader.after("hard_reset");
    return { chip: found, images: images.map(({ file, address, data }) => ({ file, address, bytes: data.length })) };
  } finally {
    await transport.disconnect().catch(() => {});
  }
}
