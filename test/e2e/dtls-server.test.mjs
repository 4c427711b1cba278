// The shim's server role (host/dtls/server.mjs) with our client: session resumption, RFC 9146 Connection IDs across
// a change of the client's source port, ThingsBoard's optional client certificate, cookies, PSK; and malformed or
// truncated records, which must never crash or trap either side.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import dgram from "node:dgram";
import { createDgramModule } from "../../host/espruino/dgram.mjs";
import { createDtlsModule } from "../../host/dtls/module.mjs";
import { DtlsConfig, DtlsConnection } from "../../host/dtls/connection.mjs";
import { DtlsWasm } from "../../host/dtls/wasm.mjs";
import { createDtlsServer } from "../../host/dtls/server.mjs";
import { createCa, issueCert } from "../../host/dtls/pki.mjs";
import { tempDir } from "../temp-dir.mjs";

const dir = tempDir({ after }, "dtls-server-");
let ca, otherCa, serverCert, nodeCert, strangerCert;
before(() => {
  ca = createCa(dir, "ca");
  otherCa = createCa(dir, "other");
  serverCert = issueCert(ca, "server", { dns: ["localhost"], ips: ["127.0.0.1"] });
  nodeCert = issueCert(ca, "node", { usage: "client" });
  strangerCert = issueCert(otherCa, "stranger", { usage: "client" });
});

/** An echo server: every datagram comes back prefixed with "echo:". */
async function echoServer(options = {}) {
  const server = createDtlsServer({ cert: serverCert.pem, key: serverCert.keyPem, retransmitMinMs: 200, ...options });
  const sessions = [];
  server.on("session", (s) => {
    sessions.push(s);
    s.on("message", (m) => s.send(Buffer.concat([Buffer.from("echo:"), m])));
  });
  const { port } = await server.listen(0);
  return { server, port, sessions };
}

function recordingModule(inboundFilter) {
  const wire = { out: [], in: [] };
  const link = {
    outbound: (bytes, port, address, deliver) => {
      wire.out.push(Buffer.from(bytes));
      deliver(bytes, port, address);
    },
    inbound: (bytes, rinfo, deliver) => {
      wire.in.push(Buffer.from(bytes));
      if (inboundFilter) inboundFilter(bytes, rinfo, deliver);
      else deliver(bytes, rinfo);
    },
  };
  return { dtls: createDtlsModule({ dgram: createDgramModule({ link }), log: () => {} }), wire };
}

/** Opens a socket and resolves once connected: { socket, info, next() -> Promise<next message> }. */
function open(dtls, options) {
  return new Promise((resolve, reject) => {
    const socket = dtls.connect({ retransmitMinMs: 200, retransmitMaxMs: 1600, ...options });
    const inbox = [];
    const waiters = [];
    socket.on("message", (m) => (waiters.length ? waiters.shift()(m) : inbox.push(m)));
    socket.on("error", reject);
    socket.on("connect", (info) => {
      resolve({
        socket,
        info,
        next: (ms = 3000) => new Promise((res, rej) => {
          if (inbox.length) return res(inbox.shift());
          const t = setTimeout(() => rej(new Error("no message")), ms);
          waiters.push((m) => {
            clearTimeout(t);
            res(m);
          });
        }),
      });
    });
  });
}

const closeSocket = (socket) => new Promise((r) => {
  socket.on("close", r);
  socket.close();
});

test("HelloVerifyRequest cookie, then a full handshake and echo", async () => {
  const { server, port } = await echoServer();
  try {
    const { dtls, wire } = recordingModule();
    const c = await open(dtls, { host: "127.0.0.1", port, ca: ca.pem });
    assert.equal(wire.in[0][0], 22);
    assert.equal(wire.in[0][13], 3, "first answer is a HelloVerifyRequest");
    c.socket.send("hello");
    assert.equal(await c.next(), "echo:hello");
    await closeSocket(c.socket);
  } finally {
    await server.close();
  }
});

test("session resumption: the saved session gives an abbreviated handshake without certificates", async () => {
  const { server, port, sessions } = await echoServer();
  try {
    const first = recordingModule();
    const c1 = await open(first.dtls, { host: "127.0.0.1", port, ca: ca.pem });
    assert.equal(c1.info.resumed, false);
    const saved = c1.socket.exportSession();
    assert.equal(typeof saved, "string");
    assert.ok(saved.length > 32);
    await closeSocket(c1.socket);

    const second = recordingModule();
    const c2 = await open(second.dtls, { host: "127.0.0.1", port, ca: ca.pem, session: saved });
    assert.equal(c2.info.resumed, true);
    assert.equal(sessions[1].resumed, true);
    const certificateMessages = (wire) => wire.in.flatMap(plainHandshakeTypes).filter((t) => t === 11).length;
    assert.ok(certificateMessages(first.wire) > 0);
    assert.equal(certificateMessages(second.wire), 0, "no Certificate message when resuming");
    c2.socket.send("again");
    assert.equal(await c2.next(), "echo:again");
    await closeSocket(c2.socket);
  } finally {
    await server.close();
  }
});

/** Handshake message types in the unencrypted (epoch 0) records of a datagram. */
function plainHandshakeTypes(d) {
  const types = [];
  for (let off = 0; off + 13 <= d.length; off += 13 + d.readUInt16BE(off + 11)) {
    if (d[off] === 22 && d.readUInt16BE(off + 3) === 0 && off + 13 < d.length) types.push(d[off + 13]);
  }
  return types;
}

/** A NAT between client and server whose outside port changes on `rebind()`. */
async function nat(serverPort) {
  const inside = dgram.createSocket("udp4");
  let outside = null;
  let client = null;
  const openOutside = () => new Promise((resolve) => {
    const s = dgram.createSocket("udp4");
    s.on("message", (m) => client && inside.send(m, client.port, client.address));
    s.bind(0, "127.0.0.1", () => resolve(s));
  });
  outside = await openOutside();
  inside.on("message", (m, rinfo) => {
    client = rinfo;
    outside.send(m, serverPort, "127.0.0.1");
  });
  await new Promise((r) => inside.bind(0, "127.0.0.1", r));
  return {
    port: inside.address().port,
    outsidePort: () => outside.address().port,
    async rebind() {
      const old = outside;
      outside = await openOutside();
      old.close();
    },
    close() {
      inside.close();
      outside.close();
    },
  };
}

test("an unusable saved session costs only a full handshake, with a warning", async () => {
  const { server, port } = await echoServer();
  try {
    const warnings = [];
    const dtls = createDtlsModule({ log: (l) => warnings.push(l) });
    const c = await open(dtls, { host: "127.0.0.1", port, ca: ca.pem, session: "not a session at all" });
    assert.equal(c.info.resumed, false);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /^DTLS: the saved session cannot be used \(mbedTLS error -0x[0-9a-f]{4}\); doing a full handshake$/);
    await closeSocket(c.socket);
  } finally {
    await server.close();
  }
});

test("Connection ID: the session survives a change of the client's source port", async () => {
  const { server, port, sessions } = await echoServer({ connectionId: true });
  const relay = await nat(port);
  try {
    const { dtls, wire } = recordingModule();
    const c = await open(dtls, { host: "127.0.0.1", port: relay.port, ca: ca.pem, connectionId: true });
    assert.match(sessions[0].connectionId, /^[0-9a-f]{16}$/);
    c.socket.send("before");
    assert.equal(await c.next(), "echo:before");
    const portBefore = sessions[0].peer.port;
    assert.equal(portBefore, relay.outsidePort());

    await relay.rebind();
    c.socket.send("after");
    assert.equal(await c.next(), "echo:after");
    assert.equal(sessions.length, 1, "no new session");
    assert.notEqual(sessions[0].peer.port, portBefore);
    assert.equal(sessions[0].peer.port, relay.outsidePort());
    // Our records carry the server's 8-byte CID.
    const last = wire.out[wire.out.length - 1];
    assert.equal(last[0], 25);
    assert.equal(last.subarray(11, 19).toString("hex"), sessions[0].connectionId);
    await closeSocket(c.socket);
  } finally {
    relay.close();
    await server.close();
  }
});

test("without Connection ID the same port change loses the session", async () => {
  const { server, port, sessions } = await echoServer({ connectionId: true });
  const relay = await nat(port);
  try {
    const { dtls } = recordingModule();
    const c = await open(dtls, { host: "127.0.0.1", port: relay.port, ca: ca.pem, connectionId: false });
    assert.equal(sessions[0].connectionId, null);
    await relay.rebind();
    c.socket.send("lost");
    await assert.rejects(c.next(1000), /no message/);
    await closeSocket(c.socket);
  } finally {
    relay.close();
    await server.close();
  }
});

test("a datagram too large for one record is refused with its size; the session goes on", async () => {
  const { server, port } = await echoServer();
  try {
    const errors = [];
    const c = await open(recordingModule().dtls, { host: "127.0.0.1", port, ca: ca.pem });
    c.socket.on("error", (e) => errors.push(e));
    c.socket.send("x".repeat(2000));
    c.socket.send("small");
    assert.equal(await c.next(), "echo:small");
    assert.equal(errors.length, 1);
    assert.equal(errors[0].code, "TOO_LARGE");
    assert.match(errors[0].message, /^DTLS send: a datagram of 2000 bytes does not fit one record \(at most 9\d\d bytes with this MTU\)$/);
    await closeSocket(c.socket);
  } finally {
    await server.close();
  }
});

test("ThingsBoard mode: a client certificate is requested, optional, and handed to the application", async () => {
  const { server, port, sessions } = await echoServer({ ca: ca.pem, clientCert: "optional" });
  try {
    const der = execFileSync("openssl", ["x509", "-in", nodeCert.cert, "-outform", "DER"]);
    const a = await open(recordingModule().dtls, { host: "127.0.0.1", port, ca: ca.pem, cert: nodeCert.pem, key: nodeCert.keyPem });
    assert.deepEqual(sessions[0].clientCertificate, { der, verified: true });
    const b = await open(recordingModule().dtls, { host: "127.0.0.1", port, ca: ca.pem });
    assert.equal(sessions[1].clientCertificate, null);
    const c = await open(recordingModule().dtls, { host: "127.0.0.1", port, ca: ca.pem, cert: strangerCert.pem, key: strangerCert.keyPem });
    assert.equal(sessions[2].clientCertificate.verified, false);
    for (const x of [a, b, c]) await closeSocket(x.socket);
  } finally {
    await server.close();
  }
});

test("PSK server", async () => {
  const { server, port } = await echoServer({ cert: undefined, key: undefined, psk: "0123456789abcdef", pskIdentity: "node-7" });
  try {
    const c = await open(recordingModule().dtls, { host: "127.0.0.1", port, psk: "0123456789abcdef", pskIdentity: "node-7" });
    assert.match(c.info.cipher, /PSK/);
    c.socket.send("psk");
    assert.equal(await c.next(), "echo:psk");
    await closeSocket(c.socket);
  } finally {
    await server.close();
  }
});

/** Corruptions of a datagram: truncations, bit flips, bad lengths, bad types. Deterministic per seed. */
function* mutations(datagram, count, seed) {
  let x = seed;
  const rand = (n) => {
    x = (x * 1103515245 + 12345) >>> 0;
    return x % n;
  };
  for (let i = 0; i < count; i++) {
    const d = Buffer.from(datagram);
    switch (i % 5) {
      case 0: yield d.subarray(0, rand(d.length)); break;
      case 1: d[rand(d.length)] ^= 1 << rand(8); yield d; break;
      case 2: if (d.length > 12) d.writeUInt16BE(rand(65536), 11); yield d; break;
      case 3: d[0] = [20, 21, 22, 23, 24, 25, 0, 255][rand(8)]; yield d; break;
      default: yield Buffer.concat([d, randomBytes(rand(64))]);
    }
  }
}

test("malformed and truncated records never trap the engine (client and server side)", async () => {
  const wasm = new DtlsWasm();
  const clientConfig = new DtlsConfig({ ca: ca.pem, connectionId: true }, wasm);
  const serverConfig = new DtlsConfig({ role: "server", cert: serverCert.pem, key: serverCert.keyPem, connectionId: true }, wasm);
  // Record one real handshake's datagrams in both directions.
  const toServer = [];
  const toClient = [];
  const client = new DtlsConnection(clientConfig, { hostname: "localhost" });
  let server = new DtlsConnection(serverConfig, { peerId: "peer" });
  client.process();
  for (let round = 0; round < 10 && !(client.state === "established" && server.state === "established"); round++) {
    for (const d of client.takeOutgoing()) {
      toServer.push(d);
      server.feed(d);
      server.process();
    }
    if (server.state === "hello-verify-sent") {
      const hvr = server.takeOutgoing();
      server.free();
      server = new DtlsConnection(serverConfig, { peerId: "peer" });
      for (const d of hvr) {
        toClient.push(d);
        client.feed(d);
        client.process();
      }
      continue;
    }
    for (const d of server.takeOutgoing()) {
      toClient.push(d);
      client.feed(d);
      client.process();
    }
  }
  assert.equal(client.state, "established");
  client.write(Buffer.from("app"));
  toServer.push(...client.takeOutgoing());

  // Feed mutated copies to fresh connections in every phase; the engine must stay alive.
  let fed = 0;
  for (const [i, d] of toClient.entries()) {
    const victim = new DtlsConnection(clientConfig, { hostname: "localhost" });
    victim.process();
    for (const bad of mutations(d, 100, i + 1)) {
      victim.feed(bad);
      victim.process();
      victim.takeOutgoing();
      fed++;
    }
    victim.free();
  }
  for (const [i, d] of toServer.entries()) {
    const victim = new DtlsConnection(serverConfig, { peerId: "peer" });
    for (const bad of mutations(d, 100, 100 + i)) {
      victim.feed(bad);
      victim.process();
      victim.takeOutgoing();
      fed++;
    }
    victim.free();
  }
  // Empty and runt datagrams (anyone can send them) do not end a handshake in progress.
  const fresh = new DtlsConnection(clientConfig, { hostname: "localhost" });
  fresh.process();
  for (const runt of [Buffer.alloc(0), Buffer.from([22]), Buffer.alloc(12, 22)]) {
    fresh.feed(runt);
    fresh.process();
  }
  assert.equal(fresh.state, "handshaking");
  fresh.free();
  // The established pair still works after garbage was fed to it too.
  for (const bad of mutations(toServer[toServer.length - 1], 100, 7)) {
    server.feed(bad);
    server.process();
  }
  client.write(Buffer.from("still alive"));
  const [last] = client.takeOutgoing();
  server.feed(last);
  assert.deepEqual(server.process().map((m) => Buffer.from(m).toString()), ["still alive"]);
  assert.ok(fed > 500);
  assert.equal(wasm.dead, false);
  client.free();
  server.free();
  clientConfig.free();
  serverConfig.free();
});

test("a host with its own socket drives the server through receive() and send", async () => {
  const own = dgram.createSocket("udp4");
  const server = createDtlsServer({ cert: serverCert.pem, key: serverCert.keyPem, send: (bytes, port, address) => own.send(bytes, port, address) });
  own.on("message", (m, rinfo) => server.receive(m, rinfo));
  await new Promise((r) => own.bind(0, "127.0.0.1", r));
  server.on("session", (s) => s.on("message", (m) => s.send(Buffer.concat([Buffer.from("own:"), m]))));
  try {
    const c = await open(recordingModule().dtls, { host: "127.0.0.1", port: own.address().port, ca: ca.pem });
    c.socket.send("hi");
    assert.equal(await c.next(), "own:hi");
    await closeSocket(c.socket);
  } finally {
    await server.close();
    own.close();
  }
});

/** A handshake driven by hand over a Node socket whose port the test chooses (no retransmission: loopback). */
function rawHandshake(socket, serverPort, config) {
  const conn = new DtlsConnection(config, { hostname: "localhost" });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("raw handshake timed out")), 5000);
    const pump = () => {
      conn.process();
      for (const d of conn.takeOutgoing()) socket.send(d, serverPort, "127.0.0.1");
      if (conn.state === "established" || conn.state === "failed") {
        socket.off("message", onMessage);
        clearTimeout(timer);
        if (conn.state === "failed") reject(new Error(conn.error.message));
        else resolve(conn);
      }
    };
    const onMessage = (m) => {
      conn.feed(m);
      pump();
    };
    socket.on("message", onMessage);
    pump();
  });
}

test("a client that restarts from the same port gets a new session; the old one closes", async () => {
  const { server, port, sessions } = await echoServer();
  const socket = dgram.createSocket("udp4");
  await new Promise((r) => socket.bind(0, "127.0.0.1", r));
  const config = new DtlsConfig({ ca: ca.pem });
  try {
    const first = await rawHandshake(socket, port, config);
    const closed = new Promise((r) => sessions[0].on("close", r));
    // The device "reboots": its old connection is simply forgotten, and it starts over from the same port.
    first.free();
    const second = await rawHandshake(socket, port, config);
    await closed;
    assert.equal(sessions.length, 2);
    assert.equal(server.sessionCount, 1);
    const reply = new Promise((r) => socket.once("message", (m) => {
      second.feed(m);
      r(second.process().map((x) => Buffer.from(x).toString()));
    }));
    second.write(Buffer.from("reborn"));
    for (const d of second.takeOutgoing()) socket.send(d, port, "127.0.0.1");
    assert.deepEqual(await reply, ["echo:reborn"]);
    second.free();
  } finally {
    config.free();
    socket.close();
    await server.close();
  }
});

test("at maxSessions the session idle longest gives way to a newcomer", async () => {
  const { server, port, sessions } = await echoServer({ maxSessions: 2 });
  try {
    const a = await open(recordingModule().dtls, { host: "127.0.0.1", port, ca: ca.pem });
    const aErrors = [];
    a.socket.on("error", (e) => aErrors.push(e));
    const aSocketClosed = new Promise((r) => a.socket.on("close", r));
    const b = await open(recordingModule().dtls, { host: "127.0.0.1", port, ca: ca.pem });
    b.socket.send("keep me");
    assert.equal(await b.next(), "echo:keep me");
    const aClosed = new Promise((r) => sessions[0].on("close", r));
    const c = await open(recordingModule().dtls, { host: "127.0.0.1", port, ca: ca.pem });
    await aClosed;
    assert.equal(server.sessionCount, 2);
    b.socket.send("still here");
    assert.equal(await b.next(), "echo:still here");
    c.socket.send("newcomer");
    assert.equal(await c.next(), "echo:newcomer");
    // The evicted client was told with close_notify.
    await aSocketClosed;
    assert.deepEqual(aErrors, [{ code: "CLOSED", message: "the peer closed the connection" }]);
    for (const x of [b, c]) await closeSocket(x.socket);
  } finally {
    await server.close();
  }
});

test("a throwing message listener is reported as an error event and the server keeps serving", async () => {
  const { server, port, sessions } = await echoServer();
  const errors = [];
  server.on("error", (e) => errors.push(e.message));
  try {
    const c = await open(recordingModule().dtls, { host: "127.0.0.1", port, ca: ca.pem });
    sessions[0].on("message", (m) => {
      if (m.toString() === "boom") throw new Error("listener bug");
    });
    c.socket.send("boom");
    c.socket.send("after");
    assert.equal(await c.next(), "echo:boom");
    assert.equal(await c.next(), "echo:after");
    assert.deepEqual(errors, ["listener bug"]);
    await closeSocket(c.socket);
  } finally {
    await server.close();
  }
});

test("the UDP server ignores garbage from unknown peers and keeps serving", async () => {
  const { server, port } = await echoServer();
  const junk = dgram.createSocket("udp4");
  try {
    const garbage = [Buffer.alloc(0), Buffer.from([22]), Buffer.alloc(13, 22), randomBytes(200), Buffer.concat([Buffer.from([25, 0xfe, 0xfd]), randomBytes(40)]),
      Buffer.concat([Buffer.from([23, 0xfe, 0xfd]), Buffer.alloc(10), Buffer.from([0xff, 0xff])])];
    for (const g of garbage) junk.send(g, port, "127.0.0.1");
    const c = await open(recordingModule().dtls, { host: "127.0.0.1", port, ca: ca.pem });
    c.socket.send("fine");
    assert.equal(await c.next(), "echo:fine");
    assert.equal(server.wasm.dead, false);
    await closeSocket(c.socket);
  } finally {
    junk.close();
    await server.close();
  }
});

/** A client that sends its ClientHello, answers the cookie, and then falls silent: a half-open handshake. */
async function halfOpen(serverPort, config) {
  const socket = dgram.createSocket("udp4");
  await new Promise((r) => socket.bind(0, "127.0.0.1", r));
  const conn = new DtlsConnection(config, { hostname: "localhost" });
  const cookieSent = new Promise((resolve) => {
    socket.once("message", (m) => {
      conn.feed(m);
      conn.process();
      for (const d of conn.takeOutgoing()) socket.send(d, serverPort, "127.0.0.1");
      resolve();
    });
  });
  conn.process();
  for (const d of conn.takeOutgoing()) socket.send(d, serverPort, "127.0.0.1");
  await cookieSent;
  return { socket, conn };
}

test("half-open handshakes are bounded apart from sessions, the oldest give way, and they time out", async () => {
  const { server, port } = await echoServer({ maxSessions: 5, maxHandshakes: 20, handshakeTimeoutMs: 1500 });
  const config = new DtlsConfig({ ca: ca.pem });
  const silent = [];
  try {
    for (let i = 0; i < 60; i++) silent.push(await halfOpen(port, config));
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(server.halfOpen.size <= 20, `half-open handshakes held: ${server.halfOpen.size}`);
    assert.equal(server.sessionCount, 0);
    // A real client is still served at once.
    const c = await open(recordingModule().dtls, { host: "127.0.0.1", port, ca: ca.pem });
    c.socket.send("served");
    assert.equal(await c.next(), "echo:served");
    await new Promise((r) => setTimeout(r, 1800));
    assert.equal(server.halfOpen.size, 0, "unfinished handshakes are dropped after handshakeTimeoutMs");
    assert.equal(server.sessionCount, 1);
    await closeSocket(c.socket);
  } finally {
    for (const h of silent) {
      h.conn.free();
      h.socket.close();
    }
    config.free();
    await server.close();
  }
});

test("at maxSessions a ClientHello without a cookie displaces nobody: it gets a HelloVerifyRequest and no state", async () => {
  const { server, port, sessions } = await echoServer({ maxSessions: 1 });
  const config = new DtlsConfig({ ca: ca.pem });
  const socket = dgram.createSocket("udp4");
  await new Promise((r) => socket.bind(0, "127.0.0.1", r));
  try {
    const a = await open(recordingModule().dtls, { host: "127.0.0.1", port, ca: ca.pem });
    let closed = false;
    sessions[0].on("close", () => (closed = true));
    const conn = new DtlsConnection(config, { hostname: "localhost" });
    const answer = new Promise((r) => socket.once("message", r));
    conn.process();
    for (const d of conn.takeOutgoing()) socket.send(d, port, "127.0.0.1");
    const hvr = await answer;
    assert.equal(hvr[0], 22, "a handshake record");
    assert.equal(hvr[13], 3, "HelloVerifyRequest");
    conn.free();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(closed, false, "the established session stays");
    assert.equal(server.byAddress.size, 1, "no state for the cookieless peer");
    a.socket.send("still mine");
    assert.equal(await a.next(), "echo:still mine");
    await closeSocket(a.socket);
  } finally {
    socket.close();
    config.free();
    await server.close();
  }
});
