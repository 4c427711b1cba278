// The WebAssembly DTLS client (host/dtls/module.mjs, the firmware's DTLS module on Node) against real peers:
// openssl s_server -dtls1_2 and libcoap's coap-server-openssl, with certificates made here by openssl.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createDgramModule, directLink } from "../../host/espruino/dgram.mjs";
import { createDtlsModule } from "../../host/dtls/module.mjs";
import { createCa, issueCert } from "../../host/dtls/pki.mjs";
import { startOpensslServer, startCoapServer, coapGet } from "../../host/dtls/peers.mjs";
import { tempDir } from "../temp-dir.mjs";

const dir = tempDir({ after }, "dtls-client-");
let ca, ecServer, rsaCa, rsaServer, client;
before(() => {
  ca = createCa(dir, "ca");
  ecServer = issueCert(ca, "ec-server", { dns: ["localhost"], ips: ["127.0.0.1"] });
  client = issueCert(ca, "node", { usage: "client" });
  rsaCa = createCa(dir, "rsaca", { type: "rsa" });
  rsaServer = issueCert(rsaCa, "rsa-server", { type: "rsa", dns: ["localhost"], ips: ["127.0.0.1"] });
});

/** A DTLS module whose datagrams are recorded (`wire.out`, `wire.in`) and optionally dropped by `dropOut(n)`. */
function recordingModule({ dropOut, dropIn } = {}) {
  const wire = { out: [], in: [] };
  let sent = 0;
  const link = {
    outbound: (bytes, port, address, deliver) => {
      wire.out.push(bytes);
      if (dropOut && dropOut(++sent)) return;
      directLink.outbound(bytes, port, address, deliver);
    },
    inbound: (bytes, rinfo, deliver) => {
      wire.in.push(bytes);
      if (dropIn && dropIn(Buffer.from(bytes))) return;
      directLink.inbound(bytes, rinfo, deliver);
    },
  };
  const warnings = [];
  const dtls = createDtlsModule({ dgram: createDgramModule({ link }), log: (l) => warnings.push(l) });
  return { dtls, wire, warnings };
}

/** Connects, sends `request` and resolves with the first reply; rejects with the socket's error object. */
function exchange(dtls, options, request, { timeoutMs = 8000 } = {}) {
  return new Promise((resolve, reject) => {
    const socket = dtls.connect({ retransmitMinMs: 200, retransmitMaxMs: 1600, ...options });
    let info;
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error("test timeout"));
    }, timeoutMs);
    socket.on("connect", (i) => {
      info = i;
      socket.send(request.toString("latin1"));
    });
    socket.on("message", (m) => {
      clearTimeout(timer);
      const session = socket.exportSession();
      socket.close();
      resolve({ info, reply: Buffer.from(m, "latin1"), session });
    });
    socket.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** The records of one datagram: { type, epoch }. */
function recordsOf(d) {
  const out = [];
  for (let off = 0; off + 13 <= d.length; off += 13 + d.readUInt16BE(off + 11)) out.push({ type: d[off], epoch: d.readUInt16BE(off + 3) });
  return out;
}

/** Content types of the DTLS records in one datagram (13-byte headers; CID records have type 25). */
function recordTypes(datagram, cidLength = 0) {
  const types = [];
  let off = 0;
  while (off + 13 <= datagram.length) {
    const type = datagram[off];
    const header = type === 25 ? 13 + cidLength : 13;
    const len = (datagram[off + header - 2] << 8) | datagram[off + header - 1];
    types.push(type);
    off += header + len;
  }
  return types;
}

test("EC certificate, one-way: handshake with openssl s_server and data both ways", async () => {
  const server = await startOpensslServer({ cert: ecServer.cert, key: ecServer.key });
  try {
    const { dtls, wire } = recordingModule();
    const pending = exchange(dtls, { host: "127.0.0.1", port: server.port, ca: ca.pem }, Buffer.from("ping from node\n"));
    await server.waitFor(/ping from node/);
    server.write("pong from server\n");
    const { info, reply } = await pending;
    assert.equal(reply.toString(), "pong from server\n");
    assert.equal(info.resumed, false);
    assert.equal(info.cipher, "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256");
    // ClientHello offers X25519 first, then P-256 and P-384 (supported_groups extension 0x000a).
    const hello = Buffer.from(wire.out[0]);
    const ext = hello.indexOf(Buffer.from([0x00, 0x0a, 0x00, 0x08, 0x00, 0x06]));
    assert.ok(ext > 0, "supported_groups extension present");
    assert.deepEqual([...hello.subarray(ext + 6, ext + 12)], [0x00, 0x1d, 0x00, 0x17, 0x00, 0x18]);
    assert.ok(wire.out.every((d) => d.length <= 1024), "datagrams within 1 KiB");
  } finally {
    await server.stop();
  }
});

/** The extension types of a ClientHello datagram (single record, unfragmented). */
function helloExtensions(d) {
  let off = 13 + 12 + 2 + 32; // record header, handshake header, version, random
  off += 1 + d[off]; // session id
  off += 1 + d[off]; // cookie
  off += 2 + d.readUInt16BE(off); // cipher suites
  off += 1 + d[off]; // compression methods
  const end = off + 2 + d.readUInt16BE(off);
  const types = [];
  for (off += 2; off + 4 <= end; off += 4 + d.readUInt16BE(off + 2)) types.push(d.readUInt16BE(off));
  return types;
}

test("server name indication: sent for a DNS name, never for an IP address (RFC 6066), which is still verified", async () => {
  const server = await startOpensslServer({ cert: ecServer.cert, key: ecServer.key });
  try {
    const byIp = recordingModule();
    const pending = exchange(byIp.dtls, { host: "127.0.0.1", port: server.port, ca: ca.pem }, Buffer.from("by ip\n"));
    await server.waitFor(/by ip/);
    server.write("ok\n");
    await pending;
    assert.ok(!helloExtensions(Buffer.from(byIp.wire.out[0])).includes(0), "no server_name extension for an IP");
  } finally {
    await server.stop();
  }
  const named = recordingModule();
  const peer = await startCoapServer({ cert: ecServer.cert, key: ecServer.key });
  try {
    await exchange(named.dtls, { host: "127.0.0.1", servername: "localhost", port: peer.port, ca: ca.pem }, coapGet(["time"]));
    const hello = Buffer.from(named.wire.out[0]);
    assert.ok(helloExtensions(hello).includes(0), "server_name extension for a DNS name");
    assert.ok(hello.includes(Buffer.from("localhost")));
  } finally {
    await peer.stop();
  }
});

test("RSA certificate with a host name: GET against coap-server-openssl", async () => {
  const server = await startCoapServer({ cert: rsaServer.cert, key: rsaServer.key });
  try {
    const { dtls } = recordingModule();
    const { info, reply } = await exchange(dtls, { host: "127.0.0.1", servername: "localhost", port: server.port, ca: rsaCa.pem }, coapGet(["time"], 0x4242));
    assert.match(info.cipher, /^TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256$/);
    assert.equal(reply[0] & 0xf0, 0x60, "ACK");
    assert.equal(reply[1], 0x45, "2.05 Content");
    assert.equal(reply.readUInt16BE(2), 0x4242);
  } finally {
    await server.stop();
  }
});

test("mutual authentication: client certificate accepted by coap-server-openssl -C", async () => {
  const server = await startCoapServer({ cert: ecServer.cert, key: ecServer.key, caFile: ca.cert });
  try {
    const { dtls } = recordingModule();
    const { reply } = await exchange(dtls, { host: "127.0.0.1", port: server.port, ca: ca.pem, cert: client.pem, key: client.keyPem }, coapGet(["time"]));
    assert.equal(reply[1], 0x45);
  } finally {
    await server.stop();
  }
});

test("mutual authentication with openssl s_server -Verify", async () => {
  const server = await startOpensslServer({ cert: ecServer.cert, key: ecServer.key, caFile: ca.cert, requireClientCert: true });
  try {
    const { dtls } = recordingModule();
    const pending = exchange(dtls, { host: "localhost", port: server.port, ca: ca.pem, cert: client.pem, key: client.keyPem }, Buffer.from("mutual\n"));
    await server.waitFor(/mutual/);
    assert.match(server.output(), /CN ?= ?node/);
    server.write("ok\n");
    assert.equal((await pending).reply.toString(), "ok\n");
  } finally {
    await server.stop();
  }
});

test("PSK: GET against coap-server-openssl -k", async () => {
  const server = await startCoapServer({ psk: "secret-key-1234" });
  try {
    const { dtls } = recordingModule();
    const { info, reply } = await exchange(dtls, { host: "127.0.0.1", port: server.port, psk: "secret-key-1234", pskIdentity: "node-1" }, coapGet(["time"]));
    assert.match(info.cipher, /^TLS-PSK-WITH-AES-128-CCM-8$/);
    assert.equal(reply[1], 0x45);
  } finally {
    await server.stop();
  }
});

test("small MTU: both sides fragment the handshake (openssl -mtu 400, ours 400, RSA chain and client cert)", async () => {
  const server = await startOpensslServer({ cert: rsaServer.cert, key: rsaServer.key, caFile: ca.cert, requireClientCert: true, mtu: 400 });
  try {
    const { dtls, wire } = recordingModule();
    const pending = exchange(dtls, { host: "127.0.0.1", port: server.port, ca: rsaCa.pem, cert: client.pem, key: client.keyPem, mtu: 400 }, Buffer.from("fragmented\n"));
    await server.waitFor(/fragmented/);
    server.write("whole\n");
    assert.equal((await pending).reply.toString(), "whole\n");
    assert.ok(wire.out.every((d) => d.length <= 400), `our datagrams: ${wire.out.map((d) => d.length)}`);
    assert.ok(wire.in.length > 4 && wire.in.every((d) => d.length <= 400), `server datagrams: ${wire.in.map((d) => d.length)}`);
  } finally {
    await server.stop();
  }
});

test("datagram loss during the handshake is recovered by retransmission", async () => {
  // The server drops its first two datagrams (HelloVerifyRequest and the first ServerHello flight); we drop our
  // third (the ClientHello with the cookie, first try).
  const server = await startCoapServer({ cert: ecServer.cert, key: ecServer.key, loss: "1,2" });
  try {
    const { dtls, wire } = recordingModule({ dropOut: (n) => n === 2 });
    const { reply } = await exchange(dtls, { host: "127.0.0.1", port: server.port, ca: ca.pem }, coapGet(["time"]), { timeoutMs: 15000 });
    assert.equal(reply[1], 0x45);
    const hellos = wire.out.filter((d) => d[0] === 22 && d[13] === 1);
    assert.ok(hellos.length >= 3, `ClientHello retransmitted (${hellos.length} sent)`);
  } finally {
    await server.stop();
  }
});

test("loss of the server's last flight (ChangeCipherSpec, Finished): our timer resends our Finished", async () => {
  const server = await startCoapServer({ cert: ecServer.cert, key: ecServer.key });
  try {
    const dropped = new Set();
    // Drop, once each, the first datagram starting with ChangeCipherSpec and the first encrypted handshake record.
    const dropIn = (d) => {
      const kind = d[0] === 20 ? "ccs" : d[0] === 22 && d.readUInt16BE(3) === 1 ? "finished" : null;
      if (!kind || dropped.has(kind)) return false;
      dropped.add(kind);
      return true;
    };
    const { dtls, wire } = recordingModule({ dropIn });
    const { reply } = await exchange(dtls, { host: "127.0.0.1", port: server.port, ca: ca.pem }, coapGet(["time"]), { timeoutMs: 15000 });
    assert.equal(reply[1], 0x45);
    assert.ok(dropped.size >= 1);
    const ourFinished = wire.out.flatMap((d) => recordsOf(Buffer.from(d))).filter((r) => r.type === 22 && r.epoch === 1);
    assert.ok(ourFinished.length >= 2, `our Finished sent ${ourFinished.length} times`);
  } finally {
    await server.stop();
  }
});

test("a configuration without a CA is refused; insecure: true warns each time", async () => {
  const { dtls, warnings } = recordingModule();
  assert.throws(() => dtls.connect({ host: "127.0.0.1", port: 5684 }), {
    message: "DTLS.connect: no CA certificate configured (option ca), so the server cannot be verified; pass insecure: true to connect without verification",
  });
  for (let i = 0; i < 2; i++) {
    const server = await startOpensslServer({ cert: ecServer.cert, key: ecServer.key });
    try {
      const pending = exchange(dtls, { host: "127.0.0.1", port: server.port, insecure: true }, Buffer.from(`insecure ${i}\n`));
      await server.waitFor(new RegExp(`insecure ${i}`));
      server.write("still answered\n");
      assert.equal((await pending).reply.toString(), "still answered\n");
    } finally {
      await server.stop();
    }
  }
  assert.equal(warnings.length, 2);
  assert.match(warnings[0], /^DTLS WARNING: insecure: true - the server's certificate is NOT verified/);
});

test("record types on the wire: only handshake, CCS, alert and application data; app data after Finished", async () => {
  const server = await startOpensslServer({ cert: ecServer.cert, key: ecServer.key });
  try {
    const { dtls, wire } = recordingModule();
    const pending = exchange(dtls, { host: "127.0.0.1", port: server.port, ca: ca.pem }, Buffer.from("typed\n"));
    await server.waitFor(/typed/);
    server.write("x\n");
    await pending;
    const types = wire.out.flatMap((d) => recordTypes(d));
    const firstApp = types.indexOf(23);
    assert.ok(firstApp > types.indexOf(20), "application data only after ChangeCipherSpec");
    assert.ok(types.every((t) => [20, 21, 22, 23].includes(t)), `types ${types}`);
  } finally {
    await server.stop();
  }
});
