// The CoAP message layer's timing at RFC 7252's default transmission parameters (ACK_TIMEOUT 2 s, ACK_RANDOM_FACTOR
// 1.5, MAX_RETRANSMIT 4; section 4.8), on node:test's mocked clock with a scripted in-memory transport: no sockets and
// no waiting, so the real schedule is checked to the millisecond. coap-endpoint.test.mjs checks the rest of the
// layer's behaviour with shortened timers, on a virtual clock that also holds it to Espruino's strict timer rules.
import test from "node:test";
import assert from "node:assert/strict";
import { coap } from "../../host/lib.mjs";
import { installE } from "../../host/espruino/E.mjs";

const { Type, Code, decodeMessage, encodeMessage } = coap;
installE();
const E = /** @type {{ E: EspruinoE }} */ (/** @type {unknown} */ (globalThis)).E;

/**
 * An endpoint on the mocked clock whose transport records each datagram with the time it left; `reply(m)` delivers
 * a message from the server; E.hwRand (the endpoint's randomness: first timeouts, ids, tokens) returns `random`.
 */
function setup(t, { random = 0, options = {} } = {}) {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 });
  const hwRand = E.hwRand;
  E.hwRand = () => random;
  t.after(() => { E.hwRand = hwRand; });
  const sent = [];
  let deliver = (_data) => {};
  const transport = {
    send: (data) => sent.push({ at: Date.now(), m: decodeMessage(data) }),
    onMessage: (handler) => { deliver = handler; },
    onError() {},
    close() {},
  };
  const ep = coap.createEndpoint(transport, options);
  t.after(() => ep.close());
  const reply = (m) => deliver(encodeMessage({ token: new Uint8Array(0), options: [], payload: new Uint8Array(0), ...m }));
  // One millisecond at a time: a timer set by a timer's callback counts from the time that callback ran.
  const tick = (ms) => {
    for (let i = 0; i < ms; i++) t.mock.timers.tick(1);
  };
  return { ep, sent, reply, tick };
}

test("defaults, least random first timeout: sent at 0, 2, 6, 14 and 30 s (doubling), given up at 62 s", (t) => {
  const { ep, sent, tick } = setup(t, { random: 0 });
  let error = null;
  ep.request({ method: Code.POST, path: "/api/v1/T/telemetry" }, (e) => { error = e; });
  tick(61999);
  assert.deepEqual(sent.map((s) => s.at), [0, 2000, 6000, 14000, 30000]);
  assert.ok(sent.every((s) => s.m.type === Type.CON && s.m.messageId === sent[0].m.messageId), "the same CON each time");
  assert.equal(error, null, "still waiting 1 ms before the last timeout ends");
  tick(1);
  assert.equal(error.code, "timeout");
  assert.equal(error.message, "CoAP POST /api/v1/T/telemetry timed out after 5 transmissions");
});

test("defaults, most random first timeout: just under 3 s, and given up before MAX_TRANSMIT_WAIT (93 s)", (t) => {
  const { ep, sent, tick } = setup(t, { random: 0xffff });
  let error = null;
  ep.request({ path: "/a" }, (e) => { error = e; });
  tick(93000);
  const first = sent[1].at;
  assert.ok(first > 2999 && first <= 3000, `first retransmission at ${first} ms`);
  assert.deepEqual(sent.map((s) => s.at), [0, first, 3 * first, 7 * first, 15 * first].map(Math.floor));
  assert.equal(error.code, "timeout");
});

test("a piggybacked ACK at 1 s ends the exchange: nothing more is sent in the next 100 s", (t) => {
  const { ep, sent, reply, tick } = setup(t);
  let response = null;
  ep.request({ path: "/a" }, (e, m) => { response = m; });
  tick(1000);
  reply({ type: Type.ACK, code: Code.CONTENT, messageId: sent[0].m.messageId, token: sent[0].m.token, payload: Uint8Array.of(0x31) });
  tick(100000);
  assert.equal(sent.length, 1);
  assert.equal(response.code, Code.CONTENT);
});

test("NSTART 1: a second request leaves only when the first is answered", (t) => {
  const { ep, sent, reply, tick } = setup(t);
  ep.request({ path: "/one" }, () => {});
  ep.request({ path: "/two" }, () => {});
  tick(1500);
  assert.equal(sent.length, 1, "the second waits");
  reply({ type: Type.ACK, code: Code.CONTENT, messageId: sent[0].m.messageId, token: sent[0].m.token });
  assert.equal(sent.length, 2, "it leaves as the answer comes");
  assert.equal(sent[1].at, 1500);
  assert.deepEqual(coap.getOptions(sent[1].m, coap.Opt.URI_PATH).map(coap.readString), ["two"]);
});
