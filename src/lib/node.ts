// The sensor node's building blocks as a library bundle (dist/lib/node.cjs) for the host tools and tests.
export { CONFIG_FILE, validateConfig, loadConfig } from "../node/config";
export { TelemetryQueue } from "../node/queue";
export { readingJson, packReadings } from "../node/telemetry";
export { crc32Hex, verifyChecksum } from "../node/checksum";
export { BOOT_FILE, readBootState, downloadSlot, selectFirmware, bootFailed, installFirmware, bootConfirm,
  clearBootFailure } from "../node/boot";
