// One simulated sensor node: a Device (host/espruino/device.mjs) with its own clock, its network link, its Storage
// folder, the firmware bundle flashed as boot code and, optionally, its TCP console.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { loadBoard } from "../../scripts/board.mjs";
import { Device } from "../espruino/device.mjs";
import { Scheduler } from "../espruino/scheduler.mjs";
import { startConsoleServer } from "../espruino/console.mjs";
import { seedFrom } from "../espruino/random.mjs";
import { createLink } from "./link.mjs";
import { EngineNode } from "../engine/node.mjs";

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");
/** The Storage file the firmware reads its configuration from (src/node/config.ts CONFIG_FILE). */
export const CONFIG_FILE = "node.cfg";
/** The Storage file the CA certificate (PEM) given with --ca is written to; node.cfg names it in "ca". */
export const CA_FILE = "node.ca";

/**
 * The local address a node's sockets bind to: loopback for a server on this machine (the tests' only kind), any
 * interface for a server elsewhere, such as a real ThingsBoard given with --server.
 */
export function bindAddressFor(serverUri) {
  const m = /^coaps?:\/\/(\[[^\]]*\]|[^/:?]+)/i.exec(serverUri || "");
  const host = m ? m[1].replace(/^\[|\]$/g, "").toLowerCase() : "127.0.0.1";
  return host === "localhost" || /^127\./.test(host) || host === "::1" ? "127.0.0.1" : "0.0.0.0";
}

export function boardFile(id) {
  return path.join(ROOT, "boards", `${id}.json`);
}

export function bundleFile(id) {
  return path.join(ROOT, "dist", id, "firmware.js");
}

/**
 * Validates `config` with the firmware's own validator (dist/lib/node.cjs) and writes it to Storage as node.cfg,
 * with the CA certificate's PEM text (`caPem`) as node.ca. Throws naming every bad field.
 */
export function writeNodeConfig(storage, config, { caPem } = {}) {
  const cfg = { ...config };
  if (caPem !== undefined) cfg.ca = CA_FILE;
  const lib = path.join(ROOT, "dist", "lib", "node.cjs");
  if (fs.existsSync(lib)) {
    const { validateConfig } = createRequire(import.meta.url)(lib);
    const { errors } = validateConfig(cfg);
    if (errors.length) throw new Error(`bad node configuration:\n  ${errors.join("\n  ")}`);
  }
  if (caPem !== undefined) storage.write(CA_FILE, caPem);
  storage.write(CONFIG_FILE, JSON.stringify(cfg));
}

/**
 * The DTLS module from host/dtls (the WebAssembly build of the firmware's shim), on the device's dgram module (so the
 * link's conditions apply), printing its warnings on the device's console, and checking certificate validity
 * against the device's RTC (a node that never set its clock fails as it would on a board).
 */
export async function defaultModules() {
  const file = path.join(ROOT, "host", "dtls", "module.mjs");
  if (!fs.existsSync(file)) return {};
  const { createDtlsModule } = await import(pathToFileURL(file).href);
  return {
    DTLS: (env) => {
      const dtls = createDtlsModule({ dgram: env.dgram, log: (line) => env.device.print(line), unixTime: () => env.device.rtcMs() / 1000 });
      const io = env.device.scheduler.io;
      return Object.assign(new env.realm.Object(), {
        connect(options) {
          const socket = dtls.connect(options);
          // The handshake retransmits on real timers: keep real pace until it ends.
          const release = io.hold();
          for (const event of ["connect", "error", "close"]) socket.on(event, release);
          // Afterwards the virtual clock follows the CoAP inside the records, as it does for plain CoAP.
          const peer = { address: options.host, port: options.port };
          io.plaintextFrom(peer.address, peer.port);
          const send = socket.send;
          socket.send = function (message) {
            // The record goes out (or is lost on the link) within send(): plaintext whose record was lost waits for
            // nothing.
            let lost = false;
            let recorded = false; // a record left (or was lost): a send before the handshake only queues
            const onTrace = (e) => {
              if (e.type === "link" && e.dir === "out" && (e.fate === "lost" || e.fate === "outage")) lost = true;
              if ((e.type === "udp" || e.type === "link") && e.dir === "out") recorded = true;
            };
            env.device.on("trace", onTrace);
            try {
              return send.apply(this, arguments);
            } finally {
              env.device.off("trace", onTrace);
              if (typeof message === "string" && recorded) {
                const bytes = Buffer.from(message, "latin1");
                // What the record carries, for the simulator's trace (a real capture would show only ciphertext).
                env.device.trace({ type: "dtls-data", dir: "out", bytes, port: peer.port, lost });
                if (!lost) io.sent(bytes, peer.port, peer.address);
              }
            }
          };
          socket.on("message", (message) => {
            const bytes = Buffer.from(String(message), "latin1");
            env.device.trace({ type: "dtls-data", dir: "in", bytes, port: peer.port });
            io.received(bytes, peer);
          });
          return socket;
        },
      });
    },
  };
}

/**
 * @param {object} o
 * @param {string|object} [o.board] board id or a loaded board (default "sim")
 * @param {string} o.storageDir this node's Storage folder
 * @param {string|null} [o.bundle] code flashed as .bootcde (default dist/<board>/firmware.js; null keeps Storage)
 * @param {string} [o.name]
 * @param {"virtual"|"real"} [o.clock]
 * @param {number} [o.speed]
 * @param {number} [o.settleMs]
 * @param {number} [o.seed] run seed; the node's own seeds derive from it and its name
 * @param {object} [o.network] link conditions (link.mjs) plus natRebindAtMs: when the node's port changes
 * @param {object} [o.config] node.cfg contents; [o.caPem] CA certificate text
 * @param {number|null} [o.consolePort] TCP console port (0 = any free one, null = no console)
 * @param {object} [o.wifi] the simulated access point
 * @param {object} [o.modules] module providers by name, replacing the defaults (DTLS from host/dtls)
 * @param {number|"host"} [o.rtcMs] RTC at power-on
 * @param {"wasm"|"emulation"} [o.engine] Espruino's interpreter as WebAssembly, or the emulation of it
 * @param {Record<string, string>} [o.files] more Storage files (name -> 8-bit text), written before power-on
 */
export async function createSimNode({
  board = "sim",
  storageDir,
  bundle,
  name = "node1",
  clock = "virtual",
  speed,
  settleMs,
  seed = 1,
  network = {},
  config,
  caPem,
  consolePort = null,
  wifi,
  modules = {},
  rtcMs,
  epochMs,
  engine = process.env.SIM_ENGINE || "wasm",
  files = {},
}) {
  const b = typeof board === "string" ? loadBoard(boardFile(board)) : board;
  if (engine === "wasm") {
    const device = new EngineNode({ board: b, dir: storageDir, name, clock, speed, seed, network, wifi, epochMs, rtcMs,
      bindAddress: bindAddressFor(config && config.server) });
    const code = bundle === undefined ? fs.readFileSync(bundleFile(b.id), "latin1") : bundle;
    if (code !== null) device.flash(code);
    if (config) writeNodeConfig(device.storage, config, { caPem });
    for (const [file, content] of Object.entries(files)) device.storage.write(file, content);
    if (network.natRebindAtMs !== undefined) {
      device.scheduler.addTimer(() => device.rebindSockets(), network.natRebindAtMs, { kind: "internal" });
    }
    const consoleServer = consolePort === null ? null : await device.serveConsole(consolePort);
    return {
      name,
      board: b,
      device,
      scheduler: device.scheduler,
      link: device.link,
      console: consoleServer,
      start: (opts) => device.start(opts),
      async stop() {
        await device.stop();
        if (consoleServer) await consoleServer.close();
      },
    };
  }
  const scheduler = new Scheduler({ clock, speed, settleMs, onError: () => {} });
  const nodeSeed = seedFrom(`${seed}/${name}`);
  let device = null;
  const link = createLink({
    scheduler,
    seed: nodeSeed,
    conditions: network,
    onTrace: (e) => {
      if (e.dir === "in" && (e.fate === "lost" || e.fate === "outage")) scheduler.io.droppedInbound(e.bytes, e.peer);
      if (device) device.trace(e);
    },
  });
  const providers = { ...(await defaultModules()), ...modules };
  device = new Device({ board: b, storageDir, scheduler, name, link, seed: nodeSeed, wifi, modules: providers, rtcMs, epochMs,
    bindAddress: bindAddressFor(config && config.server) });
  const code = bundle === undefined ? fs.readFileSync(bundleFile(b.id), "latin1") : bundle;
  if (code !== null) device.flash(code);
  if (config) writeNodeConfig(device.storage, config, { caPem });
  if (network.natRebindAtMs !== undefined) {
    scheduler.addTimer(() => device.rebindSockets(), network.natRebindAtMs, { kind: "internal" });
  }
  const consoleServer = consolePort === null ? null : await startConsoleServer(device, { port: consolePort });
  return {
    name,
    board: b,
    device,
    scheduler,
    link,
    console: consoleServer,
    start: (opts) => device.start(opts),
    async stop() {
      await device.stop();
      if (consoleServer) await consoleServer.close();
    },
  };
}
