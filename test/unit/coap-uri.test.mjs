// URI helpers from the ES5 bundle: coap:// and coaps:// URIs to options (RFC 7252 section 6.4) and back (6.5).
import test from "node:test";
import assert from "node:assert/strict";
import { coap } from "../../host/lib.mjs";

const opts = (list) => list.map((o) => [o.number, coap.readString(o.value)]);

test("parseUri: host, default and explicit ports, path and query, percent-decoding", () => {
  let u = coap.parseUri("coap://Example.COM/api/v1/TOKEN/telemetry");
  assert.deepEqual([u.secure, u.host, u.port], [false, "example.com", 5683]);
  assert.deepEqual(opts(u.options), [[11, "api"], [11, "v1"], [11, "TOKEN"], [11, "telemetry"]]);
  u = coap.parseUri("coaps://[::1]:6000/a%20b/%C3%A9?x=1&y=%26");
  assert.deepEqual([u.secure, u.host, u.port], [true, "::1", 6000]);
  assert.deepEqual(opts(u.options), [[11, "a b"], [11, "\u00c3\u00a9"], [15, "x=1"], [15, "y=&"]]);
  u = coap.parseUri("coap://10.0.0.1");
  assert.deepEqual([u.host, u.port, u.options.length], ["10.0.0.1", 5683, 0]);
  assert.deepEqual(opts(coap.parseUri("coap://h/").options), []);
  assert.deepEqual(opts(coap.parseUri("coap://h/a/").options), [[11, "a"], [11, ""]]);
  assert.deepEqual(opts(coap.parseUri("coap://h?q").options), [[15, "q"]]);
});

test("parseUri takes every valid host form: names, IPv4, IPv6 with :: and an embedded IPv4", () => {
  for (const [uri, host] of [["coap://tb-1.example.com", "tb-1.example.com"], ["coap://localhost", "localhost"], ["coap://255.255.255.255", "255.255.255.255"],
    ["coap://[::]", "::"], ["coap://[fe80::1:2]", "fe80::1:2"], ["coap://[1:2:3:4:5:6:7:8]", "1:2:3:4:5:6:7:8"], ["coap://[::ffff:192.0.2.1]", "::ffff:192.0.2.1"],
    [`coap://${"a".repeat(63)}.io`, `${"a".repeat(63)}.io`]]) {
    assert.equal(coap.parseUri(uri).host, host, uri);
  }
});

test("uriOptions adds Uri-Host for names and Uri-Port for non-default ports only", () => {
  assert.deepEqual(opts(coap.uriOptions("coap://127.0.0.1/x")), [[11, "x"]]);
  const withPort = coap.uriOptions("coap://tb.local:5700/x");
  assert.deepEqual(withPort.map((o) => o.number), [3, 7, 11]);
  assert.equal(coap.readUint(withPort[1].value), 5700);
  assert.deepEqual(opts(coap.uriOptions("coaps://tb.local:5684/x")), [[3, "tb.local"], [11, "x"]]);
});

test("bad URIs give CoapError bad-uri naming the problem", () => {
  for (const [uri, why] of [["http://h/x", "scheme"], ["coap://h/x#f", "fragment"], ["coap:///x", "no host"],
    ["coap://h:99999/", "bad port"], ["coap://h:8x/", "bad port"], ["coap://h:0/", "bad port"], ["coap://h/%zz", "percent-escape"],
    ["coap://[::1/x", "unclosed"], ["coap://./", "bad host"], ["coap://-/", "bad host"], ["coap://a..b/", "bad host"],
    ["coap://-a.b/", "bad host"], ["coap://999.999.999.999/", "bad host"], ["coap://1.2.3/", "bad host"], ["coap://[:::::]/", "bad host"],
    ["coap://[1::2::3]/", "bad host"], ["coap://[12345::1]/", "bad host"], ["coap://[1:2:3:4:5:6:7:8:9]/", "bad host"],
    ["coap://h_x/", "bad host"], [`coap://${"a".repeat(64)}.com/`, "bad host"]]) {
    assert.throws(() => coap.parseUri(uri), (e) => e instanceof coap.CoapError && e.code === "bad-uri" && e.message.includes(why) && e.message.includes(uri));
  }
});

test("formatUri is the inverse for paths, queries and ports", () => {
  for (const uri of ["coap://example.com/api/v1/T/attributes?clientKeys=a,b&sharedKeys=c", "coaps://[::1]:6000/a%20b?x%26=1",
    "coap://h:1234/", "coap://h/%C3%A9/%2F"]) {
    const u = coap.parseUri(uri);
    assert.equal(coap.formatUri(coap.uriOptions(uri), u.secure, u.host, u.port), uri);
  }
  assert.equal(coap.formatUri(coap.pathOptions("/time?x"), false, "127.0.0.1", 5683), "coap://127.0.0.1/time?x");
});
