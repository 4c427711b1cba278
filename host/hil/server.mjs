// The local ThingsBoard-compatible server (host/server) a HIL run reports to, with a client of its HTTP API
// (host/server/client.mjs).
import { startServer } from "../server/index.mjs";
import { serverClient } from "../server/client.mjs";

/** `options` go to startServer (DTLS port and certificates, ThingsBoard's timers, client-side RPC handlers...). */
export async function startHilServer({ host = "127.0.0.1", port = 0, ...options } = {}) {
  const server = await startServer({ port, host, dbFile: ":memory:", logLevel: "silent", ...options });
  return { ...serverClient(server.httpUrl), server, port: server.coapPort, close: () => server.close() };
}
