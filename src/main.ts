// Firmware entry. The flashed bundle first decides whether an installed update should run instead of itself
// (src/node/boot.ts); the update, evaluated from its Storage slot, finds FW_SLOT set and goes straight on.
import { selectFirmware, bootFailed } from "./node/boot";
import { SensorNode } from "./app/node";
import { readSensors, setStatusLed } from "./app/hardware";
import { setup } from "./app/user";
import { BOARD_ID, BOARD_NAME } from "board";

declare var FW_SLOT: string | undefined;

function main(): void {
  const storage = require("Storage");
  if (typeof FW_SLOT === "undefined") {
    const cfg = storage.readJSON("node.cfg", true);
    const slot = selectFirmware(storage, (cfg && cfg.otaMaxTrials) || 3);
    if (slot) {
      (globalThis as any).FW_SLOT = slot;
      try {
        // Indirect eval: the update runs in the global scope, and the minifier keeps this bundle's names short.
        (0, eval)(storage.read(slot)!);
      } catch (e) {
        console.log("node: firmware in " + slot + " failed to start (" + e + "); restoring the previous one");
        bootFailed(storage, "failed to start: " + e);
        E.reboot();
      }
      return;
    }
  }
  // The boot banner (and a blink) shows the board and its sensors work before any configuration or network.
  setStatusLed(true);
  console.log("node: " + BOARD_NAME + " (" + BOARD_ID + ") up, readings " + JSON.stringify(readSensors()));
  setStatusLed(false);
  // Reachable from the console (and from code added on the board) as `node`: node.onRpc(...), node.tb.claim(...).
  const node = ((globalThis as any).node = new SensorNode());
  setup(node);
  node.start();
}

main();
