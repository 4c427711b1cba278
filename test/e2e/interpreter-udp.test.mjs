// The real interpreter's UDP as a board's (Espruino's Linux build, ESP32-like variant): a socket with the node's
// receive buffer keeps datagrams that arrive together while the interpreter is busy, and an idle interpreter with a
// socket open leaves the CPU to the rest of the machine (firmware/espruino/hardware/jswrap_node_linux.c).
import test from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import fs from "node:fs";
import { interpreterNode } from "../sim-support.mjs";

/**
 * A powered-on interpreter (Storage and hardware files in a folder of its own) that was typed `code` on its console,
 * once it printed a line matching `until`. The console echoes the code: a mark it prints is split in the code.
 */
async function interpreterUntil(t, code, until) {
  const node = interpreterNode(t, "interpreter-udp-", {});
  node.start();
  node.write(code.replace(/\n/g, " ") + "\n");
  await node.waitForOutput(until);
  return node;
}

test("an empty ACK and a 1 kB response arriving together while the interpreter is busy both reach the node's socket", async (t) => {
  const peer = dgram.createSocket("udp4");
  t.after(() => peer.close());
  await new Promise((r) => peer.bind(0, "127.0.0.1", () => r(undefined)));
  // On "go", what the local server sends for an OTA chunk: an empty ACK, then a separate 2.05 of 1,033 bytes.
  peer.on("message", (m, r) => {
    if (m.toString() !== "go") return;
    peer.send(Buffer.from([0x60, 0x00, 0x12, 0x34]), r.port, r.address);
    peer.send(Buffer.alloc(1033, 0x41), r.port, r.address);
  });
  const node = await interpreterUntil(t, `
    var sizes = [];
    var s = require("dgram").createSocket({ type: "udp4", recvBufferSize: 1152 });
    s.on("message", function (m) { sizes.push(m.length); });
    s.send("go", ${peer.address().port}, "127.0.0.1");
    setTimeout(function () { var t0 = getTime(); while (getTime() - t0 < 0.2); }, 1);
    setTimeout(function () { print("AFT" + "ER " + sizes.join(",")); }, 1500);`, /^AFTER [\d,]*$/);
  assert.ok(node.lines.includes("AFTER 4,1033"), `both datagrams arrived, in order:\n${node.lines.join("\n")}`);
});

test("an idle interpreter with a socket open sleeps between passes instead of keeping a core busy", async (t) => {
  const node = await interpreterUntil(t, `
    var s = require("dgram").createSocket("udp4"); s.bind(0);
    setTimeout(function () { print("ID" + "LE"); }, 100);`, /^IDLE$/);
  // The process's CPU time (user and system, in clock ticks of 10 ms) over two seconds with an open socket and no
  // timer due: Espruino's loop never sleeps then, and without the rest it took all of a core (about 200 ticks).
  const cpuTicks = () => fs.readFileSync(`/proc/${node.proc.pid}/stat`, "utf8").split(") ")[1].split(" ").slice(11, 13).reduce((a, b) => a + Number(b), 0);
  const before = cpuTicks();
  await new Promise((r) => setTimeout(r, 2000));
  const used = cpuTicks() - before;
  assert.ok(used < 60, `the idle interpreter used ${used} ticks of CPU in 2 s (at most 60 expected)`);
});
