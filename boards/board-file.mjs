// Loads and validates board files (boards/<id>.json). Every problem is reported with the file and the field, in
// words, because a wrong pin or module list would otherwise surface only on the device.
import fs from "node:fs";
import path from "node:path";

/** The project's board files: this folder. */
export const BOARDS_DIR = path.dirname(new URL(import.meta.url).pathname);

const ESPRUINO_BOARDS = ["ESP32", "ESP32C3_IDF4", "ESP32S3_IDF4", "ESP32_IDF4", "LINUX"];
const KNOWN_MODULES = ["dgram", "Storage", "Wifi", "ESP32", "DTLS", "crypto", "heatshrink", "Flash", "net",
  "timer", "http", "tls", "TelnetServer", "neopixel", "NetworkJS"];
const PIN = /^D([0-9]|[1-3][0-9]|4[0-8])$/;
const JSVAR_SETTINGS = [4095, 8191, 16383, 65535];

export class BoardError extends Error {}

function fail(file, field, message) {
  throw new BoardError(`${file}: ${field ? `"${field}" ` : ""}${message}`);
}

function need(cond, file, field, message) {
  if (!cond) fail(file, field, message);
}

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Validates one parsed board file and returns the normalised board. */
export function validateBoard(raw, file) {
  need(isObject(raw), file, "", "must be a JSON object");
  const allowed = ["id", "name", "espruinoBoard", "modules", "pins", "sensors", "jsVarBudget", "udpRecvBufferSize",
    "comment"];
  for (const k of Object.keys(raw)) need(allowed.includes(k), file, k, `is not a board field (expected one of ${allowed.join(", ")})`);
  need(typeof raw.id === "string" && /^[a-z0-9_-]{1,20}$/.test(raw.id), file, "id",
    "must be 1-20 characters of a-z, 0-9, _ or -");
  const expectedId = path.basename(file, ".json");
  need(raw.id === expectedId, file, "id", `is "${raw.id}" but the file is named ${expectedId}.json`);
  need(typeof raw.name === "string" && raw.name.length > 0, file, "name", "must be a non-empty string");
  need(ESPRUINO_BOARDS.includes(raw.espruinoBoard), file, "espruinoBoard",
    `must be one of ${ESPRUINO_BOARDS.join(", ")} (got ${JSON.stringify(raw.espruinoBoard)})`);
  need(Array.isArray(raw.modules) && raw.modules.every((m) => typeof m === "string"), file, "modules",
    "must be a list of module names");
  for (const m of raw.modules) need(KNOWN_MODULES.includes(m), file, "modules", `names an unknown module "${m}"`);
  for (const m of ["dgram", "Storage"]) need(raw.modules.includes(m), file, "modules", `must include "${m}": the firmware cannot run without it`);
  need(isObject(raw.pins), file, "pins", "must be an object");
  const led = raw.pins.statusLed;
  need(led === null || (typeof led === "string" && PIN.test(led)), file, "pins.statusLed",
    `must be a pin name such as "D2", or null (got ${JSON.stringify(led)})`);
  need(typeof raw.pins.statusLedActiveLow === "boolean", file, "pins.statusLedActiveLow", "must be true or false");
  need(Array.isArray(raw.sensors), file, "sensors", "must be a list (empty when no sensor is fitted)");
  const keys = new Set();
  const usedPins = new Set(led ? [led] : []);
  const i2cPins = new Set(); // I2C sensors share their bus
  raw.sensors.forEach((s, i) => {
    const f = `sensors[${i}]`;
    need(isObject(s), file, f, "must be an object");
    need(typeof s.key === "string" && /^[A-Za-z][A-Za-z0-9_]{0,31}$/.test(s.key), file, `${f}.key`,
      "must be a telemetry key of letters, digits and _ starting with a letter");
    need(!keys.has(s.key), file, `${f}.key`, `"${s.key}" is used by two sensors`);
    keys.add(s.key);
    need(["analog", "digital", "i2c", "internal"].includes(s.kind), file, `${f}.kind`, 'must be "analog", "digital", "i2c" or "internal"');
    if (s.kind === "i2c") {
      need(Number.isInteger(s.address) && s.address >= 1 && s.address <= 127, file, `${f}.address`, "must be the device's 7-bit I2C address (1 to 127)");
      need(Number.isInteger(s.register) && s.register >= 0 && s.register <= 255, file, `${f}.register`, "must be the register to read (0 to 255)");
      need(s.bytes === 1 || s.bytes === 2, file, `${f}.bytes`, "must be 1 or 2 (bytes read, most significant first)");
      need(s.shift === undefined || (Number.isInteger(s.shift) && s.shift >= 0 && s.shift < s.bytes * 8), file, `${f}.shift`,
        "must be the bits to drop on the right (0 to 8 x bytes - 1) or left out");
      need(s.signed === undefined || typeof s.signed === "boolean", file, `${f}.signed`, "must be true (two's complement) or false");
      for (const n of ["sda", "scl"]) {
        need(typeof s[n] === "string" && PIN.test(s[n]), file, `${f}.${n}`, `must be a pin name such as "D21" (got ${JSON.stringify(s[n])})`);
        need(!usedPins.has(s[n]) || i2cPins.has(s[n]), file, `${f}.${n}`, `${s[n]} is already used on this board`);
        usedPins.add(s[n]);
        i2cPins.add(s[n]);
      }
      need(s.sda !== s.scl, file, `${f}.scl`, "must differ from sda");
    }
    if (s.kind === "digital") {
      need(s.pull === undefined || s.pull === "up" || s.pull === "down", file, `${f}.pull`, 'must be "up", "down" or left out');
    } else {
      need(s.pull === undefined, file, `${f}.pull`, "is only for digital inputs");
    }
    if (s.kind === "analog" || s.kind === "digital") {
      need(typeof s.pin === "string" && PIN.test(s.pin), file, `${f}.pin`, `must be a pin name such as "D34" (got ${JSON.stringify(s.pin)})`);
      need(!usedPins.has(s.pin), file, `${f}.pin`, `${s.pin} is already used on this board`);
      usedPins.add(s.pin);
    }
    for (const n of ["scale", "offset"]) need(typeof s[n] === "number" && isFinite(s[n]), file, `${f}.${n}`, "must be a number");
    need(Number.isInteger(s.decimals) && s.decimals >= 0 && s.decimals <= 6, file, `${f}.decimals`, "must be an integer from 0 to 6");
    need(typeof s.unit === "string", file, `${f}.unit`, "must be a string");
    if (s.sim !== undefined) {
      need(isObject(s.sim), file, `${f}.sim`, "must be an object");
      for (const n of ["base", "amplitude", "periodS", "noise"]) need(typeof s.sim[n] === "number", file, `${f}.sim.${n}`, "must be a number");
    }
  });
  need(JSVAR_SETTINGS.includes(raw.jsVarBudget), file, "jsVarBudget",
    `must be one of Espruino's variable settings ${JSVAR_SETTINGS.join(", ")} (got ${JSON.stringify(raw.jsVarBudget)})`);
  need(Number.isInteger(raw.udpRecvBufferSize) && raw.udpRecvBufferSize >= 600 && raw.udpRecvBufferSize <= 4096, file,
    "udpRecvBufferSize", "must be an integer from 600 to 4096 bytes (a 1024-byte CoAP payload plus headers needs about 1152)");
  return {
    id: raw.id,
    name: raw.name,
    espruinoBoard: raw.espruinoBoard,
    modules: raw.modules.slice(),
    statusLed: led,
    statusLedActiveLow: raw.pins.statusLedActiveLow,
    sensors: raw.sensors.map((s) => ({ key: s.key, kind: s.kind, pin: s.kind === "analog" || s.kind === "digital" ? s.pin : null,
      scale: s.scale, offset: s.offset, decimals: s.decimals, unit: s.unit,
      ...(s.kind === "digital" ? { pull: s.pull || null } : {}),
      ...(s.kind === "i2c" ? { i2c: { sda: s.sda, scl: s.scl, address: s.address, register: s.register, bytes: s.bytes, shift: s.shift || 0, signed: !!s.signed } } : {}),
      sim: s.sim })),
    jsVarBudget: raw.jsVarBudget,
    udpRecvBufferSize: raw.udpRecvBufferSize,
  };
}

export function loadBoard(file) {
  let text;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new BoardError(`${file}: cannot be read (${e.code || e.message})`);
  }
  let raw;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new BoardError(`${file}: is not valid JSON (${e.message})`);
  }
  return validateBoard(raw, file);
}

/** All boards, sorted by id. */
export function loadBoards(dir = BOARDS_DIR) {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
  if (files.length === 0) throw new BoardError(`${dir}: no board files (*.json) found`);
  return files.map((f) => loadBoard(path.join(dir, f)));
}

/** The board JSON EspruinoTools reads with `--board file.json`, so the CLI never downloads one. */
export function espruinoToolsBoardJson(board) {
  return {
    info: { id: board.espruinoBoard, name: board.name, binary_version: "2v29", builtin_modules: board.modules },
  };
}
