// Shared set-up for the simulator tests: temporary Storage folders, nodes that are always stopped, UDP peers.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import dgram from "node:dgram";
import { createSimNode } from "../host/sim/node.mjs";
import { InterpreterNode } from "../host/interpreter/interpreter.mjs";
import { tempDir } from "./temp-dir.mjs";

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");

export { tempDir };

/**
 * A node on the real interpreter (InterpreterNode, or `NodeClass` such as the WebAssembly engine's EngineNode) with its
 * Storage in a temporary folder. After the test the node is stopped first
 * and only then its folder removed: a running interpreter writes there, and removing under it fails.
 */
export function interpreterNode(t, prefix, options, NodeClass = InterpreterNode) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return removedAfterStop(t, dir, new NodeClass({ dir, ...options }));
}

/** After the test, `node` is stopped and only then its folder `dir` removed. */
function removedAfterStop(t, dir, node) {
  t.after(async () => {
    await node.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return node;
}

/** What a build reads; with `tools`, also the host tools and what they load (dist/, build/). */
const BUILD_INPUTS = ["src", "boards", "scripts", "tsconfig.json", "package.json", "package-lock.json"];

/**
 * A copy of the project in a temporary folder (removed after the test), for tests that change sources or build
 * other bundles without touching this tree: the build's inputs, node_modules linked; with `tools`, host/ and dist/
 * copied and build/ linked too, so the copy's commands run on their own.
 */
export function copyProject(t, prefix, { tools = false } = {}) {
  const dir = tempDir(t, prefix);
  for (const name of [...BUILD_INPUTS, ...(tools ? ["host", "dist"] : [])]) fs.cpSync(path.join(ROOT, name), path.join(dir, name), { recursive: true });
  for (const name of ["node_modules", ...(tools ? ["build"] : [])]) fs.symlinkSync(path.join(ROOT, name), path.join(dir, name), "dir");
  return dir;
}

/** A started node whose loop and console are stopped when the test ends. */
export async function startNode(t, options = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sim-test-"));
  const node = removedAfterStop(t, dir, await createSimNode({ storageDir: dir, ...options }));
  node.traces = [];
  node.device.on("trace", (e) => node.traces.push(e));
  // Each console line with how many traces (pins, analog reads, datagrams...) had happened when it was printed.
  node.outputs = [];
  node.device.on("output", (line) => node.outputs.push({ line, traces: node.traces.length }));
  node.done = node.start(options.untilMs === undefined ? {} : { untilMs: options.untilMs });
  return node;
}

/** A real UDP socket on 127.0.0.1 (closed after the test); `received` collects {bytes, port}. */
export async function udpPeer(t, onMessage) {
  const sock = dgram.createSocket("udp4");
  const received = [];
  sock.on("message", (buf, rinfo) => {
    received.push({ bytes: buf, port: rinfo.port });
    if (onMessage) onMessage(buf, rinfo, sock);
  });
  await new Promise((resolve) => sock.bind(0, "127.0.0.1", resolve));
  t.after(() => new Promise((resolve) => sock.close(resolve)));
  return { sock, port: sock.address().port, received };
}

/** Resolves when `predicate()` (sync or async) holds, polling every 10 ms for at most `ms` real milliseconds. */
export async function until(predicate, ms = 10000, what = "condition") {
  const end = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Firmware-side CoAP client code (ES5, runs in the device): a CON GET with RFC 7252 retransmission. */
export const COAP_GET_SOURCE = `
function coapGet(port, mid, ackTimeoutMs, maxRetransmit, done) {
  var s = require("dgram").createSocket("udp4");
  var req = String.fromCharCode(0x40, 0x01, mid >> 8, mid & 255);
  var tries = 0, timer = 0, timeout = ackTimeoutMs;
  function send() {
    tries++;
    print("coap: send #" + tries + " at " + Math.round(getTime() * 1000));
    s.send(req, port, "127.0.0.1");
    timer = setTimeout(function () {
      if (tries > maxRetransmit) { s.close(); done("timeout", tries); return; }
      timeout *= 2;
      send();
    }, timeout);
  }
  s.on("message", function (msg, rinfo) {
    if (msg.charCodeAt(2) !== (mid >> 8) || msg.charCodeAt(3) !== (mid & 255)) return;
    clearTimeout(timer);
    s.close();
    var code = msg.charCodeAt(1);
    done(null, tries, (code >> 5) + "." + ("0" + (code & 31)).slice(-2), msg, rinfo);
  });
  send();
}
`;
