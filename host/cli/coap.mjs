#!/usr/bin/env node
// `npm run coap -- [options] URI`: one CoAP request (or an observation) with our own CoAP stack (dist/lib/coap.cjs,
// the bundle that is flashed) and, for coaps://, our DTLS module (mbedTLS as WebAssembly). Options follow libcoap's
// coap-client where they exist. Exit status 0 only for a 2.xx answer; otherwise the error in words on stderr.
import fs from "node:fs";
import { coap } from "../lib.mjs";
import { createDgramModule } from "../espruino/dgram.mjs";
import { installE } from "../espruino/E.mjs";
import { createDtlsModule } from "../dtls/module.mjs";
import { maskPath } from "../server/log.mjs";
import { UsageError } from "./args.mjs";

const USAGE = `usage: npm run coap -- [options] URI

  -m METHOD     get (default), post, put, delete, fetch, patch, ipatch
  -t FORMAT     payload content format: text, json, cbor, octet, link, xml, or a number
  -A FORMAT     accepted content format (same names)
  -e TEXT       payload
  -f FILE       payload from a file ("-" for standard input)
  -R FILE       CA certificate(s), PEM: verify the coaps server against them
  -c FILE       client certificate, PEM (with -j)
  -j FILE       client private key, PEM
  -k KEY        pre-shared key (text)
  -u IDENTITY   pre-shared key identity
  -s SECONDS    observe the resource for this long
  -o FILE       write the response payload to FILE (exact bytes) instead of standard output
  -B SECONDS    give up when no answer came within this time (default 90)
  -N            send a non-confirmable request
  -C            ask for a DTLS Connection ID
  -v            show each CoAP message and the DTLS handshake steps
  --insecure    coaps without verifying the server (prints a warning)
  -h            this help

example: npm run coap -- -m POST -t json -e '{"temperature":42}' -R ca-root.pem coaps://localhost/api/v1/TOKEN/telemetry`;

const FORMATS = { text: 0, "text/plain": 0, link: 40, xml: 41, octet: 42, "application/octet-stream": 42, json: 50, "application/json": 50, cbor: 60, "application/cbor": 60 };
const METHODS = { get: 1, post: 2, put: 3, delete: 4, fetch: 5, patch: 6, ipatch: 7 };


/** A URI as text with its access token (the /api/v1 or /fw segment) hidden, for messages. */
function maskUri(text) {
  return String(text).replace(/(\/api\/v1\/)(?!provision(?:[/?#]|$))[^/?#]+|(\/[fs]w\/)[^/?#]+/g, (m, api, fw) => `${api || fw}<token>`);
}

function parseArgs(argv) {
  const o = { verbose: false, insecure: false, confirmable: true, connectionId: false };
  const takes = new Set(["-m", "-t", "-A", "-e", "-f", "-R", "-c", "-j", "-k", "-u", "-s", "-B", "-o"]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (takes.has(a)) {
      if (i + 1 >= argv.length) throw new UsageError(`option ${a} needs a value`);
      o[a] = argv[++i];
    } else if (a === "-v") o.verbose = true;
    else if (a === "-N") o.confirmable = false;
    else if (a === "-C") o.connectionId = true;
    else if (a === "--insecure") o.insecure = true;
    else if (a === "-h" || a === "--help") o.help = true;
    else if (a.startsWith("-") && a !== "-") throw new UsageError(`unknown option ${a} (see --help)`);
    else if (o.uri) throw new UsageError(`only one URI, got ${maskUri(o.uri)} and ${maskUri(a)}`);
    else o.uri = a;
  }
  return o;
}

function format(name, flag) {
  if (name === undefined) return undefined;
  if (/^[0-9]+$/.test(name) && +name < 65536) return +name;
  const f = FORMATS[name.toLowerCase()];
  if (f === undefined) throw new UsageError(`${flag}: unknown content format ${name} (text, json, cbor, octet, link, xml or a number)`);
  return f;
}

function readText(file, what) {
  try {
    return fs.readFileSync(file === "-" ? 0 : file, "latin1");
  } catch (e) {
    throw new UsageError(`cannot read the ${what} ${file}: ${e.code === "ENOENT" ? "no such file" : e.message}`);
  }
}

/**
 * The CoAP endpoint's Transport over a socket of the DTLS module (the Node twin of src/transport/dtls.ts).
 * @param {DtlsModule} dtls
 * @param {DtlsConnectOptions} options
 * @param {(info: { resumed: boolean, cipher: string }) => void} onConnect
 */
function dtlsTransport(dtls, options, onConnect) {
  const E = /** @type {{ E: EspruinoE }} */ (/** @type {unknown} */ (globalThis)).E;
  const socket = dtls.connect(options);
  let onData = (/** @type {Uint8Array} */ _data) => {};
  let onError = (/** @type {{ code: string, message: string }} */ _error) => {};
  socket.on("message", (m) => onData(E.toUint8Array(m)));
  socket.on("error", (e) => onError({ code: "dtls", message: e.message }));
  socket.on("connect", onConnect);
  return {
    send: (data) => socket.send(E.toString(data)),
    onMessage: (h) => (onData = h),
    onError: (h) => (onError = h),
    close: () => socket.close(),
    room: () => socket.maxDatagram(),
  };
}

/** Prints each CoAP message both ways when verbose. */
function traced(transport, coap, log) {
  const show = (dir, bytes) => {
    try {
      const m = coap.decodeMessage(bytes);
      const type = ["CON", "NON", "ACK", "RST"][m.type];
      // ThingsBoard puts the device's access token in the path: it never goes to a log.
      const segments = coap.getOptions(m, coap.Opt.URI_PATH).map(coap.readString);
      const path = segments.length ? maskPath(segments, () => "<token>").slice(1) : "";
      const code = m.code >= 1 && m.code <= 7 ? Object.keys(METHODS)[m.code - 1].toUpperCase() : coap.codeString(m.code);
      log(`${dir} ${type} ${code} mid=${m.messageId} token=${Buffer.from(m.token).toString("hex") || "-"}${path ? " /" + path : ""}` +
        `${m.payload.length ? ` payload=${m.payload.length} bytes` : ""}`);
    } catch (e) {
      log(`${dir} undecodable datagram of ${bytes.length} bytes: ${e.message}`);
    }
  };
  return {
    send: (b) => {
      show("->", b);
      transport.send(b);
    },
    onMessage: (h) => transport.onMessage((b) => {
      show("<-", b);
      h(b);
    }),
    onError: (h) => transport.onError(h),
    close: () => transport.close(),
    room: transport.room && (() => transport.room()),
  };
}

/** The transport to `uri`: UDP, or DTLS with the CA, client certificate or PSK the options give. */
function openTransport(o, uri, log) {
  if (!uri.secure) {
    for (const f of ["-R", "-c", "-j", "-k"]) if (o[f] !== undefined) throw new UsageError(`${f} needs a coaps:// URI`);
    return coap.createUdpTransport(createDgramModule(), uri.host, uri.port);
  }
  const dtls = createDtlsModule({ log, trace: o.verbose ? log : null });
  const options = { host: uri.host, port: uri.port, insecure: o.insecure, connectionId: o.connectionId };
  if (o["-R"]) options.ca = readText(o["-R"], "CA file");
  if (o["-c"] || o["-j"]) {
    if (!o["-c"] || !o["-j"]) throw new UsageError("-c and -j go together");
    options.cert = readText(o["-c"], "certificate file");
    options.key = readText(o["-j"], "key file");
  }
  if (o["-k"] !== undefined) {
    options.psk = Buffer.from(o["-k"], "utf8").toString("latin1");
    options.pskIdentity = o["-u"] === undefined ? "" : o["-u"];
  }
  if (!options.ca && options.psk === undefined && !o.insecure) {
    throw new UsageError("coaps needs -R ca.pem to verify the server (or -k for PSK); --insecure connects without verification");
  }
  return dtlsTransport(dtls, options, (info) => o.verbose && log(`dtls: connected, ${info.cipher}${info.resumed ? " (resumed)" : ""}`));
}

/** A 2.xx answer. */
const success = (m) => m.code >> 5 === 2;

/** Observes for `seconds`, printing each notification; resolves to the exit status (1 if any was an error). */
function observeFor(seconds, { endpoint, request, failOn, print, log, transportError }) {
  return new Promise((resolve, reject) => {
    let status = 0;
    let relation = null;
    const timer = setTimeout(() => {
      relation.cancel(true);
      setTimeout(() => resolve(status), 300);
    }, seconds * 1000);
    failOn((e) => {
      clearTimeout(timer);
      reject(new Error(e.message));
    });
    relation = endpoint.observe(request, (m) => {
      if (!success(m)) status = 1;
      if (!success(m)) log(`error: ${coap.codeString(m.code)}`);
      print(m);
    }, (e) => {
      clearTimeout(timer);
      if (e.code === "closed" || e.code === "deleted") resolve(status);
      else reject(new Error(transportError() ? transportError().message : e.message));
    });
  });
}

async function main(argv) {
  const o = parseArgs(argv);
  if (o.help) {
    console.log(USAGE);
    return 0;
  }
  if (!o.uri) throw new UsageError("a URI is required");
  const methodName = o["-m"] === undefined ? "get" : o["-m"];
  const method = METHODS[methodName.toLowerCase()];
  if (!method) throw new UsageError(`-m: unknown method ${methodName}`);
  if (o["-e"] !== undefined && o["-f"] !== undefined) throw new UsageError("-e and -f cannot be combined");
  const payload = o["-e"] !== undefined ? Buffer.from(o["-e"], "utf8").toString("latin1") : o["-f"] !== undefined ? readText(o["-f"], "payload file") : undefined;
  const observeSeconds = o["-s"] === undefined ? 0 : Number(o["-s"]);
  if (!(observeSeconds >= 0 && observeSeconds <= 86400)) throw new UsageError(`-s: seconds must be 0..86400, not ${o["-s"]}`);
  const waitSeconds = o["-B"] === undefined ? 90 : Number(o["-B"]);
  if (!(waitSeconds > 0 && waitSeconds <= 86400)) throw new UsageError(`-B: seconds must be 1..86400, not ${o["-B"]}`);

  installE();
  let uri;
  try {
    uri = coap.parseUri(o.uri);
  } catch (e) {
    throw new UsageError(e.message.split(o.uri).join(maskUri(o.uri)));
  }
  const log = (line) => process.stderr.write(line + "\n");

  let transport = openTransport(o, uri, log);
  if (o.verbose) transport = traced(transport, coap, log);

  let transportError = null;
  const endpoint = coap.createEndpoint(transport, {});
  const failOn = (h) => transport.onError((e) => {
    transportError = e;
    h(e);
  });
  const request = {
    method,
    options: uri.options,
    payload,
    contentFormat: format(o["-t"], "-t"),
    accept: format(o["-A"], "-A"),
    confirmable: o.confirmable,
    name: `${methodName.toUpperCase()} ${maskPath(uri.options.filter((x) => x.number === coap.Opt.URI_PATH).map((x) => coap.readString(x.value)), () => "<token>")}`,
  };
  // The payload's exact bytes: to -o FILE (each notification replaces the last), or to standard output followed by
  // a newline, as coap-client does.
  const print = (m) => {
    if (o["-o"] !== undefined) fs.writeFileSync(o["-o"], Buffer.from(m.payload));
    else if (m.payload.length) process.stdout.write(Buffer.concat([Buffer.from(m.payload), Buffer.from("\n")]));
  };
  try {
    if (observeSeconds > 0) return await observeFor(observeSeconds, { endpoint, request, failOn, print, log, transportError: () => transportError });
    let deadline;
    const m = await new Promise((resolve, reject) => {
      deadline = setTimeout(() => reject(new Error(`no answer within ${waitSeconds} s`)), waitSeconds * 1000);
      failOn((e) => reject(new Error(e.message)));
      endpoint.request(request, (e, r) => (e ? reject(new Error(transportError ? transportError.message : e.message)) : resolve(r)));
    }).finally(() => clearTimeout(deadline));
    print(m);
    if (!success(m)) {
      log(`error: the server answered ${coap.codeString(m.code)}`);
      return 1;
    }
    return 0;
  } finally {
    endpoint.close();
  }
}

main(process.argv.slice(2)).then(
  (status) => setTimeout(() => process.exit(status), 150),
  (e) => {
    process.stderr.write(`coap: ${e.message}\n`);
    setTimeout(() => process.exit(e instanceof UsageError ? 2 : 1), 150);
  },
);
