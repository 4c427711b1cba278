#!/usr/bin/env node
// npm run server -- [--port 5683] [--http-port 8080] [--db server.db] [--host 127.0.0.1] [--log-level info]
//                    [--dtls-port 5684 --cert server.pem --key server.key]
import fs from "node:fs";
import { parseArgs, UsageError } from "../cli/args.mjs";
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

const SPEC = {
  "--port": "string", "--host": "string", "--http-port": "string", "--db": "string", "--log-level": "string",
  "--piggyback-ms": "string", "--rate-limit": "string", "--dtls-port": "string", "--cert": "string", "--key": "string",
  "--help": "flag",
};

function fail(message) {
  process.stderr.write(`server: ${message}\n`);
  process.exit(2);
}

let args;
try {
  args = parseArgs(process.argv.slice(2).map((a) => (a === "-h" ? "--help" : a)), SPEC);
  if (args._.length) throw new UsageError(`unexpected argument ${args._[0]} (see --help)`);
} catch (e) {
  fail(e.message);
}
if (args.help) {
  process.stdout.write(USAGE + "\n");
  process.exit(0);
}

const int = (name, v, dflt) => {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) fail(`--${name} must be an integer 0..65535, not "${v}"`);
  return n;
};
let dtls = {};
if (args.dtlsPort !== undefined || args.cert || args.key) {
  if (args.dtlsPort === undefined || !args.cert || !args.key) fail("CoAP over DTLS needs all of --dtls-port, --cert and --key");
  const read = (what, file) => {
    try {
      return fs.readFileSync(file, "utf8");
    } catch (e) {
      return fail(`cannot read the ${what} ${file}: ${e.code === "ENOENT" ? "no such file" : e.message}`);
    }
  };
  dtls = { dtlsPort: int("dtls-port", args.dtlsPort), dtlsCert: read("certificate", args.cert), dtlsKey: read("key", args.key) };
}

try {
  const server = await startServer({
    coapPort: int("port", args.port, 5683),
    host: args.host ?? "127.0.0.1",
    httpPort: int("http-port", args.httpPort, 8080),
    dbFile: args.db ?? "server.db",
    logLevel: args.logLevel ?? "info",
    piggybackTimeoutMs: int("piggyback-ms", args.piggybackMs, 500),
    deviceRateLimit: args.rateLimit ?? "",
    ...dtls,
  });
  process.stdout.write(`server: dashboard ${server.httpUrl}/\n`);
  const stop = () => server.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
} catch (e) {
  process.stderr.write(`server: ${e.message}\n`);
  process.exit(1);
}
