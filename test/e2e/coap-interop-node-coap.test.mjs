// Interoperability of the CoAP endpoint (ES5 bundle, Espruino-shaped dgram) with a second, independent
// implementation: the `coap` npm package's server, run in this process on 127.0.0.1.
import test from "node:test";
import assert from "node:assert/strict";
import { coap } from "../../host/lib.mjs";
import nodeCoap from "coap";
import { createDgramModule } from "../../host/espruino/dgram.mjs";
import { installE } from "../../host/espruino/E.mjs";

const { Code, Opt, ContentFormat, getOption, readString, readUint } = coap;
installE();

async function startServer(handler) {
  const server = nodeCoap.createServer({ piggybackReplyMs: 50 }, handler);
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { server, port: server._sock.address().port, stop: () => new Promise((r) => server.close(r)) };
}

function connect(port, options = {}) {
  const transport = coap.createUdpTransport(createDgramModule(), "127.0.0.1", port, { recvBufferSize: 1500 });
  return coap.createEndpoint(transport, { ackTimeout: 300, ...options });
}

test("node-coap: piggybacked GET, separate response after 50 ms, POST echo with Content-Format, 4.04", async () => {
  const { port, stop } = await startServer((req, res) => {
    if (req.url === "/hello") res.end("world");
    else if (req.url === "/slow") setTimeout(() => res.end("late"), 200);
    else if (req.url.startsWith("/echo") && req.method === "POST") {
      res.setOption("Content-Format", "application/json");
      res.end(JSON.stringify({ got: req.payload.toString("latin1"), format: req.headers["Content-Format"], query: req.url.split("?")[1] }));
    } else {
      res.code = "4.04";
      res.end();
    }
  });
  const ep = connect(port);
  try {
    const hello = await ep.request({ path: "/hello" });
    assert.equal(hello.code, Code.CONTENT);
    assert.equal(readString(hello.payload), "world");
    const slow = await ep.request({ path: "/slow" });
    assert.equal(readString(slow.payload), "late");
    const echo = await ep.request({ method: Code.POST, path: "/echo?a=1&b=2", payload: '{"t":1}', contentFormat: ContentFormat.JSON });
    assert.equal(readUint(getOption(echo, Opt.CONTENT_FORMAT)), ContentFormat.JSON);
    assert.deepEqual(JSON.parse(readString(echo.payload)), { got: '{"t":1}', format: "application/json", query: "a=1&b=2" });
    assert.equal((await ep.request({ path: "/nothing" })).code, Code.NOT_FOUND);
  } finally {
    ep.close();
    await stop();
  }
});

test("node-coap: Block2 download of a 4000-byte response and a Block1 upload of 3000 bytes", async () => {
  const big = Buffer.alloc(4000);
  for (let i = 0; i < big.length; i++) big[i] = 48 + (i % 43);
  let uploaded = null;
  const { port, stop } = await startServer((req, res) => {
    if (req.url === "/big") res.end(big);
    else if (req.url === "/upload") {
      uploaded = Buffer.from(req.payload);
      res.code = "2.04";
      res.end();
    }
  });
  const ep = connect(port);
  try {
    const got = await ep.request({ path: "/big" });
    assert.equal(got.payload.length, 4000);
    assert.equal(Buffer.from(got.payload).toString("latin1"), big.toString("latin1"));
    const body = new Uint8Array(3000).map((_, i) => i & 255);
    const put = await ep.request({ method: Code.PUT, path: "/upload", payload: body });
    assert.equal(put.code, Code.CHANGED);
    assert.equal(Buffer.compare(uploaded, Buffer.from(body)), 0);
  } finally {
    ep.close();
    await stop();
  }
});

test("node-coap: observe with several notifications; cancelling stops them at the server", async () => {
  let stream = null;
  let finished = false;
  const { port, stop } = await startServer((req, res) => {
    if (req.headers.Observe !== 0) return res.end("plain");
    stream = res;
    res.on("finish", () => { finished = true; });
    res.write("n0");
  });
  const ep = connect(port);
  try {
    const seen = [];
    const ends = [];
    const obs = ep.observe({ path: "/obs" }, (m) => seen.push(readString(m.payload)), (e) => ends.push(e));
    for (let k = 0; k < 100 && !stream; k++) await new Promise((r) => setTimeout(r, 10));
    for (let n = 1; n <= 3; n++) {
      await new Promise((r) => setTimeout(r, 60));
      stream.write("n" + n);
    }
    for (let k = 0; k < 100 && seen.length < 4; k++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(seen, ["n0", "n1", "n2", "n3"]);
    obs.cancel(false);
    // The next notification is answered with RST, which ends the server's stream.
    stream.write("after cancel");
    for (let k = 0; k < 200 && !finished; k++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(finished, "the server's observe stream ended");
    assert.deepEqual(seen, ["n0", "n1", "n2", "n3"]);
    assert.deepEqual(ends, []);
  } finally {
    ep.close();
    await stop();
  }
});
