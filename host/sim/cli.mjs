#!/usr/bin/env node
// `npm run sim -- [options]`: starts a local server (unless --server is given) and one or more simulated nodes running
// dist/<board>/firmware.js, and prints what each node does as it happens. See docs/simulator.md.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createSimNode, writeNodeConfig, bundleFile, boardFile } from "./node.mjs";
import { startDefaultServer } from "./server.mjs";
import { describeCoap, describeDatagram } from "./coap-trace.mjs";
import { coapHead } from "../engine/io-watch.mjs";
import { boardRebuilder, sizeChange, watchSources } from "../cli/watch.mjs";
import { linkConditions } from "./link.mjs";
import { InterpreterNode, hardwareFor, VARIANTS } from "../interpreter/interpreter.mjs";
import { startRelay } from "../interpreter/relay.mjs";
import { loadBoard, loadBoards } from "../../boards/board-file.mjs";

// Espruino's local time is UTC until the firmware calls E.setTimeZone (which the simulator ignores): so is Date's here.
process.env.TZ = "UTC";

const HELP = `usage: npm run sim -- [options]

  --board ID            board file boards/ID.json and bundle dist/ID/firmware.js (default sim)
  --server URI          coap://host:port or coaps://host:port (default: start a local server on a free port)
  --http-port N         the local server's dashboard and HTTP API on 127.0.0.1:N (default 8080, or a free port
                        when 8080 is taken; 0: a free port)
  --token T             the device's access token (default sim-node-<n>)
  --ca FILE             CA certificate (PEM) for a coaps:// server, stored in the node's Storage as node.ca
  --insecure            coaps:// without verifying the server (unsafe; the node warns)
  --interval S          seconds between readings (node.cfg intervalS)
  --sleep               deep-sleep between readings (node.cfg sleep)
  --clock virtual|real  virtual (default without --server) runs idle time fast; real (default with --server)
                        follows the wall clock, so timestamps never run ahead of a real server
  --speed N             simulated seconds per real second while idle (virtual: 60, or unlimited with
                        --duration; real: 1)
  --loss P              drop each datagram with probability P, both ways (--loss-out P, --loss-in P for one way)
  --dup P               duplicate datagrams with probability P
  --reorder P           let the next datagram overtake this one with probability P
  --delay MS            one-way delay in milliseconds
  --outage START:LEN    drop everything from START for LEN simulated seconds
  --nat-rebind S        at S simulated seconds the node's sockets move to a new local port (NAT rebinding)
  --seed N              seed for network conditions and sensor noise (default 1)
  --nodes N             run N nodes (default 1), each with its own token; they power on spread over the first
                        interval, so they do not report in lockstep
  --config FILE         node.cfg fields (JSON) merged into each node's configuration; a JSON array gives node n
                        its entry n (and --nodes defaults to the array's length)
  --console PORT        TCP console for EspruinoTools on PORT (node n gets PORT+n-1)
  --duration S          stop after S simulated seconds (default: run until Ctrl-C)
  --storage DIR         keep each node's Storage in DIR/<node> (default: a temporary folder, removed at exit)
  --no-flash            boot what is in Storage instead of flashing the bundle (with --storage)
  --wifi-fail N         the first N Wi-Fi connects fail
  --verbose             also print sensor reads, pin changes and every link decision
  --watch               rebuild on every change under src/ or boards/ and reload the new bundle into the running
                        nodes (Storage, queued readings and the server's state are kept)
  --engine wasm|linux   wasm (default): Espruino's interpreter compiled to WebAssembly, in this process, on the
                        simulator's clock and link; linux: Espruino's Linux build as a process of its own, in real
                        time (--outage, --storage, --console, --nodes, --duration, --interval, --sleep, --wifi-fail
                        apply; times in real seconds)
  --variant esp32|linux with --engine linux: the ESP32-like build (16,383 variables, default) or stock Linux
`;

/** The options as given, each flag read into `o` (network conditions under o.network). */
function readFlags(argv) {
  const o = { engine: "wasm", variant: "esp32", board: "sim", seed: 1, nodes: 1, flash: true, network: {}, verbose: false, wifiFail: 0 };
  let nodesGiven = false;
  const num = (flag, v) => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n)) throw new Error(`${flag} needs a number`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case "--help":
      case "-h":
        o.help = true;
        break;
      case "--board": o.board = v(); break;
      case "--server": o.server = v(); break;
      case "--token": o.token = v(); break;
      case "--http-port": o.httpPort = num(a, v()); break;
      case "--config": o.configFile = v(); break;
      case "--ca": o.ca = v(); break;
      case "--insecure": o.insecure = true; break;
      case "--interval": o.intervalS = num(a, v()); break;
      case "--sleep": o.sleep = true; break;
      case "--clock": o.clock = v(); break;
      case "--speed": o.speed = num(a, v()); break;
      case "--loss": o.network.lossOut = o.network.lossIn = num(a, v()); break;
      case "--loss-out": o.network.lossOut = num(a, v()); break;
      case "--loss-in": o.network.lossIn = num(a, v()); break;
      case "--dup": o.network.dup = num(a, v()); break;
      case "--reorder": o.network.reorder = num(a, v()); break;
      case "--delay": o.network.delayMs = num(a, v()); break;
      case "--outage": {
        const m = /^(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$/.exec(v());
        if (!m) throw new Error("--outage needs START:LEN in seconds, e.g. 60:30");
        o.network.outage = { startMs: Number(m[1]) * 1000, lenMs: Number(m[2]) * 1000 };
        break;
      }
      case "--nat-rebind": o.network.natRebindAtMs = num(a, v()) * 1000; break;
      case "--seed": o.seed = num(a, v()); break;
      case "--nodes": o.nodes = num(a, v()); nodesGiven = true; break;
      case "--console": o.console = num(a, v()); break;
      case "--duration": o.duration = num(a, v()); break;
      case "--storage": o.storage = v(); break;
      case "--no-flash": o.flash = false; break;
      case "--wifi-fail": o.wifiFail = num(a, v()); break;
      case "--verbose": o.verbose = true; break;
      case "--watch": o.watch = true; break;
      case "--engine": o.engine = v(); break;
      case "--variant": o.variant = v(); break;
      default:
        throw new Error(`unknown option ${a} (see --help)`);
    }
  }
  o.nodesGiven = nodesGiven;
  return o;
}

/** The board must exist, and a --config file hold node.cfg fields (one object, or one per node). */
function readBoardAndConfig(o) {
  if (!fs.existsSync(boardFile(o.board))) {
    throw new Error(`unknown board ${JSON.stringify(o.board)} (boards: ${loadBoards().map((b) => b.id).join(", ")})`);
  }
  if (o.configFile !== undefined) {
    let text;
    try {
      text = fs.readFileSync(o.configFile, "utf8");
    } catch (e) {
      throw new Error(`cannot read --config ${o.configFile}: ${e.code === "ENOENT" ? "no such file" : e.message}`);
    }
    try {
      o.nodeConfigs = JSON.parse(text);
    } catch (e) {
      throw new Error(`--config ${o.configFile} is not JSON: ${e.message}`);
    }
    const entries = Array.isArray(o.nodeConfigs) ? o.nodeConfigs : [o.nodeConfigs];
    if (!entries.length || entries.some((c) => c === null || typeof c !== "object" || Array.isArray(c))) {
      throw new Error(`--config ${o.configFile} must hold a JSON object of node.cfg fields, or an array of them (one per node)`);
    }
    if (Array.isArray(o.nodeConfigs)) {
      if (!o.nodesGiven) o.nodes = o.nodeConfigs.length;
      else if (o.nodes !== o.nodeConfigs.length) throw new Error(`--config ${o.configFile} has ${o.nodeConfigs.length} entries for --nodes ${o.nodes}`);
    }
  }
}

/** Values in range, and no simulator-only option with the Linux engine. */
function checkOptions(o) {
  if (!(Number.isInteger(o.nodes) && o.nodes >= 1 && o.nodes <= 100)) throw new Error("--nodes must be 1 to 100");
  if (o.server !== undefined && !/^coaps?:\/\/[^/]+/.test(o.server)) throw new Error(`--server must be a coap:// or coaps:// URI, not ${o.server}`);
  if (o.console !== undefined && !(o.console >= 1 && o.console + o.nodes - 1 <= 65535)) throw new Error("--console must be a TCP port");
  if (o.duration !== undefined && !(o.duration > 0)) throw new Error("--duration must be a positive number of seconds");
  if (!o.flash && !o.storage) throw new Error("--no-flash needs --storage DIR (a temporary Storage would be empty)");
  // A server elsewhere keeps real time and stores the node's timestamps as they come: a node's clock must never run
  // ahead of it, so with --server the clock is real unless asked otherwise (and then warned about, in main()).
  o.clockGiven = o.clock !== undefined;
  if (o.clock === undefined) o.clock = o.server !== undefined && o.engine === "wasm" ? "real" : "virtual";
  if (!["virtual", "real"].includes(o.clock)) throw new Error(`--clock must be virtual or real, not ${o.clock}`);
  if (o.speed !== undefined && !(o.speed > 0)) throw new Error("--speed must be a positive number");
  if (!(Number.isInteger(o.wifiFail) && o.wifiFail >= 0)) throw new Error("--wifi-fail must be a whole number");
  if (!["wasm", "linux"].includes(o.engine)) throw new Error(`--engine must be wasm or linux, not ${o.engine}`);
  if (!VARIANTS.includes(o.variant)) throw new Error(`--variant must be one of ${VARIANTS.join(", ")}, not ${o.variant}`);
  if (o.engine === "linux") {
    const simulatorOnly = Object.keys(o.network).filter((k) => k !== "outage");
    if (simulatorOnly.length || o.clockGiven || o.speed !== undefined) {
      throw new Error("--engine linux runs in real time in a process of its own: --clock, --speed, --loss, --dup, --reorder, --delay and --nat-rebind need the simulator's engine (wasm)");
    }
  }
  linkConditions(o.network);
}

function parseArgs(argv) {
  const o = readFlags(argv);
  readBoardAndConfig(o);
  checkOptions(o);
  return o;
}

function clockText(ms) {
  const total = Math.floor(ms);
  const day = Math.floor(total / 86400000);
  const h = String(Math.floor(total / 3600000) % 24).padStart(2, "0");
  const m = String(Math.floor(total / 60000) % 60).padStart(2, "0");
  const s = String(Math.floor(total / 1000) % 60).padStart(2, "0");
  const frac = String(total % 1000).padStart(3, "0");
  return `${day ? `d${day} ` : ""}${h}:${m}:${s}.${frac}`;
}

/** Prints a node's console output and what it does on the network, with its simulated time. */
const COLOURS = [36, 33, 35, 32, 34, 91, 96, 93, 95, 92];

/**
 * Prints what `node` does, each line prefixed with its name and clock (coloured per node on a terminal when several
 * run), and counts what the end-of-run summary reports: readings made and delivered, CoAP retransmissions (a
 * confirmable message sent again with the same message ID) and datagrams the link lost.
 */
function attachPrinter(node, { secrets, verbose, colour }) {
  const counts = { readings: 0, delivered: 0, retransmissions: 0, lost: 0 };
  const prefix = colour ? (t) => `\x1b[${colour}m${t}\x1b[0m` : (t) => t;
  const say = (text) => process.stdout.write(`${prefix(`[${node.name} ${clockText(node.scheduler.now())}]`)} ${text}\n`);
  const sentCon = new Set();
  // A CON sent again with the same message ID is a retransmission (RFC 7252 4.2).
  const retransmission = (e) => {
    if (e.dir !== "out" || !coapHead(e.bytes) || ((e.bytes[0] >> 4) & 3) !== 0) return "";
    const key = `${e.port}/${(e.bytes[2] << 8) | e.bytes[3]}`;
    const again = sentCon.has(key);
    sentCon.add(key);
    if (!again) return "";
    counts.retransmissions++;
    return " (retransmission)";
  };
  node.device.on("output", (line) => {
    if (/^node: reading \{/.test(line)) counts.readings++;
    const m = /^node: telemetry (\d+) reading\(s\) -> 2\.0[14]/.exec(line);
    if (m) counts.delivered += Number(m[1]);
    if (line.trim()) say(line); // the blank lines Espruino's console leaves between prompts say nothing
  });
  node.device.on("trace", (e) => {
    switch (e.type) {
      case "boot":
        say(`* boot (${e.cause}, #${e.bootCount})`);
        sentCon.clear();
        break;
      case "sleep":
        say(`* deep sleep for ${(e.ms / 1000).toFixed(3)} s`);
        break;
      case "wifi":
        say(`* wifi ${e.event}${e.reason ? ` (${e.reason})` : ""}${e.ip ? ` ${e.ip}` : ""}`);
        break;
      case "udp":
        say(`* ${e.dir === "out" ? "->" : "<-"} ${e.address}:${e.port} ${describeDatagram(e.bytes, { secrets })}${retransmission(e)}`);
        break;
      case "dtls-data":
        // The CoAP message inside a DTLS record, which the line before shows as a record.
        say(`* ${e.dir === "out" ? "=>" : "<="} in DTLS: ${describeCoap(e.bytes, { secrets })}${retransmission(e)}${e.lost ? " (its record was lost)" : ""}`);
        break;
      case "rebind":
        say(`* NAT rebinding: new local port(s) ${e.ports.join(", ")}`);
        break;
      case "link":
        if (e.fate === "lost" || e.fate === "outage") counts.lost++;
        if (verbose || e.fate !== "duplicated") say(`* link: ${e.dir === "out" ? "outbound" : "inbound"} datagram (${e.size} B) ${e.fate}`);
        break;
      case "pin":
        if (verbose) say(`* ${e.pin} = ${e.value}`);
        break;
      case "analog":
        if (verbose) say(`* analogRead(${e.pin}) = ${e.value.toFixed(4)}`);
        break;
      default:
        if (verbose) say(`* ${e.type}`);
    }
  });
  return counts;
}

/**
 * --watch: every change under src/ or boards/ (settled for 200 ms) rebuilds the board's bundle; a good build is
 * written to each node's Storage as .bootcde and the nodes are power-cycled, so they boot the new firmware with their
 * Storage (configuration, queued readings) kept, against the same server. A failed build keeps the running firmware.
 */
function watchAndReload(boardId, nodes) {
  const bundle = bundleFile(boardId);
  let size = fs.statSync(bundle).size;
  const rebuilder = boardRebuilder(boardId);
  const watcher = watchSources(async () => {
    const t0 = Date.now();
    try {
      await rebuilder.next();
      const code = fs.readFileSync(bundle, "latin1");
      for (const n of nodes) n.device.powerCycle("poweron", { ".bootcde": code });
      process.stdout.write(`sim: reloaded ${path.relative(process.cwd(), bundle)} into ${nodes.map((n) => n.name).join(", ")} ` +
        `(${sizeChange(size, code.length)}) after a ${((Date.now() - t0) / 1000).toFixed(1)} s build\n`);
      size = code.length;
    } catch (e) {
      process.stdout.write(`sim: rebuild failed, the nodes keep the firmware they run: ${e.message}\n`);
    }
  });
  process.stdout.write("sim: watching src/ and boards/; a change rebuilds and reloads the nodes\n");
  return watcher;
}

/** The end-of-run summary, one line per node. */
function printSummary(nodes) {
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  for (const { node, counts } of nodes) {
    process.stdout.write(`sim: summary ${node.name}: ${plural(counts.readings, "reading")} made, ${counts.delivered} delivered, ` +
      `${plural(counts.retransmissions, "retransmission")}, ${plural(counts.lost, "datagram")} lost by the link\n`);
  }
}

/** The CA certificate's PEM text from --ca FILE, or an error in words. */
function readCa(file) {
  let pem;
  try {
    pem = fs.readFileSync(file, "latin1");
  } catch (e) {
    throw new Error(`cannot read the CA certificate --ca ${file}: ${e.code === "ENOENT" ? "no such file" : e.message}`);
  }
  if (!/-----BEGIN CERTIFICATE-----/.test(pem)) throw new Error(`--ca ${file} holds no PEM certificate`);
  return pem;
}

/**
 * Node `i` of the run (added to `nodes` as soon as it exists, so a failure later stops it): its node.cfg, its
 * Storage, its console, its line printer; registered on a local server.
 */
async function startSimNode(o, i, { server, serverUri, caPem, storageRoot, speed, nodes }) {
  const name = `node${i}`;
  const token = o.token ? (o.nodes > 1 ? `${o.token}${i}` : o.token) : `sim-node-${i}`;
  const config = { server: serverUri, token, wifi: { ssid: "sim" } };
  if (o.intervalS !== undefined) config.intervalS = o.intervalS;
  if (o.sleep) config.sleep = true;
  if (o.insecure) config.insecure = true;
  if (o.nodeConfigs) Object.assign(config, Array.isArray(o.nodeConfigs) ? o.nodeConfigs[i - 1] : o.nodeConfigs);
  const node = await createSimNode({
    board: o.board,
    storageDir: path.join(storageRoot, name),
    bundle: o.flash ? undefined : null,
    name,
    clock: o.clock,
    speed,
    seed: o.seed,
    network: o.network,
    config,
    caPem,
    consolePort: o.console === undefined ? null : o.console + i - 1,
    wifi: { failConnects: o.wifiFail },
  });
  nodes.push(node);
  if (server && server.registerDevice && typeof config.token === "string") await server.registerDevice(name, config.token);
  const colour = o.nodes > 1 && process.stdout.isTTY && !process.env.NO_COLOR ? COLOURS[(i - 1) % COLOURS.length] : null;
  const counts = attachPrinter(node, { secrets: [config.token].filter(Boolean), verbose: o.verbose, colour });
  // Several nodes power on spread over the first reading interval, as boards switched on one after another.
  node.powerOnMs = Math.round(((i - 1) * (config.intervalS || 60) * 1000) / o.nodes);
  process.stdout.write(
    `sim: ${name} (${node.board.name}), Storage ${node.device.storage.dir}` +
      `${node.console ? `, console tcp://127.0.0.1:${node.console.port}` : ""}` +
      `${node.powerOnMs ? `, powers on at ${clockText(node.powerOnMs)}` : ""}\n`
  );
  return { node, counts };
}

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`sim: ${e.message}\n`);
    process.exit(2);
  }
  if (o.help) {
    process.stdout.write(HELP);
    return;
  }
  if (o.insecure) process.stderr.write("sim: warning: --insecure: the node will not verify the server's certificate\n");
  if (o.server !== undefined && o.clock === "virtual" && o.engine === "wasm") {
    process.stderr.write("sim: warning: --clock virtual with --server: once SNTP sets the node's clock it runs faster than the server's, so readings carry timestamps ahead of real time\n");
  }
  const caPem = o.ca === undefined ? undefined : readCa(o.ca);

  let server = null;
  let serverUri = o.server;
  if (!serverUri) {
    server = await startDefaultServer({ httpPort: o.httpPort });
    serverUri = `coap://127.0.0.1:${server.port}`;
    process.stdout.write(`sim: dashboard ${server.server.httpUrl}/ (local server ${server.kind} on ${serverUri})\n`);
  }
  if (o.engine === "linux") return runOnInterpreter(o, { server, serverUri, caPem });
  // Watchable by default: an open-ended run on the virtual clock goes a simulated minute per real second; with
  // --duration it runs as fast as it can.
  const speed = o.speed ?? (o.clock === "virtual" && o.duration === undefined ? 60 : undefined);
  const storageRoot = o.storage ? path.resolve(o.storage) : fs.mkdtempSync(path.join(os.tmpdir(), "espruino-sim-"));
  const nodes = [];
  const printed = [];
  const cleanup = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    printSummary(printed);
    if (server) await server.close();
    if (!o.storage) fs.rmSync(storageRoot, { recursive: true, force: true });
  };
  let stopping = false;
  const stopAll = () => {
    if (stopping) {
      process.stderr.write("sim: stopping now\n");
      process.exit(130);
    }
    stopping = true;
    for (const n of nodes) n.scheduler.stop();
  };
  process.on("SIGINT", stopAll);
  process.on("SIGTERM", stopAll);
  // Output piped into a command that quits (`| head`): stop the simulation and clean up instead of dying mid-run.
  process.stdout.on("error", (e) => {
    if (/** @type {NodeJS.ErrnoException} */ (e).code !== "EPIPE") throw e;
    stopping = true;
    for (const n of nodes) n.scheduler.stop();
  });
  try {
    for (let i = 1; i <= o.nodes; i++) {
      const { node, counts } = await startSimNode(o, i, { server, serverUri, caPem, storageRoot, speed, nodes });
      printed.push({ node, counts });
    }
    const untilMs = o.duration === undefined ? undefined : o.duration * 1000;
    const pace = o.clock === "real" ? `real clock x${speed ?? 1}` : `virtual clock, ${speed === undefined ? "as fast as possible" : `${speed}x real time`} while idle`;
    process.stdout.write(`sim: ${pace}${untilMs === undefined ? ", Ctrl-C stops" : `, for ${o.duration} simulated seconds`}\n`);
    const running = Promise.all(nodes.map((n) => n.start({ untilMs, powerOnMs: n.powerOnMs })));
    const watcher = o.watch ? watchAndReload(o.board, nodes) : null;
    try {
      await running;
    } finally {
      if (watcher) watcher.close();
    }
  } finally {
    await cleanup();
  }
}

/**
 * --engine linux: each node is the real interpreter (host/interpreter) with the flashed bundle and node.cfg in its
 * Storage, behind a UDP relay that shows its CoAP traffic and cuts the link for --outage; real time throughout.
 */
async function runOnInterpreter(o, { server, serverUri, caPem }) {
  const board = loadBoard(boardFile(o.board));
  const code = fs.readFileSync(bundleFile(board.id));
  const storageRoot = o.storage ? path.resolve(o.storage) : fs.mkdtempSync(path.join(os.tmpdir(), "espruino-sim-"));
  const m = /^coaps?:\/\/(\[[^\]]+\]|[^/:]+):?(\d*)/.exec(serverUri);
  const secure = serverUri.startsWith("coaps:");
  const started = Date.now();
  const nodes = [];
  const closers = [];
  for (let i = 1; i <= o.nodes; i++) {
    const name = `node${i}`;
    const token = o.token ? (o.nodes > 1 ? `${o.token}${i}` : o.token) : `sim-node-${i}`;
    const say = (text) => process.stdout.write(`[${name} ${clockText(Date.now() - started)}] ${text}\n`);
    const relay = await startRelay({
      serverHost: m[1].replace(/^\[|\]$/g, ""),
      serverPort: +m[2] || (secure ? 5684 : 5683),
      onDatagram: (dir, bytes) => say(`* ${dir === "out" ? "->" : "<-"} ${describeDatagram(bytes, { secrets: [token] })}`),
    });
    closers.push(() => relay.close());
    if (o.network.outage) {
      const { startMs, lenMs } = o.network.outage;
      const t = setTimeout(() => { say(`* outage for ${lenMs / 1000} s`); relay.outage(lenMs); }, startMs);
      closers.push(() => clearTimeout(t));
    }
    const node = new InterpreterNode({ dir: path.join(storageRoot, name), variant: o.variant, name, hardware: hardwareFor(board, { failConnects: o.wifiFail }) });
    const config = { server: `${secure ? "coaps" : "coap"}://127.0.0.1:${relay.port}`, token, wifi: { ssid: "sim" } };
    if (o.intervalS !== undefined) config.intervalS = o.intervalS;
    if (o.sleep) config.sleep = true;
    if (o.insecure) config.insecure = true;
    if (o.flash) {
      const files = { ".bootcde": code };
      // The same validation and files as the simulator's node.cfg.
      writeNodeConfig({ write: (n, text) => { files[n] = text; } }, config, { caPem });
      node.writeStorage(files);
    }
    if (server && server.registerDevice) await server.registerDevice(name, token);
    node.on("output", (line) => say(line));
    node.on("reset", () => say("* reset: the interpreter restarts from Storage"));
    node.on("sleep", (us) => say(`* deep sleep for ${(us / 1e6).toFixed(3)} s`));
    const consoleServer = o.console === undefined ? null : await node.serveConsole(o.console + i - 1);
    if (consoleServer) closers.push(consoleServer.close);
    process.stdout.write(`sim: ${name} (${board.name}) on the real Espruino interpreter (${o.variant} build), Storage ${node.dir}` +
      `${consoleServer ? `, console tcp://127.0.0.1:${consoleServer.port}` : ""}\n`);
    nodes.push(node);
  }
  process.stdout.write(`sim: real time${o.duration === undefined ? ", Ctrl-C stops" : `, for ${o.duration} s`}\n`);
  await new Promise((resolve) => {
    process.on("SIGINT", resolve);
    process.on("SIGTERM", resolve);
    if (o.duration !== undefined) setTimeout(resolve, o.duration * 1000);
    for (const n of nodes) n.start();
  });
  await Promise.all(nodes.map((n) => n.stop()));
  for (const c of closers) await c();
  if (server) await server.close();
  if (!o.storage) fs.rmSync(storageRoot, { recursive: true, force: true });
}

main().catch((e) => {
  process.stderr.write(`sim: ${e.message}\n`);
  process.exit(1);
});
