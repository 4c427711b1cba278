#!/usr/bin/env node
// npm run server -- [--port 5683] [--http-port 8080] [--db server.db] [--host 127.0.0.1] [--log-level info]
//                    [--dtls-port 5684 --cert server.pem --key server.key]
import fs from "node:fs";
import { parseArgs } from "node:util";
import { startServer } from "./index.mjs";

const USAGE = `usage: npm run server -- [options]
  --port N            plain CoAP UDP port (default 5683)
  --host ADDR         CoAP bind address (default 127.0.0.1; 0.0.0.0 for real boards on the LAN)
  --http-port N       HTTP API port on 127.0.0.1 (default 8080)
  --db FILE           SQLite database file (default server.db; ":memory:" keeps nothing)
  --log-level LEVEL   silent | error | warn | info | debug (default info)
  --piggyback-ms N    delay of the empty ACK (default 500)
  --rate-limit SPEC   per-device limit like "100:1,3000:60" (default off)
  --dtls-port N       CoAP over DTLS 1.2 on this UDP port (ThingsBoard: 5684); needs --cert and --key
  --cert FILE         the server's certificate (chain), PEM; ECDSA (P-256) as ThingsBoard recommends
  --key FILE          its private key, PEM
  -h, --help`;

let args;
try {
  args = parseArgs({
    options: {
      port: { type: "string" }, host: { type: "string" }, "http-port": { type: "string" }, db: { type: "string" },
      "log-level": { type: "string" }, "piggyback-ms": { type: "string" }, "rate-limit": { type: "string" },
      "dtls-port": { type: "string" }, cert: { type: "string" }, key: { type: "string" }, help: { type: "boolean", short: "h" },
    },
  }).values;
} catch (e) {
  console.error(`${e.message}\n${USAGE}`);
  process.exit(2);
}
if (args.help) { console.log(USAGE); process.exit(0); }

const int = (name, v, dflt) => {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) { console.error(`--${name} must be an integer 0..65535, not "${v}"`); process.exit(2); }
  return n;
};
let dtls = {};
if (args["dtls-port"] !== undefined || args.cert || args.key) {
  if (args["dtls-port"] === undefined || !args.cert || !args.key) {
    console.error("CoAP over DTLS needs all of --dtls-port, --cert and --key");
    process.exit(2);
  }
  const read = (what, file) => {
    try { return fs.readFileSync(file, "utf8"); } catch (e) { console.error(`cannot read the ${what} ${file}: ${e.message}`); process.exit(2); }
  };
  dtls = { dtlsPort: int("dtls-port", args["dtls-port"]), dtlsCert: read("certificate", args.cert), dtlsKey: read("key", args.key) };
}

try {
  const server = await startServer({
    coapPort: int("port", args.port, 5683),
    host: args.host ?? "127.0.0.1",
    httpPort: int("http-port", args["http-port"], 8080),
    dbFile: args.db ?? "server.db",
    logLevel: args["log-level"] ?? "info",
    piggybackTimeoutMs: int("piggyback-ms", args["piggyback-ms"], 500),
    deviceRateLimit: args["rate-limit"] ?? "",
    ...dtls,
  });
  const stop = () => server.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
