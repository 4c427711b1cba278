// The CoAP codec from the ES5 bundle (dist/lib/coap.cjs, the flashed code): byte-exact vectors from RFC 7252 and
// for every option length form, round trips of generated messages, agreement with coap-packet as an independent
// encoder, and a bounded fuzz run in which the decoder may only throw CoapDecodeError.
import test from "node:test";
import assert from "node:assert/strict";
import { coap } from "../../host/lib.mjs";
import packet from "coap-packet";

const { encodeMessage, decodeMessage, CoapDecodeError, CoapError, Type, Code, Opt, ContentFormat } = coap;

const hex = (s) => Uint8Array.from(s.replace(/\s+/g, "").match(/../g) || [], (h) => parseInt(h, 16));
const toHex = (b) => Buffer.from(b).toString("hex");
const ascii = (s) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const msg = (m) => ({ type: Type.CON, code: Code.GET, messageId: 0, token: new Uint8Array(0), options: [], payload: new Uint8Array(0), ...m });
const plain = (m) => ({ ...m, token: toHex(m.token), payload: toHex(m.payload), options: m.options.map((o) => [o.number, toHex(o.value)]) });

// RFC 7252 section 4.2 / Appendix A style exchanges (figures 4 to 13), written out byte by byte.
const VECTORS = [
  ["CON GET /temperature, MID 0x7d34, no token", msg({ messageId: 0x7d34, options: [{ number: Opt.URI_PATH, value: ascii("temperature") }] }),
    "40 01 7d34 bb 74656d7065726174757265"],
  ["ACK 2.05 piggybacked \"22.3 C\"", msg({ type: Type.ACK, code: Code.CONTENT, messageId: 0x7d34, payload: ascii("22.3 C") }),
    "60 45 7d34 ff 32322e332043"],
  ["CON GET with token 0x20", msg({ messageId: 0x7d34, token: hex("20"), options: [{ number: Opt.URI_PATH, value: ascii("temperature") }] }),
    "41 01 7d34 20 bb 74656d7065726174757265"],
  ["empty ACK", msg({ type: Type.ACK, code: 0, messageId: 0x7d38 }), "60 00 7d38"],
  ["RST", msg({ type: Type.RST, code: 0, messageId: 0x1234 }), "70 00 1234"],
  ["NON 2.05 with 8-byte token", msg({ type: Type.NON, code: Code.CONTENT, messageId: 0xffff, token: hex("0102030405060708"), payload: hex("00") }),
    "58 45 ffff 0102030405060708 ff 00"],
  ["Content-Format 0 is the empty value", msg({ options: [{ number: Opt.CONTENT_FORMAT, value: coap.uintValue(ContentFormat.TEXT) }] }),
    "40 01 0000 c0"],
  ["Observe 0, Uri-Path, Uri-Query, Accept JSON", msg({ messageId: 1, token: hex("abcd"), options: [
    { number: Opt.OBSERVE, value: new Uint8Array(0) }, { number: Opt.URI_PATH, value: ascii("a") },
    { number: Opt.URI_QUERY, value: ascii("k=v") }, { number: Opt.ACCEPT, value: coap.uintValue(50) }] }),
    "42 01 0001 abcd 60 51 61 43 6b3d76 21 32"],
  ["repeated option: delta 0", msg({ options: [{ number: 11, value: ascii("x") }, { number: 11, value: ascii("y") }] }),
    "40 01 0000 b1 78 01 79"],
  // Every delta form: 12 (nibble), 13 (1 byte, 0), 268 (1 byte, 255), 269 (2 bytes, 0), 65535 (2 bytes, 0xfef2).
  ["delta 12", msg({ options: [{ number: 12, value: new Uint8Array(0) }] }), "40 01 0000 c0"],
  ["delta 13", msg({ options: [{ number: 13, value: new Uint8Array(0) }] }), "40 01 0000 d0 00"],
  ["delta 268", msg({ options: [{ number: 268, value: new Uint8Array(0) }] }), "40 01 0000 d0 ff"],
  ["delta 269", msg({ options: [{ number: 269, value: new Uint8Array(0) }] }), "40 01 0000 e0 0000"],
  ["No-Response 258", msg({ options: [{ number: Opt.NO_RESPONSE, value: hex("1a") }] }), "40 01 0000 d1 f5 1a"],
  ["option 65535", msg({ options: [{ number: 65535, value: new Uint8Array(0) }] }), "40 01 0000 e0 fef2"],
  // Every length form: 12, 13, 268, 269, 1000.
  ...[[12, "bc"], [13, "bd 00"], [268, "bd ff"], [269, "be 0000"], [1000, "be 02db"]].map(([n, head]) =>
    [`length ${n}`, msg({ options: [{ number: 11, value: new Uint8Array(n).fill(0x61) }] }), `40 01 0000 ${head} ${"61".repeat(n)}`]),
  ["extended delta and length together", msg({ options: [{ number: 300, value: new Uint8Array(14).fill(1) }] }),
    `40 01 0000 ed 001f 01 ${"01".repeat(14)}`],
];

for (const [name, m, bytes] of VECTORS) {
  test(`encode: ${name}`, () => assert.equal(toHex(encodeMessage(m)), toHex(hex(bytes))));
  test(`decode: ${name}`, () => assert.deepEqual(plain(decodeMessage(hex(bytes))), plain(m)));
}

const BAD = [
  ["", "truncated-header"],
  ["4001 00", "truncated-header"],
  ["8001 0000", "bad-version"],
  ["0001 0000", "bad-version"],
  ["4901 0000 0102030405060708 09", "token-length"],
  ["4f01 0000", "token-length"],
  ["4401 0000 0102", "truncated-header"],
  ["4000 0000 ff", "empty-with-data"],
  ["6000 0000 00", "empty-with-data"],
  ["6100 0000 01", "empty-with-data"],
  ["4001 0000 f0", "reserved-nibble"],
  ["4001 0000 0f", "reserved-nibble"],
  ["4001 0000 d0", "truncated-option"],
  ["4001 0000 e0 00", "truncated-option"],
  ["4001 0000 0d", "truncated-option"],
  ["4001 0000 b3 6162", "truncated-option"],
  ["4001 0000 ff", "empty-payload"],
  ["4001 0000 b1 61 ff", "empty-payload"],
  ["4001 0000 e0 fef2 10", "bad-option-number"],
];
for (const [bytes, reason] of BAD) {
  test(`decode refuses ${bytes || "(nothing)"} with ${reason}`, () => {
    assert.throws(() => decodeMessage(hex(bytes)), (e) => {
      assert.ok(e instanceof CoapDecodeError, "a CoapDecodeError");
      assert.equal(e.reason, reason);
      assert.equal(typeof e.message, "string");
      assert.ok(e.message.length > 5);
      return true;
    });
  });
}

test("encode refuses what the wire cannot carry", () => {
  const bad = [
    msg({ token: new Uint8Array(9) }),
    msg({ options: [{ number: 11, value: new Uint8Array(0) }, { number: 3, value: new Uint8Array(0) }] }),
    msg({ options: [{ number: 65536, value: new Uint8Array(0) }] }),
    msg({ options: [{ number: 11, value: new Uint8Array(65805) }] }),
  ];
  for (const m of bad) assert.throws(() => encodeMessage(m), (e) => e instanceof CoapError && e.code === "bad-message");
});

test("decode without a payload marker has an empty payload, and missing message fields encode as empty", () => {
  assert.equal(toHex(encodeMessage({ type: Type.NON, code: Code.POST, messageId: 7 })), "50020007");
  assert.equal(decodeMessage(hex("5002 0007")).payload.length, 0);
});

test("codeString", () => {
  assert.equal(coap.codeString(Code.CONTENT), "2.05");
  assert.equal(coap.codeString(Code.CONTINUE), "2.31");
  assert.equal(coap.codeString(Code.NOT_FOUND), "4.04");
  assert.equal(coap.codeString(Code.SERVICE_UNAVAILABLE), "5.03");
  assert.equal(coap.codeString(0), "0.00");
});

// A small seeded PRNG (mulberry32) so that a failure is reproducible from the printed seed.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomMessage(r) {
  const int = (n) => Math.floor(r() * n);
  const bytes = (n) => Uint8Array.from({ length: n }, () => int(256));
  const lengths = [0, 1, 4, 12, 13, 14, 268, 269, 270, 600];
  const options = [];
  let number = 0;
  for (let k = int(8); k--; ) {
    const jump = [0, 1, 5, 12, 13, 100, 268, 269, 1000, 20000][int(10)];
    if (number + jump > 65535) break;
    number += jump;
    options.push({ number, value: bytes(lengths[int(lengths.length)] % (int(3) ? 20 : 700)) });
  }
  const code = int(4) ? int(256) || 1 : 0;
  return {
    type: int(4), code, messageId: int(65536),
    token: code ? bytes(int(9)) : new Uint8Array(0),
    options: code ? options : [],
    payload: code && int(2) ? bytes(1 + int(int(5) ? 30 : 1500)) : new Uint8Array(0),
  };
}

test("round trip: every generated message decodes to itself, and coap-packet parses the same message", () => {
  const seed = 20261127;
  const r = prng(seed);
  for (let n = 0; n < 3000; n++) {
    const m = randomMessage(r);
    const bytes = encodeMessage(m);
    assert.deepEqual(plain(decodeMessage(bytes)), plain(m), `seed ${seed}, message ${n}`);
    if (m.code && m.options.every((o) => o.number < 2048)) {
      const p = packet.parse(Buffer.from(bytes));
      assert.equal(p.messageId, m.messageId);
      assert.equal(toHex(p.token), toHex(m.token));
      assert.equal(toHex(p.payload), toHex(m.payload));
      assert.equal(p.options.length, m.options.length, `seed ${seed}, message ${n}`);
    }
  }
});

test("fuzz: mutated and random datagrams give a message or a CoapDecodeError, nothing else", () => {
  const seed = 7252;
  const r = prng(seed);
  const int = (n) => Math.floor(r() * n);
  let decoded = 0;
  let refused = 0;
  for (let n = 0; n < 20000; n++) {
    let b;
    if (n % 4 === 0) b = Uint8Array.from({ length: int(40) }, () => int(256));
    else {
      b = encodeMessage(randomMessage(r));
      for (let k = 1 + int(4); k--; ) {
        const what = int(3);
        if (what === 0 && b.length) b[int(b.length)] = int(256);
        else if (what === 1) b = b.subarray(0, int(b.length + 1));
        else b = Uint8Array.from([...b, int(256)]);
      }
    }
    try {
      const m = decodeMessage(b);
      // Whatever decodes must re-encode to the same bytes: the decoder accepts only canonical forms.
      assert.equal(toHex(encodeMessage(m)), toHex(b), `seed ${seed}, datagram ${n}`);
      decoded++;
    } catch (e) {
      if (!(e instanceof CoapDecodeError)) throw new Error(`seed ${seed}, datagram ${n} ${toHex(b)}: ${e && e.stack}`);
      refused++;
    }
  }
  assert.ok(decoded > 1000 && refused > 1000, `both outcomes exercised (${decoded} decoded, ${refused} refused)`);
});

test("option helpers: uint, string, block values and ordered insertion", () => {
  assert.deepEqual([...coap.uintValue(0)], []);
  assert.deepEqual([...coap.uintValue(255)], [255]);
  assert.deepEqual([...coap.uintValue(256)], [1, 0]);
  assert.deepEqual([...coap.uintValue(0x1000000)], [1, 0, 0, 0]);
  assert.deepEqual([...coap.uintValue(0xffffffff)], [255, 255, 255, 255]);
  for (const v of [0, 1, 255, 256, 65535, 65536, 0xffffff, 0x1000000, 0xffffffff]) assert.equal(coap.readUint(coap.uintValue(v)), v);
  for (const bad of [2 ** 32, -1, 1.5, NaN]) {
    assert.throws(() => coap.uintValue(bad), (e) => e instanceof coap.CoapError && e.code === "bad-value" &&
      e.message === `option value ${bad} is not a whole number from 0 to 2^32-1`, String(bad));
  }
  assert.deepEqual([...coap.stringValue("a\u00e9")], [0x61, 0xe9]);
  assert.equal(coap.readString(Uint8Array.of(0x61, 0xe9)), "a\u00e9");
  assert.deepEqual([...coap.blockValue({ num: 0, more: true, szx: 6 })], [0x0e]);
  assert.deepEqual([...coap.blockValue({ num: 1, more: false, szx: 2 })], [0x12]);
  assert.deepEqual([...coap.blockValue({ num: 0, more: false, szx: 0 })], []);
  assert.deepEqual([...coap.blockValue({ num: 0xfffff, more: true, szx: 6 })], [0xff, 0xff, 0xfe]);
  assert.deepEqual(coap.readBlock(Uint8Array.of(0xff, 0xff, 0xfe)), { num: 0xfffff, more: true, szx: 6 });
  assert.deepEqual(coap.readBlock(new Uint8Array(0)), { num: 0, more: false, szx: 0 });

  const m = msg({});
  coap.addOption(m, Opt.URI_QUERY, "b=2");
  coap.addOption(m, Opt.URI_PATH, "api");
  coap.addOption(m, Opt.URI_PATH, "v1");
  coap.addOption(m, Opt.OBSERVE, 0);
  coap.addOption(m, Opt.URI_QUERY, "c=3");
  coap.addOption(m, Opt.CONTENT_FORMAT, ContentFormat.JSON);
  assert.deepEqual(m.options.map((o) => o.number), [6, 11, 11, 12, 15, 15]);
  assert.deepEqual(coap.getOptions(m, Opt.URI_PATH).map(coap.readString), ["api", "v1"]);
  assert.equal(coap.readString(coap.getOption(m, Opt.URI_QUERY)), "b=2");
  assert.equal(coap.getOption(m, Opt.ETAG), undefined);
  coap.setOption(m, Opt.URI_PATH, "x");
  assert.deepEqual(coap.getOptions(m, Opt.URI_PATH).map(coap.readString), ["x"]);
  coap.setOption(m, Opt.OBSERVE);
  assert.deepEqual(m.options.map((o) => o.number), [11, 12, 15, 15]);
  assert.equal(toHex(encodeMessage(m)), "40010000b178" + "1132" + "33623d32" + "03633d33");
});
