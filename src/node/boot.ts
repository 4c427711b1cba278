// Which firmware runs at boot. The flashed bundle (.bootcde) is the factory firmware; an OTA update is written to
// one of two slot files and becomes active through one atomic write of BOOT_FILE. A new firmware is on trial: every
// boot counts, and if it has not confirmed itself (bootConfirm, after it reached the server) within maxTrials
// boots, the previous firmware is restored. A power cut at any point leaves either the old or the new state, both
// bootable.

export const BOOT_FILE = "boot.json";
const SLOTS = ["fwa.js", "fwb.js"];

export interface BootState {
  /** Slot file to run, or null for the factory firmware in .bootcde. */
  active: string | null;
  /** What to fall back to if the active firmware fails its trial. */
  previous: string | null;
  title: string;
  version: string;
  /** The active firmware has not yet confirmed a good boot. */
  pending: boolean;
  trials: number;
  /** Set when a firmware was rolled back, until the node has reported it. */
  failed?: string;
}

export function readBootState(storage: StorageModule): BootState {
  const s = storage.readJSON(BOOT_FILE, true);
  if (s && typeof s === "object" && (s.active === null || SLOTS.indexOf(s.active) >= 0)) return s;
  return { active: null, previous: null, title: "", version: "", pending: false, trials: 0 };
}

/** The slot an update downloads into: never the one running. */
export function downloadSlot(storage: StorageModule): string {
  return readBootState(storage).active === SLOTS[0] ? SLOTS[1] : SLOTS[0];
}

function rollBack(storage: StorageModule, s: BootState, why: string): BootState {
  const back: BootState = { active: s.previous, previous: null, title: "", version: "", pending: false, trials: 0,
    failed: (s.title ? s.title + " " : "") + s.version + ": " + why };
  storage.writeJSON(BOOT_FILE, back);
  return back;
}

/**
 * Called first thing at boot by the factory firmware. Returns the slot file to run instead of itself, or null.
 * Counts a trial boot of a pending firmware and rolls back when the trials are used up.
 */
export function selectFirmware(storage: StorageModule, maxTrials: number): string | null {
  let s = readBootState(storage);
  if (s.active === null) return null;
  if (storage.read(s.active, 0, 1) === undefined) s = rollBack(storage, s, "firmware file missing");
  else if (s.pending) {
    if (s.trials >= maxTrials) s = rollBack(storage, s, "did not reach the server within " + maxTrials + " boots");
    else {
      s.trials++;
      storage.writeJSON(BOOT_FILE, s);
    }
  }
  return s.active;
}

/** The slot's code threw while starting: restore the previous firmware. */
export function bootFailed(storage: StorageModule, why: string): void {
  rollBack(storage, readBootState(storage), why);
}

/** Makes a verified download in `slot` the firmware of the next boot, on trial. */
export function installFirmware(storage: StorageModule, slot: string, title: string, version: string): void {
  const s = readBootState(storage);
  storage.writeJSON(BOOT_FILE, { active: slot, previous: s.active, title: title, version: version, pending: true,
    trials: 0 });
}

/** The running firmware reached the server: it is good. Returns true if it was on trial (report UPDATED). */
export function bootConfirm(storage: StorageModule): boolean {
  const s = readBootState(storage);
  if (!s.pending) return false;
  s.pending = false;
  s.trials = 0;
  storage.writeJSON(BOOT_FILE, s);
  return true;
}

/** The rollback was reported to the server. */
export function clearBootFailure(storage: StorageModule): void {
  const s = readBootState(storage);
  if (s.failed === undefined) return;
  delete s.failed;
  storage.writeJSON(BOOT_FILE, s);
}
