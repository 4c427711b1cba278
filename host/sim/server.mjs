// The server a simulation talks to when none is given: the project's local ThingsBoard-compatible server
// (host/server/index.mjs). libcoap's coap-server-notls is here too, as a peer for the link tests.
import { spawn } from "node:child_process";
import dgram from "node:dgram";
import { freeUdpPort } from "../dtls/peers.mjs";
import { serverClient } from "../server/client.mjs";

const DASHBOARD_PORT = 8080;

/** Starts libcoap's plain-CoAP server on 127.0.0.1:port; resolves once it answers. */
export async function startLibcoapServer({ port, extraArgs = [] }) {
  const child = spawn("coap-server-notls", ["-A", "127.0.0.1", "-p", String(port), ...extraArgs], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const spawnError = await new Promise((resolve) => {
    child.once("error", resolve);
    child.once("spawn", () => resolve(null));
  });
  if (spawnError) {
    throw new Error(`cannot start coap-server-notls (${spawnError.message}); install libcoap3-bin (npm run setup does)`);
  }
  // However this process ends (an exception, a closed output pipe), the server must not outlive it.
  const killOnExit = () => child.kill("SIGTERM");
  process.once("exit", killOnExit);
  try {
    await waitForCoap(port, () => child.exitCode !== null, () => stderr);
  } catch (e) {
    child.kill("SIGTERM");
    process.off("exit", killOnExit);
    throw e;
  }
  return {
    kind: "coap-server-notls",
    port,
    async close() {
      process.off("exit", killOnExit);
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
}

/** Pings (empty CON) until the server answers with RST, up to ~5 s. */
async function waitForCoap(port, dead, stderr) {
  const sock = dgram.createSocket("udp4");
  try {
    for (let attempt = 0; attempt < 50; attempt++) {
      if (dead()) throw new Error(`coap-server-notls exited: ${stderr().trim() || "no message"}`);
      const answered = await new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), 100);
        sock.once("message", () => {
          clearTimeout(timer);
          resolve(true);
        });
        sock.send(Buffer.from([0x40, 0x00, 0x12, 0x34]), port, "127.0.0.1");
      });
      if (answered) return;
    }
    throw new Error(`coap-server-notls did not answer on 127.0.0.1:${port}`);
  } finally {
    sock.close();
  }
}

/**
 * Starts the default local server on a free port (or `port`), its dashboard on `httpPort` (by default 8080, or a free
 * port when 8080 is taken). Resolves to { kind, port, server (what startServer returned), close(), registerDevice(name, token) }.
 * @param {{ port?: number, httpPort?: number }} [options]
 */
export async function startDefaultServer({ port, httpPort } = {}) {
  const { startServer } = await import("../server/index.mjs");
  const start = async (http) => startServer({ port: port || (await freeUdpPort()), host: "127.0.0.1", httpPort: http });
  let server;
  try {
    server = await start(httpPort ?? DASHBOARD_PORT).catch((e) => {
      if (httpPort === undefined && /EADDRINUSE/.test(e.message)) return start(0);
      throw e;
    });
  } catch (e) {
    // No quiet fallback to another server: the node would be reporting somewhere else than the user thinks.
    throw new Error(`the local server (host/server) did not start: ${e.message.split("\n")[0]}`);
  }
  return {
    kind: "host/server",
    port: server.port,
    server,
    close: () => server.close(),
    registerDevice: (name, token) => serverClient(server.httpUrl).createDevice(name, token, { type: "simulated node" }),
  };
}

