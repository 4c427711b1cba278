// Shared set-up for the server tests: a server on free ports that is always closed, a raw CoAP client over a real
// UDP socket using the project's codec (to see exact message types and ids), libcoap's coap-client, HTTP helpers.
import dgram from "node:dgram";
import { execFile } from "node:child_process";
import { coap } from "../host/lib.mjs";
import { startServer } from "../host/server/index.mjs";
import { tempDir } from "./temp-dir.mjs";

export { coap };

export const { Type, Code, Opt } = coap;

export { tempDir };

/** A server with fast timers; logs kept in server.logs. Closed after the test. */
export async function testServer(t, options = {}) {
  const logs = [];
  const server = await startServer({
    coapPort: 0, httpPort: 0, logLevel: "debug", logSink: (l) => logs.push(l),
    piggybackTimeoutMs: 150, coapTimeoutMs: 600, ackTimeoutMs: 200, ackRandomFactor: 1, pagingTransmissionWindowMs: 1500,
    rpcMinTimeoutMs: 100, ...options,
  });
  server.logs = logs;
  t.after(() => server.close());
  return server;
}

export async function http(server, method, url, body, headers = {}) {
  const res = await fetch(server.httpUrl + url, {
    method, headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : typeof body === "string" || body instanceof Uint8Array || body instanceof FormData ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Creates a device over HTTP; returns {id, token}. */
export async function createDevice(server, name = "dev-" + Math.random().toString(36).slice(2, 8)) {
  const r = await http(server, "POST", "/api/device", { name });
  if (r.status !== 200) throw new Error(`create device: ${r.status} ${JSON.stringify(r.body)}`);
  return { id: r.body.id.id, token: r.body.credentials.credentialsId, name };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const enc = new TextEncoder();
export const text = (b) => new TextDecoder().decode(b);

/** Options for a path like "api/v1/T/telemetry" (one Uri-Path each), queries, and extra options. */
export function requestOptions(pathStr, { query = [], observe, contentFormat, extra = [] } = {}) {
  const opts = [];
  if (observe !== undefined) opts.push({ number: Opt.OBSERVE, value: coap.uintValue(observe) });
  for (const seg of pathStr.split("/").filter((s) => s !== "")) opts.push({ number: Opt.URI_PATH, value: enc.encode(seg) });
  if (contentFormat !== undefined) opts.push({ number: Opt.CONTENT_FORMAT, value: coap.uintValue(contentFormat) });
  for (const q of query) opts.push({ number: Opt.URI_QUERY, value: enc.encode(q) });
  opts.push(...extra);
  return opts.map((o, i) => [o, i]).sort((a, b) => a[0].number - b[0].number || a[1] - b[1]).map(([o]) => o);
}

/** A raw CoAP peer: every datagram it receives is decoded and queued. */
export async function rawClient(t, server) {
  const sock = dgram.createSocket("udp4");
  const queue = [];
  let waiter = null;
  sock.on("message", (buf) => {
    let m;
    try { m = coap.decodeMessage(new Uint8Array(buf)); } catch (e) { m = { undecodable: e.message }; }
    m.at = Date.now();
    queue.push(m);
    waiter?.();
  });
  await new Promise((r) => sock.bind(0, "127.0.0.1", r));
  t.after(() => new Promise((r) => sock.close(r)));
  let mid = Math.floor(Math.random() * 30000);
  let tok = Math.floor(Math.random() * 1e6);
  const client = {
    port: sock.address().port,
    queue,
    sendRaw: (bytes) => sock.send(bytes, server.coapPort, "127.0.0.1"),
    send(m) {
      const msg = { type: Type.CON, messageId: ++mid & 0xffff, token: new Uint8Array(0), options: [], payload: new Uint8Array(0), ...m };
      client.sendRaw(coap.encodeMessage(msg));
      return msg;
    },
    /** A request; path "api/v1/T/telemetry"; payload string or bytes. */
    request(code, pathStr, { type = Type.CON, payload = "", token, ...o } = {}) {
      return client.send({
        type, code, token: token ?? Uint8Array.of(0xa0, (++tok >> 16) & 255, (tok >> 8) & 255, tok & 255),
        options: o.options ?? requestOptions(pathStr, o), payload: typeof payload === "string" ? enc.encode(payload) : payload,
      });
    },
    ack: (m) => client.send({ type: Type.ACK, code: 0, messageId: m.messageId }),
    rst: (m) => client.send({ type: Type.RST, code: 0, messageId: m.messageId }),
    /** The next received message (optionally the next matching one), failing after ms. */
    async next(ms = 3000, match = () => true) {
      const deadline = Date.now() + ms;
      for (;;) {
        const i = queue.findIndex(match);
        if (i >= 0) return queue.splice(i, 1)[0];
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no CoAP message within ${ms} ms`);
        await new Promise((r) => { waiter = r; setTimeout(r, Math.min(left, 50)); });
        waiter = null;
      }
    },
    /** Asserts that nothing (matching) arrives for ms. */
    async nothing(ms, match = () => true) {
      await sleep(ms);
      const i = queue.findIndex(match);
      if (i >= 0) throw new Error(`unexpected message: ${describe(queue[i])}`);
    },
  };
  return client;
}

export function describe(m) {
  if (m.undecodable) return `undecodable: ${m.undecodable}`;
  return `${["CON", "NON", "ACK", "RST"][m.type]} ${coap.codeString(m.code)} mid=${m.messageId} ${text(m.payload)}`;
}

export const optionUint = (m, n) => { const v = coap.getOption(m, n); return v === undefined ? undefined : coap.readUint(v); };
export const sameToken = (a, b) => Buffer.from(a.token).equals(Buffer.from(b.token));

/** Runs libcoap's coap-client-notls (asynchronously: the server runs in this process). */
export function coapClient(args, timeoutMs = 20000) {
  return new Promise((resolve) => {
    execFile("coap-client-notls", args, { encoding: "buffer", timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code ?? err.signal : 0, stdout, stderr: stderr.toString("utf8") });
    });
  });
}
