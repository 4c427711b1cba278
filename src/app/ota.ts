// Firmware over the air, as ThingsBoard runs it: fw_* shared attributes announce a package; the node downloads it
// in chunks of at most 1024 bytes from /fw/{token} into the boot slot it is not running from, verifies the
// checksum, makes it the firmware of the next boot (on trial, see src/node/boot.ts) and reboots. Each step is
// reported as fw_state. A reboot during the download simply starts it again: the slot is not active until the
// single write that installs it.
import { FW_TITLE, FW_VERSION } from "board";
import { ThingsBoardClient } from "../tb/client";
import { downloadSlot, installFirmware } from "../node/boot";
import { verifyChecksum } from "../node/checksum";

const CHUNK = 1024;

export interface FirmwareAnnouncement {
  fw_title: string;
  fw_version: string;
  fw_size: number;
  fw_checksum?: string;
  fw_checksum_algorithm?: string;
}

export interface OtaHost {
  storage: StorageModule;
  crypto: CryptoModule;
  log(text: string): void;
  /** Sends fw_state telemetry (with the current firmware's identity); `done` after the server has it or failed. */
  report(values: { [key: string]: any }, done: () => void): void;
  /** Restarts into the installed firmware. */
  reboot(): void;
  /** The update failed and the node goes on with the running firmware. */
  failed(): void;
}

/** Is this announcement a firmware other than the one running? */
export function isNewFirmware(a: any): boolean {
  return !!a && typeof a.fw_title === "string" && typeof a.fw_version === "string" &&
    (a.fw_title !== FW_TITLE || a.fw_version !== FW_VERSION);
}

export class FirmwareUpdater {
  busy = false;

  constructor(private tb: ThingsBoardClient, private host: OtaHost) {}

  start(a: FirmwareAnnouncement): void {
    if (this.busy || !isNewFirmware(a)) return;
    const h = this.host;
    const size = +a.fw_size;
    if (!(size > 0)) return this.fail("fw_size " + a.fw_size + " is not a size in bytes");
    if (size > h.storage.getFree()) return this.fail("no room in flash: " + size + " bytes needed, " + h.storage.getFree() + " free");
    this.busy = true;
    const slot = downloadSlot(h.storage);
    const chunks = Math.ceil(size / CHUNK);
    h.log("firmware " + a.fw_title + " " + a.fw_version + " (" + size + " bytes) announced; downloading");
    let n = 0;
    const next = () => {
      if (n === chunks) return this.downloaded(a, slot, size);
      this.tb.firmwareChunk(a.fw_title, a.fw_version, CHUNK, n, (err, bytes) => {
        if (err) return this.fail("download of chunk " + n + " failed: " + err.message);
        const expected = n === chunks - 1 ? size - n * CHUNK : CHUNK;
        if (bytes!.length !== expected) return this.fail("chunk " + n + " has " + bytes!.length + " bytes, expected " + expected);
        // The first write creates the slot file at its full size; the others fill it in place.
        h.storage.write(slot, E.toString(bytes!), n * CHUNK, size);
        n++;
        if (n % 8 === 0 || n === chunks) h.log("firmware download " + Math.round((100 * n) / chunks) + "%");
        next();
      });
    };
    // The download starts once DOWNLOADING is stored, so the server's record keeps the states in their order.
    h.report({ fw_state: "DOWNLOADING" }, next);
  }

  private downloaded(a: FirmwareAnnouncement, slot: string, size: number): void {
    const h = this.host;
    h.report({ fw_state: "DOWNLOADED" }, () => {
      const data = h.storage.read(slot);
      const problem = data === undefined || data.length !== size ? "the download did not reach flash intact"
        : !a.fw_checksum ? "no fw_checksum was announced, and an unverified firmware is never installed"
        : verifyChecksum(h.crypto, data, a.fw_checksum_algorithm || "SHA256", a.fw_checksum);
      if (problem) {
        h.storage.erase(slot);
        return this.fail(problem);
      }
      h.report({ fw_state: "VERIFIED" }, () => {
        installFirmware(h.storage, slot, a.fw_title, a.fw_version);
        h.report({ fw_state: "UPDATING" }, () => {
          h.log("firmware " + a.fw_version + " installed; rebooting into it");
          h.reboot();
        });
      });
    });
  }

  private fail(why: string): void {
    this.busy = false;
    this.host.log("firmware update failed: " + why);
    this.host.report({ fw_state: "FAILED", fw_error: why }, () => this.host.failed());
  }
}
