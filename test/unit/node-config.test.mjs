// The node's configuration, telemetry packing and firmware checksums, through the ES5 library bundle that
// carries the very code flashed to the board.
import test from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { nodeLib as lib } from "../../host/lib.mjs";
import { installE } from "../../host/espruino/E.mjs";

installE();

const base = { server: "coap://127.0.0.1:5683", token: "A1_TEST_TOKEN" };

test("a minimal configuration gets the documented defaults", () => {
  const { config, errors } = lib.validateConfig(base);
  assert.deepEqual(errors, []);
  assert.deepEqual(config, { server: "coap://127.0.0.1:5683", token: "A1_TEST_TOKEN", insecure: false, intervalS: 60,
    queueMax: 200, otaMaxTrials: 3, sleep: false, clientTs: true });
});

const BAD = [
  [{ server: "http://tb:8080", token: "t" }, '"server" must be a coap:// or coaps:// URI such as coaps://thingsboard.example.com (got "http://tb:8080")'],
  [{ token: "t" }, '"server" must be a coap:// or coaps:// URI such as coaps://thingsboard.example.com (got undefined)'],
  [{ server: "coap://tb:70000", token: "t" }, '"server" has a port outside 1-65535'],
  [{ server: "coap://tb" }, 'one of "token", "provision" or (with coaps) "cert" and "key" is needed to identify the device'],
  [{ ...base, token: "has space" }, '"token" must be 1-128 printable characters without "/" or spaces (value not shown)'],
  [{ ...base, server: "coaps://tb" }, `"ca" is needed for a coaps:// server: the CA certificate that signed the server's certificate (or set "insecure": true to skip verification, which is unsafe)`],
  [{ ...base, ca: "ca.pem" }, '"ca", "cert", "key" and "insecure" need a coaps:// server'],
  [{ ...base, server: "coaps://tb", ca: "ca.pem", cert: "dev.pem" }, '"cert" and "key" must be given together'],
  [{ ...base, intervalS: 1 }, '"intervalS" must be a whole number from 5 to 86400 (got 1)'],
  [{ ...base, queueMax: 2.5 }, '"queueMax" must be a whole number from 1 to 5000 (got 2.5)'],
  [{ ...base, sleep: "yes" }, '"sleep" must be true or false'],
  [{ ...base, wifi: { ssid: "" } }, '"wifi.ssid" must be 1-32 characters (bytes of UTF-8)'],
  [{ ...base, wifi: "home" }, '"wifi" must be {"ssid": "1-32 characters", "password": "8-63 characters, or none for an open network"}'],
  [{ ...base, wifi: { ssid: "home", password: "abc" } }, '"wifi.password" must be 8-63 characters (WPA2), or empty or left out for an open network (value not shown)'],
  [{ ...base, wifi: { ssid: "home", password: "p".repeat(64) } }, '"wifi.password" must be 8-63 characters (WPA2), or empty or left out for an open network (value not shown)'],
  [{ ...base, server: "coap://." }, '"server" must be a coap:// or coaps:// URI such as coaps://thingsboard.example.com (got "coap://.", not a host name or IP address)'],
  [{ ...base, server: "coap://-" }, '"server" must be a coap:// or coaps:// URI such as coaps://thingsboard.example.com (got "coap://-", not a host name or IP address)'],
  [{ ...base, server: "coap://a..b" }, '"server" must be a coap:// or coaps:// URI such as coaps://thingsboard.example.com (got "coap://a..b", not a host name or IP address)'],
  [{ ...base, server: "coap://999.999.999.999" }, '"server" must be a coap:// or coaps:// URI such as coaps://thingsboard.example.com (got "coap://999.999.999.999", not a host name or IP address)'],
  [{ ...base, server: "coap://[:::::]" }, '"server" must be a coap:// or coaps:// URI such as coaps://thingsboard.example.com (got "coap://[:::::]", not a host name or IP address)'],
  [{ ...base, server: "coap://tb.example.com:5683/A1_TEST_TOKEN" }, '"server" must be just coap[s]://host[:port]: ThingsBoard\'s paths are fixed (got a path or query in "coap://tb.example.com:5683/A1_TEST_TOKEN")'],
  [{ ...base, provision: { key: "k" }, token: undefined }, '"provision.secret" must be the provisioning secret (value not shown)'],
  [{ ...base, tokn: "x" }, '"tokn" is not a configuration field'],
];

for (const [raw, message] of BAD) {
  test(`a bad configuration is refused naming the field: ${message.slice(0, 50)}`, () => {
    const clean = JSON.parse(JSON.stringify(raw));
    const { config, errors } = lib.validateConfig(clean);
    assert.equal(config, undefined);
    assert.ok(errors.includes(message), `expected ${JSON.stringify(message)} in ${JSON.stringify(errors)}`);
  });
}

test("secret values never appear in configuration errors", () => {
  const secret = "SUPER SECRET/TOKEN";
  const { errors } = lib.validateConfig({ server: "coap://tb", token: secret, provision: { key: 1, secret: "PSECRET" } });
  const text = errors.join("\n");
  assert.ok(errors.length >= 2);
  assert.ok(!text.includes("SECRET"), text);
});

test("loadConfig explains a missing file and broken JSON", () => {
  const files = {};
  const storage = { read: (n) => files[n] };
  assert.deepEqual(lib.loadConfig(storage).errors, ['no configuration: Storage file "node.cfg" is missing (write it with npm run configure)']);
  files["node.cfg"] = "{server:";
  assert.deepEqual(lib.loadConfig(storage).errors, ['configuration in "node.cfg" is not valid JSON']);
  files["node.cfg"] = JSON.stringify(base);
  assert.equal(lib.loadConfig(storage).config.token, "A1_TEST_TOKEN");
});

test("readings are packed in order into payloads of at most the byte budget", () => {
  const readings = [];
  for (let i = 0; i < 40; i++) readings.push({ ts: 1700000000000 + i * 60000, values: { temperature: 20 + i / 10, battery: 3.71 } });
  const packs = lib.packReadings(readings, 1024);
  assert.ok(packs.length > 1);
  assert.equal(packs.reduce((n, p) => n + p.count, 0), 40);
  const back = packs.flatMap((p) => {
    assert.ok(p.payload.length <= 1024, `payload of ${p.payload.length} bytes`);
    const v = JSON.parse(p.payload);
    return Array.isArray(v) ? v : [v];
  });
  assert.deepEqual(back, readings);
  assert.equal(lib.packReadings([{ ts: 0, values: { temperature: 25 } }], 1024)[0].payload, '{"temperature":25}');
  assert.equal(lib.readingJson({ ts: 5, values: { a: 1 } }), '{"ts":5,"values":{"a":1}}');
});

// Espruino's crypto module returns digests as ArrayBuffers.
const espruinoCrypto = {
  SHA256: (s) => new Uint8Array(crypto.createHash("sha256").update(Buffer.from(s, "latin1")).digest()).buffer,
};

test("firmware checksums: SHA256, CRC32 in ThingsBoard's little-endian hex, unsupported algorithms named", () => {
  const data = "123456789";
  assert.equal(lib.crc32Hex(data), "2639f4cb");
  assert.equal(lib.verifyChecksum(espruinoCrypto, data, "CRC32", "2639F4CB"), null);
  const sha = crypto.createHash("sha256").update(data).digest("hex");
  assert.equal(lib.verifyChecksum(espruinoCrypto, data, "SHA256", sha), null);
  assert.equal(lib.verifyChecksum(espruinoCrypto, data + "x", "SHA256", sha),
    `checksum mismatch: SHA256 of the download is ${crypto.createHash("sha256").update(data + "x").digest("hex")}, expected ${sha}`);
  assert.equal(lib.verifyChecksum(espruinoCrypto, data, "MD5", "x"),
    "checksum algorithm MD5 is not supported by this node (use SHA256 or CRC32)");
  const binary = String.fromCharCode(0, 255, 128, 10, 13);
  assert.equal(lib.verifyChecksum(espruinoCrypto, binary, "SHA256",
    crypto.createHash("sha256").update(Buffer.from([0, 255, 128, 10, 13])).digest("hex")), null);
});
