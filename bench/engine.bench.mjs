// Espruino as WebAssembly (host/engine/wasm.mjs), against its peers in the same run:
// - engine.wasm_bytes: the WebAssembly module (build/espruino/wasm/espruino.wasm);
// - engine.start_ms: median time to start one engine (instance, context, jsInit, first idle) with the module
//   compiled once per process; engine.start_vs_native_process: that over starting the native ESP32-like
//   interpreter as a process running an empty script;
// - engine.rss_bytes_per_engine: resident memory one more engine costs the process (50 started, averaged): what
//   decides how many simulated nodes one process holds;
// - engine.hour_speedup_vs_real_clock: simulated seconds per wall second for an hour of a one-minute interval timer
//   on the virtual clock (the real clock: 1);
// - engine.node_speedup_vs_real_clock: simulated seconds per wall second for six hours of the firmware bundle as
//   built (dist/esp32/firmware.js, readings every 60 s) on an EngineNode against the local server over real UDP,
//   every exchange waited for in real time (the real clock: 1; the goal for a simulated day: 10,000);
// - engine.coap_jsvars_vs_native_esp32 / engine.coap_bytes_vs_native_esp32: variables and bytes (variables times
//   process.memory().blocksize) that loading the firmware's CoAP library (dist/lib/coap.cjs) takes on the engine,
//   over the same on the native ESP32-like build. Counts differ where strings fill variables: 14-byte variables
//   (the ESP32's, and the engine's) hold fewer characters than the native build's 18-byte ones;
// - engine.coap_jsvars_vs_native_i386, engine.boot_jsvars_vs_native_i386: the same library load, and the
//   firmware bundle's boot (dist/esp32/firmware.js with no configuration, a second after it started), against the
//   ESP32-like build for 32-bit x86, whose 14-byte variables are the ESP32's: like for like (goal within 5 %).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { startEngine, virtualClock, ENGINE_DIR } from "../host/engine/wasm.mjs";
import { InterpreterNode, runScript } from "../host/interpreter/interpreter.mjs";
import { EngineNode } from "../host/engine/node.mjs";
import { startHilServer } from "../host/hil/server.mjs";
import { loadBoard } from "../boards/board-file.mjs";

/** Simulated seconds per wall second for `hours` of the bundle on an EngineNode against the local server. */
async function nodeSpeedup(dir, hours) {
  const tb = await startHilServer({});
  const node = new EngineNode({ board: loadBoard(new URL("../boards/esp32.json", import.meta.url).pathname), dir });
  try {
    await tb.createDevice("bench-engine", "benchengine1");
    await node.writeStorage({
      ".bootcde": fs.readFileSync(new URL("../dist/esp32/firmware.js", import.meta.url)),
      "node.cfg": JSON.stringify({ server: `coap://127.0.0.1:${tb.port}`, token: "benchengine1", wifi: { ssid: "sim" }, intervalS: 60 }),
    });
    // Simulated time is the scheduler's: the node's RTC jumps from 1970 to today when SNTP sets it.
    const t0 = performance.now();
    node.start();
    const end = hours * 3_600_000;
    while (node.scheduler.now() < end && performance.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 20));
    return node.scheduler.now() / (performance.now() - t0);
  } finally {
    await node.stop();
    await tb.close();
  }
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
const LIB = fs.readFileSync(new URL("../dist/lib/coap.cjs", import.meta.url), "latin1");
const LOAD = "eval(" + JSON.stringify("var exports={},module={exports:exports};\n" + LIB) + ");";
const PROBE = 'setTimeout(function(){var m=process.memory();print("<usage>"+m.usage+" "+m.blocksize+"</usage>")},10);';
const usage = (text) => {
  const m = /<usage>(\d+) (\d+)<\/usage>/.exec(text);
  if (!m) throw new Error(`no memory figures in: ${text.slice(-300)}`);
  return { vars: Number(m[1]), blocksize: Number(m[2]) };
};

async function onEngine(lines) {
  let out = "";
  const e = await startEngine({ onOutput: (t) => (out += t) });
  e.run(0);
  const results = [];
  for (const line of lines) {
    out = "";
    e.input(`\x10${line}\n`);
    e.run(100);
    results.push(out);
  }
  e.kill();
  return results;
}

export async function run() {
  const starts = [];
  for (let i = 0; i < 21; i++) {
    const t0 = performance.now();
    const e = await startEngine({ onOutput: () => {} });
    e.run(0);
    starts.push(performance.now() - t0);
    e.kill();
  }
  const rssBefore = process.memoryUsage().rss;
  const many = [];
  for (let i = 0; i < 50; i++) many.push(await startEngine({ onOutput: () => {} }));
  const rssPerEngine = (process.memoryUsage().rss - rssBefore) / many.length;
  for (const e of many) e.kill();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "engine-bench-"));
  try {
    const processStarts = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      runScript("\n", { dir });
      processStarts.push(performance.now() - t0);
    }
    const nativeBase = usage(runScript(PROBE + "\n", { dir }).stdout);
    const nativeLoaded = usage(runScript(LOAD + "\n" + PROBE + "\n", { dir }).stdout);
    const [base, loaded] = (await onEngine([PROBE, LOAD, PROBE])).filter((_, i) => i !== 1).map(usage);
    // Like for like: the i386 build's variables are the ESP32's 14 bytes.
    const i386 = (code) => usage(runScript(code + "\n", { dir, variant: "i386", timeoutMs: 5000 }).stdout);
    const i386Vars = i386(LOAD + "\n" + PROBE).vars - i386(PROBE).vars;
    // The bundle from Storage on both, as a board runs it: usage a second after it started, with no configuration.
    const bundle = fs.readFileSync(new URL("../dist/esp32/firmware.js", import.meta.url));
    const BOOT = 'eval(require("Storage").read("b.js"));' + PROBE.replace(",10);", ",1000);");
    const i386Dir = path.join(dir, "i386");
    new InterpreterNode({ dir: i386Dir, variant: "i386" }).writeStorage({ "b.js": bundle });
    const i386Boot = usage(runScript(BOOT + "\n", { dir: i386Dir, variant: "i386", timeoutMs: 5000 }).stdout).vars;
    const holder = new EngineNode({ board: loadBoard(new URL("../boards/esp32.json", import.meta.url).pathname), dir: path.join(dir, "engine") });
    await holder.writeStorage({ "b.js": bundle });
    let bootOut = "";
    const booted = await startEngine({ flash: holder.image, onOutput: (t) => (bootOut += t) });
    booted.run(0);
    booted.input(`\x10${BOOT}\n`);
    booted.run(2000);
    booted.kill();
    const engineBoot = usage(bootOut).vars;

    const clock = virtualClock();
    const e = await startEngine({ clock, onOutput: () => {} });
    e.run(0);
    e.input("\x10setInterval(function(){},60000);\n");
    const t0 = performance.now();
    e.run(3_600_000);
    const hourMs = performance.now() - t0;
    e.kill();

    const nodeSpeed = await nodeSpeedup(dir, 6);
    const vars = loaded.vars - base.vars;
    const nativeVars = nativeLoaded.vars - nativeBase.vars;
    return {
      "engine.wasm_bytes": fs.statSync(path.join(ENGINE_DIR, "espruino.wasm")).size,
      "engine.start_ms": median(starts.slice(1)),
      "engine.start_vs_native_process": median(starts.slice(1)) / median(processStarts),
      "engine.rss_bytes_per_engine": Math.round(rssPerEngine),
      "engine.hour_speedup_vs_real_clock": 3_600_000 / hourMs,
      "engine.node_speedup_vs_real_clock": nodeSpeed,
      "engine.coap_jsvars_vs_native_esp32": vars / nativeVars,
      "engine.coap_bytes_vs_native_esp32": (vars * loaded.blocksize) / (nativeVars * nativeLoaded.blocksize),
      "engine.coap_jsvars_vs_native_i386": vars / i386Vars,
      "engine.boot_jsvars_vs_native_i386": engineBoot / i386Boot,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
