// The WebAssembly engine's life cycle: a trap discards the instance (its memory can no longer be trusted), the
// sockets on it fail in words, and the next connection gets a fresh instance.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { DtlsTrap, DtlsWasm, WASM_PATH, getDtlsWasm } from "../../host/dtls/wasm.mjs";
import { createDtlsModule } from "../../host/dtls/module.mjs";
import { freeUdpPort } from "../../host/dtls/peers.mjs";

test("the module is a reactor whose only imports are the three platform services (no WASI)", () => {
  const module = new WebAssembly.Module(fs.readFileSync(WASM_PATH));
  assert.deepEqual(WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}`).sort(),
    ["env.dtls_clock_ms", "env.dtls_random", "env.dtls_unix_time"]);
  const exports = WebAssembly.Module.exports(module).map((e) => e.name);
  for (const name of ["_initialize", "memory", "dtls_conn_new", "dtls_feed", "dtls_read", "dtls_write", "dtls_alloc"]) {
    assert.ok(exports.includes(name), name);
  }
  assert.ok(!exports.includes("_start"), "a reactor, not a command");
});

test("a trap kills the instance; every later call refuses", () => {
  const wasm = new DtlsWasm();
  assert.throws(() => wasm.call("dtls_state", 0xfffffff0), (e) => e instanceof DtlsTrap && e.code === "ENGINE_CRASHED" && /^DTLS engine crashed: /.test(e.message));
  assert.equal(wasm.dead, true);
  assert.throws(() => wasm.call("dtls_heap_used"), /instance already discarded/);
});

test("the shared instance is replaced after a crash", () => {
  const first = getDtlsWasm();
  assert.throws(() => first.call("dtls_out_len", 0xfffffff0), DtlsTrap);
  const second = getDtlsWasm();
  assert.notEqual(second, first);
  assert.equal(second.dead, false);
  assert.equal(typeof second.call("dtls_heap_used"), "number");
});

test("a socket whose engine crashed reports it and closes; a new socket works on a fresh engine", async () => {
  const port = await freeUdpPort();
  const dtls = createDtlsModule({ log: () => {} });
  const socket = dtls.connect({ host: "127.0.0.1", port, insecure: true, retransmitMinMs: 100 });
  const events = [];
  const closed = new Promise((resolve) => {
    socket.on("error", (e) => events.push(e));
    socket.on("close", resolve);
  });
  // Let the ClientHello go out, then crash the shared engine under the socket; its retransmission timer finds out.
  await new Promise((r) => setTimeout(r, 30));
  assert.throws(() => getDtlsWasm().call("dtls_state", 0xfffffff0), DtlsTrap);
  await closed;
  assert.equal(events.length, 1);
  assert.equal(events[0].code, "ENGINE_CRASHED");
  assert.match(events[0].message, /^DTLS engine crashed: /);
  const again = dtls.connect({ host: "127.0.0.1", port, insecure: true });
  const closedAgain = new Promise((resolve) => again.on("close", resolve));
  again.close();
  await closedAgain;
});

test("memory growth: views are re-made after calls, so data survives many allocations", () => {
  const wasm = new DtlsWasm();
  const before = wasm.memoryBytes();
  const blocks = [];
  for (let i = 0; i < 40; i++) blocks.push(wasm.copyIn(Buffer.alloc(64 * 1024, i)));
  assert.ok(wasm.memoryBytes() > before, "memory grew");
  blocks.forEach((p, i) => assert.equal(wasm.bytes(p, 64 * 1024).every((b) => b === i), true));
  blocks.forEach((p) => wasm.release(p));
});
