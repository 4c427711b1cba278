// Interoperability of the CoAP endpoint (ES5 bundle, Espruino-shaped dgram) with libcoap's coap-server-notls over
// real UDP on 127.0.0.1: GET, POST, PUT, an observed resource, Block1 upload and Block2 download of a large
// resource, and retransmission when the server's datagrams are dropped (-l).
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { spawn } from "node:child_process";
import { coap } from "../../host/lib.mjs";
import { createDgramModule } from "../../host/espruino/dgram.mjs";
import { installE } from "../../host/espruino/E.mjs";
import { freeUdpPort } from "../../host/dtls/peers.mjs";

const { Code, Opt, getOption, getOptions, readString, readUint } = coap;
installE();

/** Is something bound to UDP 127.0.0.1:port? (/proc/net/udp, so that no probe datagram counts against -l.) */
function udpBound(port) {
  const want = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  return fs.readFileSync("/proc/net/udp", "utf8").split("\n").some((l) => l.trim().split(/\s+/)[1] === want);
}

async function startServer(args = []) {
  const port = await freeUdpPort();
  const child = spawn("coap-server-notls", ["-A", "127.0.0.1", "-p", String(port), "-v", "0", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => { stderr += d; });
  const exited = new Promise((r) => child.on("exit", r));
  const stop = async () => {
    child.kill("SIGTERM");
    await exited;
  };
  for (let k = 0; k < 100 && !udpBound(port); k++) await new Promise((r) => setTimeout(r, 50));
  if (!udpBound(port)) {
    await stop();
    assert.fail(`coap-server-notls did not bind UDP ${port}: ${stderr}`);
  }
  return { port, stop };
}

/** An endpoint whose transport counts the datagrams it sends. */
function connect(port, options = {}) {
  const transport = coap.createUdpTransport(createDgramModule(), "127.0.0.1", port, { recvBufferSize: 1500 });
  const counted = { sent: 0 };
  const wrapped = { ...transport, send: (d) => { counted.sent++; transport.send(d); } };
  const ep = coap.createEndpoint(wrapped, { ackTimeout: 200, ...options });
  return { ep, counted };
}

test("libcoap: GET, POST, PUT and a read back, DELETE", async () => {
  const server = await startServer(["-d", "10"]);
  const { ep } = connect(server.port);
  try {
    const index = await ep.request({ path: "/" });
    assert.equal(index.code, Code.CONTENT);
    assert.match(readString(index.payload), /This is a test server made with libcoap/);

    const created = await ep.request({ method: Code.POST, path: "/api/v1/T/telemetry", payload: '{"t":21.5}', contentFormat: 50 });
    assert.equal(created.code, Code.CREATED);
    assert.deepEqual(getOptions(created, Opt.LOCATION_PATH).map(readString), ["api", "v1", "T", "telemetry"]);
    assert.equal(readString((await ep.request({ path: "/api/v1/T/telemetry" })).payload), '{"t":21.5}');
    assert.equal((await ep.request({ method: Code.DELETE, path: "/api/v1/T/telemetry" })).code, Code.DELETED);
    assert.equal((await ep.request({ path: "/api/v1/T/telemetry" })).code, Code.NOT_FOUND);

    const put = await ep.request({ method: Code.PUT, path: "/example_data", payload: "stored by PUT", contentFormat: 0 });
    assert.ok(put.code === Code.CREATED || put.code === Code.CHANGED, coap.codeString(put.code));
    const read = await ep.request({ path: "/example_data" });
    assert.equal(read.code, Code.CONTENT);
    assert.equal(readString(read.payload), "stored by PUT");

    assert.equal((await ep.request({ method: Code.POST, path: "/example_data", payload: "x" })).code, Code.METHOD_NOT_ALLOWED);
    assert.equal((await ep.request({ path: "/no/such/thing" })).code, Code.NOT_FOUND);
    await new Promise((resolve, reject) => ep.ping((e) => (e ? reject(e) : resolve())));
  } finally {
    ep.close();
    await server.stop();
  }
});

test("libcoap: /time observed through several notifications, then cancelled with GET Observe 1", async () => {
  const server = await startServer();
  const { ep } = connect(server.port);
  try {
    const seen = [];
    const ends = [];
    let obs;
    await new Promise((resolve) => {
      obs = ep.observe({ path: "/time" }, (m) => {
        seen.push({ code: m.code, seq: readUint(getOption(m, Opt.OBSERVE) || new Uint8Array(0)), text: readString(m.payload) });
        if (seen.length === 3) resolve();
      }, (e) => ends.push(e));
    });
    obs.cancel();
    assert.ok(seen.every((s) => s.code === Code.CONTENT && /\d\d:\d\d:\d\d/.test(s.text)), JSON.stringify(seen));
    assert.ok(seen[1].seq > seen[0].seq && seen[2].seq > seen[1].seq, "observe numbers increase");
    // After the cancel, no more notifications reach the application.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(seen.length, 3);
    assert.deepEqual(ends, []);
  } finally {
    ep.close();
    await server.stop();
  }
});

test("libcoap -N: NON notifications (every fifth CON) are taken in order; a passive cancel is answered by RST", async () => {
  const server = await startServer(["-N"]);
  const { ep, counted } = connect(server.port);
  try {
    const seqs = [];
    let obs;
    await new Promise((resolve) => {
      obs = ep.observe({ path: "/time", confirmable: false }, (m) => {
        seqs.push(readUint(getOption(m, Opt.OBSERVE)));
        if (seqs.length === 3) resolve();
      }, () => {});
    });
    assert.ok(seqs[0] < seqs[1] && seqs[1] < seqs[2], seqs.join());
    obs.cancel(false);
    const before = counted.sent;
    // The next notification arrives for a token the endpoint no longer knows: it answers RST, libcoap drops the
    // observer, and no more notifications (so no more RSTs) follow.
    await new Promise((r) => setTimeout(r, 2500));
    const rsts = counted.sent - before;
    assert.ok(rsts >= 1 && rsts <= 2, `the next notification was answered (${rsts} datagrams)`);
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(counted.sent - before, rsts, "libcoap sent no more notifications after the RST");
    assert.equal(seqs.length, 3);
  } finally {
    ep.close();
    await server.stop();
  }
});

test("libcoap: a 5000-byte Block1 upload in 64-byte blocks, then a Block2 download of it", async () => {
  const server = await startServer();
  const { ep, counted } = connect(server.port, { blockSzx: 2 });
  try {
    const body = new Uint8Array(5000);
    for (let i = 0; i < body.length; i++) body[i] = 32 + ((i * 31) % 95);
    const put = await ep.request({ method: Code.PUT, path: "/example_data", payload: body, contentFormat: 0 });
    assert.ok(put.code === Code.CREATED || put.code === Code.CHANGED, coap.codeString(put.code));
    assert.ok(counted.sent >= 79, `uploaded block by block (${counted.sent} datagrams)`);
    const before = counted.sent;
    const got = await ep.request({ path: "/example_data" });
    assert.equal(got.code, Code.CONTENT);
    assert.equal(got.payload.length, 5000);
    assert.equal(readString(got.payload), readString(body));
    assert.ok(counted.sent - before >= 79, "downloaded block by block");
  } finally {
    ep.close();
    await server.stop();
  }
});

test("libcoap: default block size: a 3000-byte body moves in 1024-byte blocks both ways", async () => {
  const server = await startServer();
  const { ep, counted } = connect(server.port);
  try {
    const body = new Uint8Array(3000).fill(0x41);
    await ep.request({ method: Code.PUT, path: "/example_data", payload: body });
    assert.equal(counted.sent, 3);
    const got = await ep.request({ path: "/example_data" });
    assert.equal(readString(got.payload), readString(body));
    assert.equal(counted.sent, 6);
  } finally {
    ep.close();
    await server.stop();
  }
});

test("libcoap -l 1,2: the first two responses are lost, the third transmission gets through", async () => {
  const server = await startServer(["-l", "1,2"]);
  const { ep, counted } = connect(server.port, { ackTimeout: 150 });
  try {
    const res = await ep.request({ path: "/" });
    assert.equal(res.code, Code.CONTENT);
    assert.equal(counted.sent, 3);
  } finally {
    ep.close();
    await server.stop();
  }
});

test("libcoap -l 100%: nothing comes back, the request times out after 1 + MAX_RETRANSMIT transmissions", async () => {
  const server = await startServer(["-l", "100%"]);
  const { ep, counted } = connect(server.port, { ackTimeout: 30 });
  try {
    await assert.rejects(ep.request({ path: "/time" }), (e) => e.code === "timeout" && e.message === "CoAP GET /time timed out after 5 transmissions");
    assert.equal(counted.sent, 5);
  } finally {
    ep.close();
    await server.stop();
  }
});
