// What a HIL scenario runs against. Either a board on a port (serial, or tcp:// for a TelnetServer or a simulator
// console someone else started), observed through its console, with time as the wall clock; or, with --sim, a fresh
// simulated node per scenario (host/sim) whose console the same EspruinoTools and REPL paths use, observed in
// process so that its virtual clock can run idle time fast, and whose link can be given network conditions; or, with
// --engine linux, a fresh real interpreter per scenario (host/interpreter), its console on a free TCP port and its
// link through a relay that can cut it, in real time.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createSimNode } from "../sim/node.mjs";
import { InterpreterNode, hardwareFor } from "../interpreter/interpreter.mjs";
import { startRelay } from "../interpreter/relay.mjs";
import { Repl } from "./repl.mjs";
import { parsePort } from "./port.mjs";

/** The IPv4 address a board on the LAN reaches this machine at (the first non-internal interface). */
export function lanAddress() {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list || []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return null;
}

/** Simulated seconds per real second while a simulated node idles in a "fast" scenario. */
export const FAST_SPEED = 100;

/** What the HIL's own console evaluations print (repl.mjs): not the node's output. */
const OWN_ANSWER = /^<hil[0-9a-z]+<.*>hil[0-9a-z]+>$/;

class Observer {
  constructor() {
    this.lines = [];
    this.listeners = new Set();
  }

  push(line) {
    if (OWN_ANSWER.test(line)) return;
    this.lines.push(line);
    for (const l of this.listeners) l(line);
  }

  onLine(cb) {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }
}

/** A board on a port. One console connection observes it; it is let go while EspruinoTools uploads. */
export class BoardTarget {
  constructor({ port, board, baud = 115200, serverUri, wifi }) {
    this.kind = "board";
    this.port = port;
    this.parsed = parsePort(port);
    this.board = board;
    this.baud = baud;
    this.serverUri = serverUri;
    this.wifi = wifi;
    this.networkConditions = false;
    this.out = new Observer();
    this.repl = null;
  }

  describe() {
    return `${this.board.id} on ${this.port}`;
  }

  /** Device time in ms: a real board's clock is the wall clock. */
  now() {
    return Date.now();
  }

  async begin() {
    await this.attach();
  }

  async attach() {
    if (this.repl && !this.repl.closed) return;
    this.repl = await Repl.open(this.port, { baud: this.baud, name: this.port });
    this.repl.onLine((l) => l !== null && this.out.push(l));
  }

  async release() {
    if (!this.repl) return;
    const r = this.repl;
    this.repl = null;
    await r.close();
  }

  /** Runs fn(repl) on the console connection. */
  async withRepl(fn) {
    await this.attach();
    return fn(this.repl);
  }

  /** Runs `fn` while the scenario waits on the board; a board's time passes as it does. */
  fastForward(fn) {
    return fn();
  }

  setNetwork() {
    throw new Error(`network conditions need the simulator (--sim); ${this.describe()} is real`);
  }

  async end() {
    await this.release();
  }
}

/** A fresh simulated node per scenario, with its console on a free TCP port. */
export class SimTarget {
  constructor({ board, serverUri, pace = "fast", seed = 1, name = "hil1" }) {
    this.kind = "sim";
    this.board = board;
    this.serverUri = serverUri;
    this.wifi = { ssid: "sim" };
    this.networkConditions = true;
    this.pace = pace;
    this.seed = seed;
    this.name = name;
    this.out = new Observer();
    this.node = null;
  }

  describe() {
    return `simulated ${this.board.id}${this.node ? ` (console ${this.port})` : ""}`;
  }

  now() {
    return this.node ? this.node.scheduler.now() : 0;
  }

  /** Powers on a blank board (Espruino with empty Storage), as a board fresh from `flash --firmware`. */
  async begin() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "hil-sim-"));
    this.node = await createSimNode({
      board: this.board.id,
      storageDir: this.dir,
      bundle: null,
      name: this.name,
      // A real pace for scenarios where the server pushes (RPC, attributes) while the node idles; otherwise idle
      // time runs FAST_SPEED times faster, slow enough that a condition checked every few real milliseconds is
      // seen within a simulated second or two of becoming true.
      speed: this.pace === "real" ? 1 : FAST_SPEED,
      seed: this.seed,
      rtcMs: "host",
      consolePort: 0,
    });
    this.port = `tcp://127.0.0.1:${this.node.console.port}`;
    this.node.device.on("output", (l) => this.out.push(l));
    // Real pace while the scenario acts (flashes, configures, calls the server), as a person at a bench would see it;
    // idle time runs fast only while the scenario waits for something (fastForward).
    this.releaseHold = this.node.scheduler.holdRealTime();
    this.running = this.node.start();
  }

  async fastForward(fn) {
    this.releaseHold();
    try {
      return await fn();
    } finally {
      this.releaseHold = this.node.scheduler.holdRealTime();
    }
  }

  async attach() {}

  async release() {}

  async withRepl(fn) {
    const repl = await Repl.open(this.port, { name: this.port });
    try {
      return await fn(repl);
    } finally {
      await repl.close();
    }
  }

  /** An outage of `outageS` device seconds from now (the link drops every datagram both ways). */
  setNetwork({ outageS }) {
    this.node.link.conditions.outage = { startMs: this.now(), lenMs: outageS * 1000 };
  }

  async end() {
    if (!this.node) return;
    this.releaseHold();
    await this.node.stop();
    this.node = null;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A fresh real Espruino interpreter per scenario (the ESP32-like Linux build), blank Storage, its console on a free
 * TCP port for EspruinoTools and the REPL, its traffic through a relay to the server (so an outage can be given), and
 * time the wall clock.
 */
export class InterpreterTarget {
  constructor({ board, serverUri, variant = "esp32", name = "hil1" }) {
    this.kind = "interpreter";
    this.board = board;
    this.serverTarget = serverUri;
    this.variant = variant;
    this.wifi = { ssid: "sim" };
    this.networkConditions = true;
    this.name = name;
    this.out = new Observer();
    this.node = null;
  }

  describe() {
    return `${this.board.id} on the real Espruino interpreter (${this.variant} build)${this.node ? ` (console ${this.port})` : ""}`;
  }

  now() {
    return Date.now();
  }

  async begin() {
    const m = /^coaps?:\/\/([^/:]+):(\d+)/.exec(this.serverTarget);
    this.relay = await startRelay({ serverHost: m[1], serverPort: +m[2] });
    this.serverUri = `coap://127.0.0.1:${this.relay.port}`;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "hil-interpreter-"));
    this.node = new InterpreterNode({ dir: this.dir, variant: this.variant, name: this.name, hardware: hardwareFor(this.board, this.wifi) });
    this.console = await this.node.serveConsole(0);
    this.port = `tcp://127.0.0.1:${this.console.port}`;
    this.node.on("output", (l) => this.out.push(l));
    this.node.start();
  }

  fastForward(fn) {
    return fn();
  }

  async attach() {}

  async release() {}

  async withRepl(fn) {
    const repl = await Repl.open(this.port, { name: this.port });
    try {
      return await fn(repl);
    } finally {
      await repl.close();
    }
  }

  /** An outage of `outageS` seconds from now: the relay drops every datagram both ways. */
  setNetwork({ outageS }) {
    this.relay.outage(outageS * 1000);
  }

  async end() {
    if (!this.node) return;
    await this.node.stop();
    await this.console.close();
    await this.relay.close();
    this.node = null;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
