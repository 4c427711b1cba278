// A local server that behaves on the wire like ThingsBoard's CoAP device transport, with its data in SQLite and
// an HTTP API on 127.0.0.1. See docs/server.md.
//
// startServer(options) -> Promise<{coapPort, port (= coapPort), dtlsPort, httpPort, httpUrl, db, store, core, handleDatagram, close()}>
//
// Options (all optional; defaults are ThingsBoard's):
//   host               "127.0.0.1"   address for CoAP (UDP); the HTTP API always binds 127.0.0.1
//   coapPort           5683          UDP port for plain CoAP (0 = any free port); "port" is accepted as its alias
//   httpPort           0             HTTP API port (0 = any free port; the CLI uses 8080)
//   dbFile             ":memory:"    SQLite database file (persists devices, telemetry, attributes, RPCs, OTA)
//   logLevel           "info"        silent | error | warn | info | debug;  logSink(line) replaces stderr
//   piggybackTimeoutMs 500           delay before the empty ACK on /api/v1 requests (COAP_PIGGYBACK_TIMEOUT)
//   coapTimeoutMs      10000         client-side RPC: no answer after this (COAP_TIMEOUT)
//   pagingTransmissionWindowMs 10000 CON RPC notification not ACKed within this -> RPC TIMEOUT
//   ackTimeoutMs 2000, ackRandomFactor 1.5, maxRetransmit 4, exchangeLifetimeMs 247000, blockwiseLifetimeMs 300000
//   rpcDefaultTimeoutMs 10000, rpcMinTimeoutMs 5000    server-side RPC expiry (REST "timeout")
//   reportTimeoutMs 3000, inactivityTimeoutMs 600000   device activity ("active" server attribute)
//   claimDurationMs    86400000      claiming window when the device sends durationMs 0
//   jsonTypeCast       true          "42" -> 42 (JSON_TYPE_CAST_ENABLED);  jsonMaxStringValueLength 0 (off)
//   deviceRateLimit    ""            e.g. "100:1,3000:60": over it, requests get 5.00 (tenant profile limits)
//   clientRpcHandlers  {}            {method: (params, device) => result | Promise}: the "rule chain" answering
//                                    client-side RPCs; a method without handler is never answered
//   dtlsPort           null          UDP port for CoAP over DTLS 1.2 (ThingsBoard: 5684; null = off, 0 = free port)
//   dtlsCert, dtlsKey  -             the server's certificate chain and private key (PEM text), needed with dtlsPort
// Other transports can feed datagrams through handleDatagram(peer, bytes) with peer = {id, address, port,
// send(bytes), certificate?} (certificate: the client's PEM or base64 DER, for token-less X.509 requests).

import { createLogger } from "./log.mjs";
import { openStore } from "./db.mjs";
import { createCore } from "./core.mjs";
import { createServerEndpoint } from "./endpoint.mjs";
import { createObservations } from "./observe.mjs";
import { createDeviceApi } from "./device-api.mjs";
import { createProvisioning } from "./provisioning.mjs";
import { createOta } from "./ota.mjs";
import { createRouter } from "./router.mjs";
import { createUdpTransport } from "./udp-transport.mjs";
import { createDtlsTransport } from "./dtls-transport.mjs";
import { createHttpApi } from "./http-api.mjs";
import { createLiveFeed } from "./live.mjs";

export const DEFAULTS = {
  host: "127.0.0.1",
  coapPort: 5683,
  httpPort: 0,
  dbFile: ":memory:",
  logLevel: "info",
  logSink: undefined,
  piggybackTimeoutMs: 500,
  coapTimeoutMs: 10_000,
  pagingTransmissionWindowMs: 10_000,
  ackTimeoutMs: 2000,
  ackRandomFactor: 1.5,
  maxRetransmit: 4,
  exchangeLifetimeMs: 247_000,
  blockwiseLifetimeMs: 300_000,
  rpcDefaultTimeoutMs: 10_000,
  rpcMinTimeoutMs: 5000,
  reportTimeoutMs: 3000,
  inactivityTimeoutMs: 600_000,
  claimDurationMs: 86_400_000,
  jsonTypeCast: true,
  jsonMaxStringValueLength: 0,
  deviceRateLimit: "",
  clientRpcHandlers: {},
  dtlsPort: null,
  dtlsCert: null,
  dtlsKey: null,
};

export async function startServer(userOptions = {}) {
  const { port, ...rest } = userOptions;
  const unknown = Object.keys(rest).filter((k) => !(k in DEFAULTS));
  if (unknown.length) throw new Error(`unknown server option(s): ${unknown.join(", ")}`);
  const options = { ...DEFAULTS, ...(port === undefined ? {} : { coapPort: port }), ...rest };
  if (options.dtlsPort !== null && !(options.dtlsCert && options.dtlsKey)) throw new Error("CoAP over DTLS needs dtlsCert and dtlsKey (PEM)");
  const log = createLogger(options.logLevel, options.logSink);
  const store = openStore(options.dbFile);
  const core = createCore({ store, log, options });
  const live = createLiveFeed({ store, core });
  const endpoint = createServerEndpoint({
    log,
    timing: {
      ackTimeoutMs: options.ackTimeoutMs, ackRandomFactor: options.ackRandomFactor, maxRetransmit: options.maxRetransmit,
      exchangeLifetimeMs: options.exchangeLifetimeMs, blockwiseLifetimeMs: options.blockwiseLifetimeMs,
    },
    onRequest: (ex) => route(ex),
    onResponse: live.response,
  });
  const observations = createObservations({ core, endpoint, log, options, onNotification: live.notification });
  endpoint.onReset = observations.onReset;
  const provisioning = createProvisioning({ core, log });
  const deviceApi = createDeviceApi({ core, observations, provisioning, log, options });
  const route = createRouter({ deviceApi, ota: createOta({ core, log }), log });

  const udp = createUdpTransport({ host: options.host, port: options.coapPort, log, onDatagram: endpoint.receive });
  const dtls = options.dtlsPort === null ? null : createDtlsTransport({ host: options.host, port: options.dtlsPort, cert: options.dtlsCert, key: options.dtlsKey, log, onDatagram: endpoint.receive });
  const http = createHttpApi({ core, observations, live, log, options });
  let coapPort, dtlsPort = null, httpPort;
  try {
    coapPort = await udp.listen();
    if (dtls) dtlsPort = await dtls.listen();
    httpPort = await http.listen(options.httpPort);
  } catch (e) {
    endpoint.close();
    core.close();
    store.close();
    await Promise.all([udp.close().catch(() => {}), dtls?.close().catch(() => {})]);
    throw new Error(`cannot start the server: ${e.message}`);
  }
  log.info("server", `CoAP on udp://${options.host}:${coapPort}${dtls ? `, CoAP over DTLS on ${options.host}:${dtlsPort}` : ""}, HTTP API on http://127.0.0.1:${httpPort}, database ${options.dbFile}`);

  let closing = null;
  return {
    coapPort,
    port: coapPort,
    dtlsPort,
    httpPort,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    db: store.db,
    store,
    core,
    handleDatagram: endpoint.receive,
    close() {
      closing ??= (async () => {
        observations.close();
        live.close();
        endpoint.close();
        await Promise.all([udp.close(), http.close(), dtls?.close()]);
        core.close();
        store.close();
        log.info("server", "stopped");
      })();
      return closing;
    },
  };
}
