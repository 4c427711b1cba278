// The CoAP message layer from the ES5 bundle on a virtual clock, over a scripted transport that plays the server byte
// by byte: retransmission, the three response forms (piggybacked, separate after an empty ACK, ThingsBoard's CON
// response without ACK), duplicates, RST, ping, NSTART, Observe, block-wise. The same layer over real UDP, against
// libcoap and the local server, is tested end to end elsewhere (coap-interop-libcoap, node-e2e, the simulator).
import test from "node:test";
import assert from "node:assert/strict";
import { coap } from "../../host/lib.mjs";
import { createDgramModule } from "../../host/espruino/dgram.mjs";
import { installE } from "../../host/espruino/E.mjs";

const { Type, Code, Opt, encodeMessage, decodeMessage, getOption, readUint, readString, readBlock, blockValue } = coap;
installE();

/*
 * The virtual clock: setTimeout, clearTimeout and Date.now for the endpoint and for the tests' own waits. Time jumps
 * to the next timer once everything else has run (a real setImmediate turn), so a 2 s retransmission takes no real
 * time and the order of events is that of their times. Espruino's timers are strict where Node's forgive:
 * clearTimeout(undefined) clears every timer (or throws) and the id of a timer that already ran is an "Unknown
 * Timeout" error. The endpoint must never do either; any violation is recorded and fails the test that caused it.
 */
const REAL = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout, now: Date.now, setImmediate: globalThis.setImmediate };
const timerFaults = [];
const timerDelays = [];
const timers = new Map(); // id -> { at, seq, fn, args }
let virtualNow = REAL.now();
let nextId = 1;
let seq = 0;
let pumping = false;
function pump() {
  let first = null;
  for (const [id, t] of timers) if (!first || t.at < first[1].at || (t.at === first[1].at && t.seq < first[1].seq)) first = [id, t];
  if (!first) {
    pumping = false;
    return;
  }
  timers.delete(first[0]);
  virtualNow = Math.max(virtualNow, first[1].at);
  try {
    first[1].fn(...first[1].args);
  } finally {
    REAL.setImmediate(pump);
  }
}
function installClock() {
  globalThis.setTimeout = (fn, ms = 0, ...args) => {
    timerDelays.push(ms);
    const id = nextId++;
    timers.set(id, { at: virtualNow + Math.max(0, ms), seq: seq++, fn, args });
    if (!pumping) {
      pumping = true;
      REAL.setImmediate(pump);
    }
    return id;
  };
  globalThis.clearTimeout = (id) => {
    if (id === undefined) timerFaults.push(new Error("clearTimeout(undefined)").stack);
    else if (!timers.delete(id)) timerFaults.push(new Error("clearTimeout of a timer that already ran").stack);
  };
  Date.now = () => virtualNow;
}
function removeClock() {
  globalThis.setTimeout = REAL.setTimeout;
  globalThis.clearTimeout = REAL.clearTimeout;
  Date.now = REAL.now;
}
installClock();
test.afterEach(() => {
  timers.clear(); // what a test left running (a closed endpoint's nothing, a test's own timeout) ends with it
  assert.deepEqual(timerFaults.splice(0), [], "Espruino timer misuse");
});

const EMPTY = new Uint8Array(0);
const ascii = (s) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const hex = (b) => Buffer.from(b).toString("hex");
const path = (m) => coap.getOptions(m, Opt.URI_PATH).map(readString).join("/");

/**
 * A server under the test's control, as the endpoint's transport: every datagram the endpoint sends is queued for
 * `next()`; `send()` delivers one to the endpoint as the network would, after what runs now.
 */
function scriptedPeer() {
  const inbox = [];
  const waiters = [];
  let deliver = (_data) => {};
  const transport = {
    send(data) {
      const got = { bytes: new Uint8Array(data), m: decodeMessage(new Uint8Array(data)) };
      if (waiters.length) waiters.shift()(got);
      else inbox.push(got);
    },
    onMessage(h) {
      deliver = h;
    },
    onError() {},
    close() {},
  };
  return {
    transport,
    /** The next datagram from the endpoint; fails the test when none comes within `ms` (virtual). */
    next(ms = 3000) {
      if (inbox.length) return Promise.resolve(inbox.shift());
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no datagram from the endpoint within ${ms} ms`));
        }, ms);
        const w = (got) => {
          clearTimeout(t);
          resolve(got);
        };
        waiters.push(w);
      });
    },
    /** Resolves to the datagrams that arrive within `ms` (expected: none, or a known few). */
    async drain(ms) {
      await new Promise((r) => setTimeout(r, ms));
      return inbox.splice(0);
    },
    send(m) {
      this.sendBytes(encodeMessage({ token: EMPTY, options: [], payload: EMPTY, ...m }));
    },
    sendBytes(bytes) {
      const copy = Uint8Array.from(bytes);
      queueMicrotask(() => deliver(copy));
    },
  };
}

async function setup(options = {}) {
  const peer = scriptedPeer();
  const ep = coap.createEndpoint(peer.transport, { ackTimeout: 100, ackRandomFactor: 1, ...options });
  return { peer, ep, done: () => ep.close() };
}

const ack = (req, extra = {}) => ({ type: Type.ACK, code: 0, messageId: req.messageId, ...extra });

test("piggybacked response: CON GET with path and query, ACK 2.05 carries the response", async () => {
  const { peer, ep, done } = await setup();
  try {
    const p = ep.request({ path: "/api/v1/T/attributes?clientKeys=a,b&sharedKeys=c", accept: 50 });
    const { m: req } = await peer.next();
    assert.equal(req.type, Type.CON);
    assert.equal(req.code, Code.GET);
    assert.equal(req.token.length, 4);
    assert.equal(path(req), "api/v1/T/attributes");
    assert.deepEqual(coap.getOptions(req, Opt.URI_QUERY).map(readString), ["clientKeys=a,b", "sharedKeys=c"]);
    assert.equal(readUint(getOption(req, Opt.ACCEPT)), 50);
    peer.send(ack(req, { code: Code.CONTENT, token: req.token, payload: ascii('{"c":1}') }));
    const res = await p;
    assert.equal(res.code, Code.CONTENT);
    assert.equal(readString(res.payload), '{"c":1}');
    assert.deepEqual(await peer.drain(150), [], "nothing more on the wire: no retransmission, no ACK for an ACK");
  } finally {
    done();
  }
});

test("separate response after an empty ACK: the CON response is ACKed with its own MID", async () => {
  const { peer, ep, done } = await setup();
  try {
    const p = ep.request({ method: Code.POST, path: "/api/v1/T/telemetry", payload: '{"t":1}', contentFormat: 50 });
    const { m: req } = await peer.next();
    assert.equal(readString(req.payload), '{"t":1}');
    peer.send(ack(req));
    // Well past ACK_TIMEOUT: an ACKed request is not retransmitted.
    assert.deepEqual(await peer.drain(350), []);
    peer.send({ type: Type.CON, code: Code.CHANGED, messageId: 0x4242, token: req.token });
    const got = await peer.next();
    assert.equal(hex(got.bytes), "60004242");
    assert.equal((await p).code, Code.CHANGED);
  } finally {
    done();
  }
});

test("ThingsBoard's CON response without any ACK is accepted, ACKed, and stops the retransmission", async () => {
  const { peer, ep, done } = await setup({ ackTimeout: 150 });
  try {
    const p = ep.request({ method: Code.POST, path: "/api/v1/T/telemetry", payload: "{}" });
    const { m: req } = await peer.next();
    const retry = await peer.next();
    assert.equal(hex(retry.bytes), hex(encodeMessage(req)), "a retransmission is the same datagram, same MID");
    peer.send({ type: Type.CON, code: Code.CREATED, messageId: 0x0101, token: req.token });
    assert.equal(hex((await peer.next()).bytes), "60000101");
    assert.equal((await p).code, Code.CREATED);
    assert.deepEqual(await peer.drain(700), [], "no retransmission after the response");
  } finally {
    done();
  }
});

test("retransmission: 1 + MAX_RETRANSMIT identical datagrams, then a timeout error naming the request", async () => {
  const { peer, ep, done } = await setup({ ackTimeout: 20, maxRetransmit: 3 });
  try {
    let error;
    ep.request({ method: Code.PUT, path: "/a/b" }, (e) => { error = e; });
    const first = await peer.next();
    for (let k = 0; k < 3; k++) assert.equal(hex((await peer.next()).bytes), hex(first.bytes));
    await new Promise((r) => setTimeout(r, 400));
    assert.deepEqual(await peer.drain(0), []);
    assert.ok(error instanceof coap.CoapError);
    assert.equal(error.code, "timeout");
    assert.equal(error.message, "CoAP PUT /a/b timed out after 4 transmissions");
  } finally {
    done();
  }
});

test("the back-off schedule: a random first timeout in [ACK_TIMEOUT, ACK_TIMEOUT * factor], then doubling", async () => {
  const { peer, ep, done } = await setup({ ackTimeout: 40, ackRandomFactor: 1.5, maxRetransmit: 4 });
  try {
    timerDelays.splice(0);
    const p = ep.request({ path: "/slowly" });
    for (let k = 0; k < 5; k++) await peer.next();
    await assert.rejects(p, (e) => e.code === "timeout");
    // The endpoint's timers are the ones under a second; the test's own waits are longer.
    const schedule = timerDelays.filter((ms) => ms < 1000);
    assert.equal(schedule.length, 5);
    assert.ok(schedule[0] >= 40 && schedule[0] <= 60, `first timeout ${schedule[0]}`);
    for (let k = 1; k < 5; k++) assert.equal(schedule[k], schedule[0] * 2 ** k);
  } finally {
    done();
  }
});

test("a separate response that never comes ends with a timeout naming the request (name given)", async () => {
  const { peer, ep, done } = await setup({ responseTimeout: 150 });
  try {
    const p = ep.request({ path: "/api/v1/SECRET/attributes", name: "attributes" });
    peer.send(ack((await peer.next()).m));
    await assert.rejects(p, (e) => e.code === "timeout" && e.message === "CoAP attributes got no response" && !e.message.includes("SECRET"));
  } finally {
    done();
  }
});

test("duplicate CON response: the same ACK again, the response delivered once", async () => {
  const { peer, ep, done } = await setup();
  try {
    let calls = 0;
    ep.request({ path: "/x" }, () => { calls++; });
    const { m: req } = await peer.next();
    const response = { type: Type.CON, code: Code.CONTENT, messageId: 0x7777, token: req.token, payload: ascii("v") };
    peer.send(response);
    assert.equal(hex((await peer.next()).bytes), "60007777");
    peer.send(response);
    assert.equal(hex((await peer.next()).bytes), "60007777");
    assert.deepEqual(await peer.drain(100), []);
    assert.equal(calls, 1);
  } finally {
    done();
  }
});

test("RST for an unexpected CON response, a CON request and an empty CON ping; NON unknown gets RST too", async () => {
  const { peer, ep, done } = await setup();
  try {
    // Any first datagram teaches the scripted peer the endpoint's address.
    ep.ping(() => {});
    peer.send({ type: Type.RST, code: 0, messageId: (await peer.next()).m.messageId });
    peer.send({ type: Type.CON, code: Code.CONTENT, messageId: 0x1001, token: ascii("zzzz"), payload: ascii("x") });
    assert.equal(hex((await peer.next()).bytes), "70001001");
    peer.send({ type: Type.CON, code: Code.GET, messageId: 0x1002, token: ascii("q") });
    assert.equal(hex((await peer.next()).bytes), "70001002");
    peer.send({ type: Type.CON, code: 0, messageId: 0x1003 });
    assert.equal(hex((await peer.next()).bytes), "70001003");
    peer.send({ type: Type.NON, code: Code.CONTENT, messageId: 0x1004, token: ascii("zzzz") });
    assert.equal(hex((await peer.next()).bytes), "70001004");
    // A malformed CON (reserved nibble) is rejected with RST too; a malformed ACK is dropped silently.
    peer.sendBytes(Uint8Array.of(0x40, 0x01, 0x10, 0x05, 0xf0));
    assert.equal(hex((await peer.next()).bytes), "70001005");
    peer.sendBytes(Uint8Array.of(0x60, 0x45, 0x10, 0x06, 0xff));
    assert.deepEqual(await peer.drain(100), []);
  } finally {
    done();
  }
});

test("ping is an empty CON; the RST answer is success, silence is a timeout", async () => {
  const { peer, ep, done } = await setup({ ackTimeout: 20, maxRetransmit: 1 });
  try {
    const pong = new Promise((r) => ep.ping(r));
    const { bytes, m } = await peer.next();
    assert.equal(bytes.length, 4);
    assert.equal(bytes[0], 0x40);
    assert.equal(bytes[1], 0);
    peer.send({ type: Type.RST, code: 0, messageId: m.messageId });
    assert.equal(await pong, null);
    const lost = new Promise((r) => ep.ping(r));
    await peer.next();
    await peer.next();
    const e = await lost;
    assert.equal(e.code, "timeout");
    assert.equal(e.message, "CoAP ping timed out after 2 transmissions");
  } finally {
    done();
  }
});

test("RST in answer to a request fails it with code reset", async () => {
  const { peer, ep, done } = await setup();
  try {
    const p = ep.request({ method: Code.DELETE, path: "/thing" });
    peer.send({ type: Type.RST, code: 0, messageId: (await peer.next()).m.messageId });
    await assert.rejects(p, (e) => e.code === "reset" && e.message === "CoAP DELETE /thing was rejected with RST");
  } finally {
    done();
  }
});

test("NSTART 1: the second request waits for the first exchange; message IDs count up from a random start", async () => {
  const { peer, ep, done } = await setup();
  try {
    const p1 = ep.request({ path: "/one" });
    const p2 = ep.request({ path: "/two" });
    const first = await peer.next();
    assert.equal(path(first.m), "one");
    assert.deepEqual(await peer.drain(50), [], "the second request is queued");
    peer.send(ack(first.m, { code: Code.CONTENT, token: first.m.token }));
    const second = await peer.next();
    assert.equal(path(second.m), "two");
    assert.equal(second.m.messageId, (first.m.messageId + 1) & 0xffff);
    assert.notEqual(hex(second.m.token), hex(first.m.token));
    peer.send(ack(second.m, { code: Code.CONTENT, token: second.m.token }));
    await Promise.all([p1, p2]);
  } finally {
    done();
  }
});

test("NSTART 2 sends two at once; NON requests go out once as NON", async () => {
  const { peer, ep, done } = await setup({ nstart: 2, responseTimeout: 200 });
  try {
    const p1 = ep.request({ path: "/one", confirmable: false });
    const p2 = ep.request({ path: "/two", confirmable: false });
    const a = await peer.next();
    const b = await peer.next();
    assert.equal(a.m.type, Type.NON);
    assert.equal(b.m.type, Type.NON);
    peer.send({ type: Type.NON, code: Code.CONTENT, messageId: 9, token: b.m.token, payload: ascii("2") });
    assert.equal(readString((await p2).payload), "2");
    await assert.rejects(p1, (e) => e.code === "timeout" && e.message === "CoAP GET /one got no response");
    assert.deepEqual(await peer.drain(50), [], "no retransmission of NON, no ACK of a NON response");
  } finally {
    done();
  }
});

test("random initial message IDs and tokens differ between endpoints", async () => {
  const mids = new Set();
  const tokens = new Set();
  for (let k = 0; k < 4; k++) {
    const { peer, ep, done } = await setup();
    try {
      ep.request({ path: "/" }, () => {});
      const { m } = await peer.next();
      mids.add(m.messageId);
      tokens.add(hex(m.token));
    } finally {
      done();
    }
  }
  assert.ok(mids.size >= 3, "message IDs start at random");
  assert.equal(tokens.size, 4);
});

test("close fails pending and queued requests with code closed", async () => {
  const { peer, ep, done } = await setup();
  const p1 = ep.request({ path: "/1" });
  const p2 = ep.request({ path: "/2" });
  await peer.next();
  done();
  await assert.rejects(p1, (e) => e.code === "closed");
  await assert.rejects(p2, (e) => e.code === "closed");
});

test("bad request input gives an error, not an exception", async () => {
  const { ep, done } = await setup();
  try {
    await assert.rejects(ep.request({ path: "/a%zz" }), (e) => e.code === "bad-uri");
    await assert.rejects(ep.request({ path: "/a", options: [{ number: 70000, value: EMPTY }] }), (e) => e.code === "bad-message");
  } finally {
    done();
  }
});

function notification(req, seq, extra = {}) {
  return { type: Type.CON, code: Code.CONTENT, token: req.token, options: [{ number: Opt.OBSERVE, value: coap.uintValue(seq) }], ...extra };
}

test("observe: register, ACK CON notifications, drop stale ones by the freshness rule, 2.02 ends the relation", async () => {
  const { peer, ep, done } = await setup();
  try {
    const seen = [];
    let ended = null;
    ep.observe({ path: "/api/v1/T/attributes" }, (m) => seen.push(readString(m.payload)), (e) => { ended = e; });
    const { m: reg } = await peer.next();
    assert.equal(readUint(getOption(reg, Opt.OBSERVE)), 0);
    assert.equal(getOption(reg, Opt.OBSERVE).length, 0, "Observe 0 is the empty value");
    peer.send(ack(reg, notification(reg, 5, { type: Type.ACK, messageId: reg.messageId, payload: ascii("{}") })));
    let mid = 100;
    for (const [seq, body] of [[7, "a"], [6, "stale"], [8, "b"], [0x800010, "2^23 ahead counts as behind"], [0x7fff00, "c"], [0xfffe00, "d"], [2, "e (wrapped)"]]) {
      peer.send(notification(reg, seq, { messageId: ++mid, payload: ascii(body) }));
      assert.equal(hex((await peer.next()).bytes), "6000" + mid.toString(16).padStart(4, "0"), "every CON notification is ACKed");
    }
    assert.deepEqual(seen, ["{}", "a", "b", "c", "d", "e (wrapped)"]);
    // ThingsBoard ends a relation with 2.02 Deleted carrying Observe 0, older than anything seen: still the end.
    peer.send(notification(reg, 0, { code: Code.DELETED, messageId: ++mid }));
    await peer.next();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(ended.code, "deleted");
    // After the end, a notification on the old token is rejected.
    peer.send(notification(reg, 9, { messageId: ++mid }));
    assert.equal(hex((await peer.next()).bytes), "7000" + mid.toString(16).padStart(4, "0"));
    assert.equal(seen.length, 6);
  } finally {
    done();
  }
});

test("observe: cancel sends GET with Observe 1 on the same token and waits only for the ACK", async () => {
  const { peer, ep, done } = await setup({ responseTimeout: 100 });
  try {
    const obs = ep.observe({ path: "/obs" }, () => {}, () => assert.fail("no end on a cancel"));
    const { m: reg } = await peer.next();
    peer.send(ack(reg, notification(reg, 1, { type: Type.ACK, messageId: reg.messageId })));
    await new Promise((r) => setTimeout(r, 20));
    obs.cancel();
    const { m: off } = await peer.next();
    assert.equal(off.code, Code.GET);
    assert.equal(hex(off.token), hex(reg.token));
    assert.equal(readUint(getOption(off, Opt.OBSERVE)), 1);
    assert.equal(path(off), "obs");
    peer.send(ack(off));
    // A later request still goes out at once: the deregistration no longer holds the NSTART slot.
    ep.request({ path: "/next" }, () => {});
    assert.equal(path((await peer.next()).m), "next");
  } finally {
    done();
  }
});

test("observe: passive cancel answers the next notification with RST; silence ends a relation", async () => {
  const { peer, ep, done } = await setup({ observeSilence: 150 });
  try {
    const obs = ep.observe({ path: "/p" }, () => {}, () => {});
    const { m: reg } = await peer.next();
    peer.send(ack(reg, notification(reg, 1, { type: Type.ACK, messageId: reg.messageId })));
    await new Promise((r) => setTimeout(r, 20));
    obs.cancel(false);
    peer.send(notification(reg, 2, { messageId: 0x2002 }));
    assert.equal(hex((await peer.next()).bytes), "70002002");

    const ends = [];
    ep.observe({ path: "/quiet" }, () => {}, (e) => ends.push(e));
    const { m: reg2 } = await peer.next();
    peer.send(ack(reg2, notification(reg2, 1, { type: Type.ACK, messageId: reg2.messageId })));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(ends.length, 1);
    assert.equal(ends[0].code, "silence");
    assert.equal(ends[0].message, "CoAP GET /quiet: no notification in time");
  } finally {
    done();
  }
});

test("observe: a 4.04 answer ends the relation as refused; a response without Observe as not-observed", async () => {
  const { peer, ep, done } = await setup();
  try {
    const ends = [];
    const seen = [];
    ep.observe({ path: "/missing" }, (m) => seen.push(m.code), (e) => ends.push(e));
    const { m: a } = await peer.next();
    peer.send(ack(a, { code: Code.NOT_FOUND, token: a.token }));
    ep.observe({ path: "/plain" }, (m) => seen.push(m.code), (e) => ends.push(e));
    const { m: b } = await peer.next();
    peer.send(ack(b, { code: Code.CONTENT, token: b.token }));
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(ends.map((e) => e.code), ["refused", "not-observed"]);
    assert.equal(ends[0].message, "CoAP GET /missing: observation ended by 4.04");
    assert.deepEqual(seen, [Code.CONTENT]);
  } finally {
    done();
  }
});

/** Serves `body` block-wise to requests carrying Block2 until the last block. */
async function serveBlocks(peer, body, szx, first) {
  const size = 16 << szx;
  let req = first;
  for (;;) {
    const b = readBlock(getOption(req, Opt.BLOCK2) || EMPTY);
    const num = getOption(req, Opt.BLOCK2) ? b.num : 0;
    const more = (num + 1) * size < body.length;
    peer.send(ack(req, { code: Code.CONTENT, token: req.token, payload: body.subarray(num * size, num * size + size),
      options: [{ number: Opt.ETAG, value: ascii("e1") }, { number: Opt.BLOCK2, value: blockValue({ num, more, szx }) }, { number: Opt.SIZE2, value: coap.uintValue(body.length) }] }));
    if (!more) return;
    req = (await peer.next()).m;
    assert.equal(getOption(req, Opt.OBSERVE), undefined, "block requests do not observe");
    assert.equal(req.payload.length, 0);
  }
}

test("Block2: a large response is fetched block by block and handed over whole; early SZX negotiation", async () => {
  const { peer, ep, done } = await setup({ blockSzx: 2 });
  try {
    const body = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 255);
    const p = ep.request({ path: "/big" });
    const { m: req } = await peer.next();
    assert.deepEqual(readBlock(getOption(req, Opt.BLOCK2)), { num: 0, more: false, szx: 2 });
    await serveBlocks(peer, body, 2, req);
    const res = await p;
    assert.equal(hex(res.payload), hex(body));
  } finally {
    done();
  }
});

test("Block2: the server's smaller SZX is adopted, a changed ETag is an error, Size2 over the limit too", async () => {
  const { peer, ep, done } = await setup({ maxBodySize: 100 });
  try {
    const body = Uint8Array.from({ length: 90 }, (_, i) => i);
    const p = ep.request({ path: "/b" });
    await serveBlocks(peer, body, 0, (await peer.next()).m);
    assert.equal(hex((await p).payload), hex(body));

    const p2 = ep.request({ path: "/c" });
    const { m: r0 } = await peer.next();
    peer.send(ack(r0, { code: Code.CONTENT, token: r0.token, payload: new Uint8Array(16), options: [{ number: Opt.ETAG, value: ascii("1") }, { number: Opt.BLOCK2, value: blockValue({ num: 0, more: true, szx: 0 }) }] }));
    const { m: r1 } = await peer.next();
    assert.deepEqual(readBlock(getOption(r1, Opt.BLOCK2)), { num: 1, more: false, szx: 0 });
    peer.send(ack(r1, { code: Code.CONTENT, token: r1.token, payload: new Uint8Array(16), options: [{ number: Opt.ETAG, value: ascii("2") }, { number: Opt.BLOCK2, value: blockValue({ num: 1, more: false, szx: 0 }) }] }));
    await assert.rejects(p2, (e) => e.code === "block-mismatch");

    const p3 = ep.request({ path: "/d" });
    const { m: s0 } = await peer.next();
    peer.send(ack(s0, { code: Code.CONTENT, token: s0.token, payload: new Uint8Array(16), options: [{ number: Opt.BLOCK2, value: blockValue({ num: 0, more: true, szx: 0 }) }, { number: Opt.SIZE2, value: coap.uintValue(5000) }] }));
    await assert.rejects(p3, (e) => e.code === "too-large" && e.message === "CoAP GET /d: body over 100 bytes");
  } finally {
    done();
  }
});

test("Block2 notification: the rest is fetched with plain GETs and delivered as one notification", async () => {
  const { peer, ep, done } = await setup();
  try {
    const seen = [];
    const ends = [];
    ep.observe({ path: "/api/v1/T/rpc" }, (m) => seen.push(m), (e) => ends.push(e));
    const { m: reg } = await peer.next();
    peer.send(ack(reg, notification(reg, 1, { type: Type.ACK, messageId: reg.messageId, payload: ascii("{}") })));
    const body = Uint8Array.from({ length: 2500 }, (_, i) => 65 + (i % 26));
    peer.send(notification(reg, 2, { messageId: 0x3000, payload: body.subarray(0, 1024), options: [
      { number: Opt.ETAG, value: ascii("e1") }, { number: Opt.OBSERVE, value: coap.uintValue(2) },
      { number: Opt.BLOCK2, value: blockValue({ num: 0, more: true, szx: 6 }) }] }));
    assert.equal(hex((await peer.next()).bytes), "60003000");
    const { m: next } = await peer.next();
    assert.equal(next.code, Code.GET);
    assert.notEqual(hex(next.token), hex(reg.token));
    assert.equal(path(next), "api/v1/T/rpc");
    assert.deepEqual(readBlock(getOption(next, Opt.BLOCK2)), { num: 1, more: false, szx: 6 });
    await serveBlocks(peer, body, 6, next);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(seen.length, 2);
    assert.equal(readString(seen[1].payload), readString(body));
    assert.equal(readUint(getOption(seen[1], Opt.OBSERVE)), 2);
    assert.deepEqual(ends, []);
  } finally {
    done();
  }
});

test("observe: an initial response that comes block-wise is completed once and handed over whole", async () => {
  const { peer, ep, done } = await setup();
  try {
    const seen = [];
    const ends = [];
    ep.observe({ path: "/api/v1/T/attributes" }, (m) => seen.push(m), (e) => ends.push(e));
    const { m: reg } = await peer.next();
    const body = Uint8Array.from({ length: 1500 }, (_, i) => 97 + (i % 20));
    peer.send(ack(reg, { code: Code.CONTENT, token: reg.token, payload: body.subarray(0, 1024), options: [
      { number: Opt.ETAG, value: ascii("e1") }, { number: Opt.OBSERVE, value: coap.uintValue(0) },
      { number: Opt.BLOCK2, value: blockValue({ num: 0, more: true, szx: 6 }) }] }));
    const { m: next } = await peer.next();
    await serveBlocks(peer, body, 6, next);
    assert.deepEqual(await peer.drain(100), [], "no block is fetched twice");
    assert.equal(seen.length, 1);
    assert.equal(readString(seen[0].payload), readString(body));
    assert.equal(getOption(seen[0], Opt.BLOCK2), undefined, "the whole body carries no Block2");
    peer.send(notification(reg, 1, { messageId: 0x4001, payload: ascii("small") }));
    await peer.next();
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(seen.map((m) => m.payload.length), [1500, 5]);
    assert.deepEqual(ends, []);
  } finally {
    done();
  }
});

test("Block1: upload with Size1 and 2.31 Continue; the server's smaller block size is adopted mid-way", async () => {
  const { peer, ep, done } = await setup({ blockSzx: 2 });
  try {
    const body = Uint8Array.from({ length: 300 }, (_, i) => i & 255);
    const p = ep.request({ method: Code.POST, path: "/up", payload: body });
    const got = [];
    let { m: req } = await peer.next();
    assert.equal(readUint(getOption(req, Opt.SIZE1)), 300);
    for (;;) {
      const b = readBlock(getOption(req, Opt.BLOCK1));
      got.push(...req.payload);
      // After the first 64-byte block the server asks for 32-byte blocks.
      const szx = b.num === 0 ? 1 : b.szx;
      if (!b.more) {
        peer.send(ack(req, { code: Code.CHANGED, token: req.token, options: [{ number: Opt.BLOCK1, value: blockValue({ num: b.num, more: false, szx }) }] }));
        break;
      }
      peer.send(ack(req, { code: Code.CONTINUE, token: req.token, options: [{ number: Opt.BLOCK1, value: blockValue({ num: b.num, more: true, szx }) }] }));
      req = (await peer.next()).m;
      if (got.length === 64) assert.deepEqual(readBlock(getOption(req, Opt.BLOCK1)), { num: 2, more: true, szx: 1 });
      assert.equal(getOption(req, Opt.SIZE1), undefined);
    }
    assert.equal((await p).code, Code.CHANGED);
    assert.equal(hex(Uint8Array.from(got)), hex(body));
  } finally {
    done();
  }
});

test("Block1: 4.13 with a smaller Block1 size restarts the upload block-wise at that size", async () => {
  const { peer, ep, done } = await setup();
  try {
    const body = new Uint8Array(40).fill(7);
    const p = ep.request({ method: Code.PUT, path: "/up", payload: body });
    const { m: whole } = await peer.next();
    assert.equal(getOption(whole, Opt.BLOCK1), undefined, "fits one 1024-byte block: sent plainly");
    peer.send(ack(whole, { code: Code.REQUEST_ENTITY_TOO_LARGE, token: whole.token, options: [{ number: Opt.BLOCK1, value: blockValue({ num: 0, more: false, szx: 0 }) }] }));
    const { m: b0 } = await peer.next();
    assert.deepEqual(readBlock(getOption(b0, Opt.BLOCK1)), { num: 0, more: true, szx: 0 });
    assert.equal(b0.payload.length, 16);
    peer.send(ack(b0, { code: Code.CONTINUE, token: b0.token, options: [{ number: Opt.BLOCK1, value: blockValue({ num: 0, more: true, szx: 0 }) }] }));
    const { m: b1 } = await peer.next();
    peer.send(ack(b1, { code: Code.CONTINUE, token: b1.token, options: [{ number: Opt.BLOCK1, value: blockValue({ num: 1, more: true, szx: 0 }) }] }));
    const { m: b2 } = await peer.next();
    assert.deepEqual(readBlock(getOption(b2, Opt.BLOCK1)), { num: 2, more: false, szx: 0 });
    assert.equal(b2.payload.length, 8);
    peer.send(ack(b2, { code: Code.CHANGED, token: b2.token }));
    assert.equal((await p).code, Code.CHANGED);
  } finally {
    done();
  }
});

test("the request callback form and a transport error failing what is pending", async () => {
  let onError;
  let sent = 0;
  const transport = { send: () => { sent++; }, onMessage: () => {}, onError: (h) => { onError = h; }, close: () => {} };
  const ep = coap.createEndpoint(transport, { ackTimeout: 1000 });
  const result = new Promise((r) => ep.request({ path: "/x" }, (e, res) => r([e, res])));
  assert.equal(sent, 1);
  onError({ code: "alert", message: "DTLS alert: bad_record_mac" });
  const [e, res] = await result;
  assert.equal(e.code, "transport");
  assert.equal(e.message, "DTLS alert: bad_record_mac");
  assert.equal(res, undefined);
  ep.close();
});

test("a socket error fails what is pending with code transport; after close, requests fail with closed", async (t) => {
  // A real socket, so the real clock.
  removeClock();
  t.after(installClock);
  const dgram = createDgramModule();
  const transport = coap.createUdpTransport(dgram, "127.0.0.1", 9);
  const ep = coap.createEndpoint(transport, { ackTimeout: 1000 });
  transport.close();
  await assert.rejects(ep.request({ path: "/x" }), (e) => e.code === "transport" && e.message.startsWith("UDP 127.0.0.1:9: "));
  ep.close();
  ep.close();
  await assert.rejects(ep.request({ path: "/y" }), (e) => e.code === "closed" && e.message === "CoAP endpoint closed");
  const ended = await new Promise((r) => ep.observe({ path: "/z" }, () => {}, r));
  assert.equal(ended.code, "closed");
});

test("a response callback that throws does not stall the queue behind it", () => {
  const sent = [];
  let deliver;
  const ep = coap.createEndpoint({ send: (d) => sent.push(decodeMessage(d)), onMessage: (h) => { deliver = h; }, close() {} }, { ackTimeout: 1000 });
  ep.request({ path: "/one" }, () => { throw new Error("bug in the application"); });
  ep.request({ path: "/two" }, () => {});
  assert.equal(sent.length, 1);
  const first = sent[0];
  assert.throws(() => deliver(encodeMessage({ type: Type.ACK, code: Code.CONTENT, messageId: first.messageId, token: first.token })), /bug in the application/);
  assert.equal(sent.length, 2);
  assert.equal(path(sent[1]), "two");
  ep.close();
});
