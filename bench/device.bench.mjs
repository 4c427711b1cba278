// Memory on the real interpreter (Espruino's Linux build with the ESP32's 16,383 fixed variables, host/interpreter):
// the bundle as built for the DevKitC, saved in Storage as flashing saves it, reporting to the local server.
//   device.jsvars_after_boot  variables in use (process.memory().usage, after its garbage collection) 10 s after boot
//   device.jsvars_peak        the most in use over BENCH_DEVICE_WINDOW_S seconds (default 300, five minutes: the
//                             observations' silence timeout) with both observations, RPCs every 10 s and a
//                             shared-attribute change: process.memory().usage on the console between RPCs and
//                             getStatus's memFree while an RPC is handled
// Goals (issue: the node on the real interpreter): at most 1,500 after boot and 2,000 at peak.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { InterpreterNode, hardwareFor, ROOT } from "../host/interpreter/interpreter.mjs";
import { startHilServer } from "../host/hil/server.mjs";
import { loadBoard } from "../boards/board-file.mjs";

const TOTAL = 16383;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function usage(node) {
  for (let i = 0; i < 3; i++) {
    try {
      return await node.evaluate("process.memory().usage", 3000);
    } catch (e) {
      await sleep(500);
    }
  }
  return null;
}

export async function run() {
  const windowS = +(process.env.BENCH_DEVICE_WINDOW_S || 300);
  const tb = await startHilServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-device-"));
  const node = new InterpreterNode({ dir, hardware: hardwareFor(loadBoard(path.join(ROOT, "boards/esp32.json"))) });
  try {
    const id = await tb.createDevice("bench-device", "bench-device-token");
    node.writeStorage({
      ".bootcde": fs.readFileSync(path.join(ROOT, "dist/esp32/firmware.js")),
      "node.cfg": JSON.stringify({ server: `coap://127.0.0.1:${tb.port}`, token: "bench-device-token", wifi: { ssid: "sim" }, intervalS: 60 }),
    });
    node.start();
    await sleep(10000);
    const afterBoot = await usage(node);
    if (afterBoot === null) throw new Error("the interpreter did not answer on its console 10 s after boot");
    let peak = afterBoot;
    const end = Date.now() + windowS * 1000;
    let n = 0;
    while (Date.now() < end) {
      n++;
      if (n === 2) await tb.setShared(id, { intervalS: 45 });
      const status = await tb.rpc(id, n % 2 ? "getStatus" : "getReading", {}, 8000).catch(() => null);
      if (status && typeof status.memFree === "number") peak = Math.max(peak, TOTAL - status.memFree);
      await sleep(5000);
      const u = await usage(node);
      if (u !== null) peak = Math.max(peak, u);
      await sleep(Math.max(0, Math.min(5000, end - Date.now())));
    }
    console.log(`device: ${afterBoot} variables in use 10 s after boot, at most ${peak} over ${windowS} s (goals 1500 and 2000)`);
    return { "device.jsvars_after_boot": afterBoot, "device.jsvars_peak": peak };
  } finally {
    await node.stop();
    await tb.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
