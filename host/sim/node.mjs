// One simulated sensor node: Espruino's interpreter as WebAssembly on a simulated board (host/engine/node.mjs) with
// its own clock, its network link, its flash image in its Storage folder, the firmware bundle flashed as boot code
// and, optionally, its TCP console.
import fs from "node:fs";
import path from "node:path";
import { nodeLib } from "../lib.mjs";
import { loadBoard } from "../../boards/board-file.mjs";
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
 * Validates `config` with the firmware's own validator (host/lib.mjs) and writes it to Storage as node.cfg,
 * with the CA certificate's PEM text (`caPem`) as node.ca. Throws naming every bad field.
 * @param {{ write(name: string, data: string): unknown }} storage
 * @param {object} config
 * @param {{ caPem?: string }} [options]
 */
export function writeNodeConfig(storage, config, { caPem } = {}) {
  const cfg = { ...config };
  if (caPem !== undefined) cfg.ca = CA_FILE;
  const { errors } = nodeLib.validateConfig(cfg);
  if (errors.length) throw new Error(`bad node configuration:\n  ${errors.join("\n  ")}`);
  if (caPem !== undefined) storage.write(CA_FILE, caPem);
  storage.write(CONFIG_FILE, JSON.stringify(cfg));
}

/**
 * @param {object} o
 * @param {string|object} [o.board] board id or a loaded board (default "sim")
 * @param {string} o.storageDir this node's folder (its flash image, flash.bin)
 * @param {string|null} [o.bundle] code flashed as .bootcde (default dist/<board>/firmware.js; null keeps Storage)
 * @param {string} [o.name]
 * @param {"virtual"|"real"} [o.clock]
 * @param {number} [o.speed]
 * @param {number} [o.seed] run seed; the node's own seeds derive from it and its name
 * @param {object} [o.network] link conditions (link.mjs) plus natRebindAtMs: when the node's port changes
 * @param {object} [o.config] node.cfg contents
 * @param {string} [o.caPem] the CA certificate's text, written as node.ca
 * @param {number|null} [o.consolePort] TCP console port (0 = any free one, null = no console)
 * @param {object} [o.wifi] the simulated access point
 * @param {number|"host"} [o.rtcMs] RTC at power-on (0: 1970, as an ESP32's until SNTP sets it)
 * @param {number} [o.epochMs] the real time at simulated time 0
 * @param {Record<string, string>} [o.files] more Storage files (name -> 8-bit text), written before power-on
 */
export async function createSimNode({
  board = "sim",
  storageDir,
  bundle,
  name = "node1",
  clock = "virtual",
  speed,
  seed = 1,
  network = {},
  config,
  caPem,
  consolePort = null,
  wifi,
  rtcMs,
  epochMs,
  files = {},
}) {
  const b = typeof board === "string" ? loadBoard(boardFile(board)) : board;
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
