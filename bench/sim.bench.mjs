// The simulator's virtual clock against the real clock (the peer), in the same run:
// - sim.day_speedup_vs_real_clock: simulated seconds per wall second for a day of a node that wakes every minute,
//   exchanges a datagram with a real UDP peer and deep-sleeps (the real clock would take 86400 s: ratio 1);
// - sim.short_run_speedup_vs_real_clock: wall time of a 6 s scenario (three wakes 2.5 s apart, each with a UDP exchange) on the real clock
//   divided by its wall time on the virtual clock (the median of five runs);
// - sim.wake_ms: wall milliseconds per wake in the day run (a fresh engine, Storage, one UDP round trip);
// - sim.nodes_per_process: the most nodes of a ladder (5, 10, 25, 50, 100, 200) one process runs with a reading every 10 s
//   to the local server at 60 simulated seconds per real second or more, every node keeping that pace (goal 200);
//   sim.nodes_slowest_speed: the slowest node's pace in the largest run; sim.cpu_ms_per_reading: the process's CPU
//   time (the interpreter, the host's hardware layer and the local server) per reading made in that run, which
//   bounds the count: 200 nodes at 60x make 1,200 readings a second.
import dgram from "node:dgram";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { createSimNode } from "../host/sim/node.mjs";
import { startHilServer } from "../host/hil/server.mjs";

async function echoPeer() {
  const sock = dgram.createSocket("udp4");
  sock.on("message", (buf, rinfo) => sock.send(buf, rinfo.port, rinfo.address));
  await new Promise((r) => sock.bind(0, "127.0.0.1", () => r(undefined)));
  return sock;
}

async function timed(bundle, options) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sim-bench-"));
  const node = await createSimNode({ storageDir: dir, bundle, ...options });
  const t0 = performance.now();
  await node.start({ untilMs: options.untilMs });
  const wall = performance.now() - t0;
  await node.stop();
  const state = node.device.storage.read("n");
  fs.rmSync(dir, { recursive: true, force: true });
  return { wall, wakes: state ? Number(state.toString()) : 0 };
}

/**
 * `count` nodes reporting every 10 s for `realS` seconds, each clock allowed 120 simulated seconds per real second
 * while idle (every exchange with the server holds it to real pace until the reply): the slowest node's simulated
 * seconds per real second, and the process's CPU milliseconds per reading made.
 */
async function manyNodes(count, realS) {
  const tb = await startHilServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sim-nodes-"));
  const nodes = [];
  try {
    for (let i = 0; i < count; i++) {
      const token = `bench-node-${i}`;
      await tb.createDevice(`bench-${i}`, token);
      nodes.push(await createSimNode({ storageDir: path.join(dir, `n${i}`), name: `n${i}`, speed: 120, rtcMs: "host",
        config: { server: `coap://127.0.0.1:${tb.port}`, token, wifi: { ssid: "sim" }, intervalS: 10 } }));
    }
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    // Spread over the first interval, as `npm run sim -- --nodes` powers them on.
    for (const [i, n] of nodes.entries()) n.done = n.start({ powerOnMs: Math.round((i * 10000) / count) });
    await new Promise((r) => setTimeout(r, realS * 1000));
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const slowest = Math.min(...nodes.map((n) => n.scheduler.now() / 1000 / wall));
    const readings = nodes.map((n) => n.device.lines.filter((l) => /^node: telemetry \d+ reading/.test(l)).length);
    if (Math.min(...readings) === 0) throw new Error(`a node of ${count} delivered nothing in ${realS} s`);
    const made = readings.reduce((a, b) => a + b, 0);
    return { slowest, cpuMsPerReading: (cpu.user + cpu.system) / 1000 / made };
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await tb.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function run() {
  const peer = await echoPeer();
  try {
    const wake = (periodS) => `
      var S = require("Storage"); var n = Number(S.read("n") || 0) + 1; S.write("n", String(n));
      var woke = getTime(); var s = require("dgram").createSocket("udp4");
      s.on("message", function () { require("ESP32").deepSleep((${periodS} - (getTime() - woke)) * 1e6); });
      s.send("wake " + n, ${peer.address().port}, "127.0.0.1");`;
    const day = await timed(wake(60), { clock: "virtual", untilMs: 86400 * 1000 });
    if (day.wakes < 1440) throw new Error(`the day run woke ${day.wakes} times, expected 1440`);
    const short = wake(2.5);
    const real = await timed(short, { clock: "real", untilMs: 6000 });
    // A virtual run takes 10-30 ms, as garbage collection and the JIT fall: the median of five.
    const runs = [];
    for (let i = 0; i < 5; i++) runs.push(await timed(short, { clock: "virtual", untilMs: 6000 }));
    const virtual = runs.sort((a, b) => a.wall - b.wall)[2];
    for (const v of runs) if (real.wakes !== v.wakes) throw new Error(`real clock woke ${real.wakes} times, virtual ${v.wakes}`);
    let perProcess = 0;
    let largest = { slowest: 0, cpuMsPerReading: 0 };
    for (const count of [5, 10, 25, 50, 100, 200]) {
      largest = await manyNodes(count, 20);
      if (largest.slowest < 60) break;
      perProcess = count;
    }
    return {
      "sim.nodes_per_process": perProcess,
      "sim.nodes_slowest_speed": largest.slowest,
      "sim.cpu_ms_per_reading": largest.cpuMsPerReading,
      "sim.day_speedup_vs_real_clock": 86400 / (day.wall / 1000),
      "sim.short_run_speedup_vs_real_clock": real.wall / virtual.wall,
      "sim.wake_ms": day.wall / day.wakes,
    };
  } finally {
    peer.close();
  }
}
