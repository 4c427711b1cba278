// DTLS metrics (issue 4). Ratios are taken against their peer in the same run: the native build of the same shim,
// and libcoap's coap-client-openssl doing the same coaps GET as a whole process.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { DtlsConfig, DtlsConnection } from "../host/dtls/connection.mjs";
import { createDtlsModule } from "../host/dtls/module.mjs";
import { createCa, issueCert } from "../host/dtls/pki.mjs";
import { startCoapServer, coapGet } from "../host/dtls/peers.mjs";
import { DtlsWasm, WASM_PATH } from "../host/dtls/wasm.mjs";
import { ROOT, runScript } from "../host/interpreter/interpreter.mjs";

const BUILD = path.join(path.dirname(WASM_PATH));
const BATCHES = 5;
const PER_BATCH = 8;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** One in-process handshake between a client and a server connection; returns the established pair. */
function handshake(clientConfig, serverConfig, session) {
  const client = new DtlsConnection(clientConfig, { hostname: "localhost" });
  if (session) client.importSession(session);
  let server = new DtlsConnection(serverConfig, { peerId: "127.0.0.1:40000" });
  client.process();
  for (let round = 0; round < 20; round++) {
    for (const d of client.takeOutgoing()) {
      server.feed(d);
      server.process();
    }
    if (server.state === "hello-verify-sent") {
      const hvr = server.takeOutgoing();
      server.free();
      server = new DtlsConnection(serverConfig, { peerId: "127.0.0.1:40000" });
      for (const d of hvr) {
        client.feed(d);
        client.process();
      }
      continue;
    }
    for (const d of server.takeOutgoing()) {
      client.feed(d);
      client.process();
    }
    if (client.state === "established" && server.state === "established") return { client, server };
  }
  throw new Error(`in-process handshake did not finish: ${client.error.message} / ${server.error.message}`);
}

/**
 * Handshake times, wasm and native, measured in alternating batches so that load from other processes on the
 * shared machine hits both alike: the ratio is of the medians of the batch means.
 */
function handshakeTimes(pki) {
  const wasm = new DtlsWasm();
  const cc = new DtlsConfig({ ca: pki.ca.pem, connectionId: true }, wasm);
  const sc = new DtlsConfig({ role: "server", cert: pki.server.pem, key: pki.server.keyPem, connectionId: true }, wasm);
  const time = (session) => {
    const t0 = performance.now();
    const pair = handshake(cc, sc, session);
    const ms = performance.now() - t0;
    if (session && !pair.client.resumed) throw new Error("resumption did not happen");
    pair.client.free();
    pair.server.free();
    return ms;
  };
  for (let i = 0; i < 3; i++) time();
  const warm = handshake(cc, sc);
  const session = warm.client.exportSession();
  warm.client.free();
  warm.server.free();

  const wasmFull = [];
  const wasmResumed = [];
  const native = [];
  for (let batch = 0; batch < BATCHES; batch++) {
    const out = execFileSync(path.join(BUILD, "dtls-selftest"), [pki.ca.cert, pki.server.cert, pki.server.key, "localhost", String(PER_BATCH)]);
    native.push(JSON.parse(out.toString()).full_ms);
    let full = 0;
    let resumed = 0;
    for (let i = 0; i < PER_BATCH; i++) full += time();
    for (let i = 0; i < PER_BATCH; i++) resumed += time(session);
    wasmFull.push(full / PER_BATCH);
    wasmResumed.push(resumed / PER_BATCH);
  }

  // Heap of one idle established client connection: everything allocated for it minus the shared configuration.
  const before = wasm.call("dtls_heap_used");
  const { client, server } = handshake(cc, sc);
  server.free();
  const heldByClient = wasm.call("dtls_heap_used") - before;
  client.free();
  return { fullMs: median(wasmFull), resumedMs: median(wasmResumed), nativeMs: median(native), bytesPerConnection: heldByClient };
}

/** A coaps GET through the firmware's DTLS module: handshake plus request until the 2.05 arrives. */
function moduleGet(port, caPem) {
  const dtls = createDtlsModule({ log: () => {} });
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const socket = dtls.connect({ host: "127.0.0.1", port, ca: caPem });
    socket.on("connect", () => socket.send(coapGet(["time"]).toString("latin1")));
    socket.on("message", (m) => {
      const ms = performance.now() - t0;
      socket.close();
      if (m.charCodeAt(1) !== 0x45) reject(new Error("GET did not return 2.05"));
      else resolve(ms);
    });
    socket.on("error", (e) => reject(new Error(e.message)));
  });
}

function coapClientGet(port, caFile) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn("coap-client-openssl", ["-R", caFile, "-m", "get", `coaps://127.0.0.1:${port}/time`], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("exit", (code) => {
      const ms = performance.now() - t0;
      if (code !== 0 || !out.trim()) reject(new Error(`coap-client-openssl failed (${code}): ${out}`));
      else resolve(ms);
    });
  });
}

/**
 * The same coaps GET (handshake plus request until the 2.05) on the real interpreter through its native DTLS module,
 * `runs` times in one interpreter process, timed inside the VM; and the JsVars the first connection holds once
 * established (listeners defined beforehand, so only what the connection itself costs is counted).
 */
function interpreterGets(port, caPem, runs) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dtls-bench-vm-"));
  try {
    fs.writeFileSync(path.join(dir, "ca.pem"), caPem);
    const get = '"' + [...coapGet(["time"])].map((b) => "\\x" + b.toString(16).padStart(2, "0")).join("") + '"';
    const script = `
var D = require("DTLS"), CA = require("fs").readFileSync("ca.pem"), GET = ${get};
var times = [], i = 0, s, t0, base, held;
function onConnect() { if (i === 0) held = process.memory().usage - base; s.send(GET); }
function onMessage(m) { if (m.charCodeAt(1) === 0x45) times.push((getTime() - t0) * 1000); s.close(); }
function onError(e) { print("<error " + e.message + ">"); }
function onClose() { if (++i < ${runs}) setTimeout(one, 5); else print("<times " + times.join(",") + "><held " + held + ">"); }
function one() {
  t0 = getTime();
  if (i === 0) base = process.memory().usage;
  s = D.connect({ host: "127.0.0.1", port: ${port}, ca: CA });
  s.on("connect", onConnect); s.on("message", onMessage); s.on("error", onError); s.on("close", onClose);
}
one();
`;
    const out = runScript(script, { dir, timeoutMs: 60000 }).stdout;
    const times = /<times ([0-9.,]+)>/.exec(out);
    const held = /<held (\d+)>/.exec(out);
    if (!times || !held || times[1].split(",").length !== runs) throw new Error(`the interpreter's coaps GETs failed: ${out.slice(-600)}`);
    return { ms: median(times[1].split(",").map(Number)), jsVars: Number(held[1]) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** text+data of the interpreter's DTLS module: the shim with mbedTLS (one object) and the module's wrapper. */
function nativeModuleBytes() {
  const objects = [path.join(BUILD, "dtls-espruino.o")];
  const cache = path.join(ROOT, ".cache", "espruino");
  for (const tree of fs.existsSync(cache) ? fs.readdirSync(cache) : []) {
    const obj = path.join(cache, tree, "obj-NODE_ESP32", ROOT, "firmware/espruino/dtls/jswrap_dtls.o");
    if (fs.existsSync(obj)) objects.push(obj);
  }
  if (objects.length < 2) throw new Error("the interpreter's DTLS wrapper object is missing: run scripts/espruino.sh");
  return objects.slice(0, 2).reduce((sum, o) => {
    const [text, data] = execFileSync("size", [o]).toString().trim().split("\n")[1].trim().split(/\s+/).map(Number);
    return sum + text + data;
  }, 0);
}

/**
 * The ESP32-C3's flash cost of the shim and mbedTLS: text bytes of the rv32imc library, after checking it is what
 * the device needs (RV32 compressed code exporting the shim's API, needing only the three platform services), and
 * that the device recipe's `make cross` with this toolchain makes one object whose only globals are the shim's.
 */
function riscvTextBytes() {
  const lib = path.join(BUILD, "libdtls-rv32imc.a");
  const check = (ok, what) => { if (!ok) throw new Error(`the RISC-V build is wrong: ${what}`); };
  const header = execFileSync("riscv64-unknown-elf-readelf", ["-h", path.join(BUILD, "riscv", "dtls_shim.o")], { encoding: "utf8" });
  check(/Class:\s+ELF32/.test(header) && /Machine:\s+RISC-V/.test(header) && /RVC, soft-float ABI/.test(header), "not rv32imc code");
  const defined = execFileSync("riscv64-unknown-elf-nm", ["--defined-only", lib], { encoding: "utf8" });
  for (const name of ["dtls_conn_new", "dtls_feed", "dtls_read", "dtls_write", "dtls_session_export", "mbedtls_ssl_handshake_step"]) {
    check(new RegExp(` T ${name}\\b`).test(defined), `${name} is not defined`);
  }
  const needed = execFileSync("riscv64-unknown-elf-nm", ["--undefined-only", lib], { encoding: "utf8" });
  for (const name of ["dtls_platform_random", "dtls_platform_clock_ms", "dtls_platform_unix_time"]) check(new RegExp(`U ${name}\\b`).test(needed), `${name} is not needed`);

  const out = fs.mkdtempSync(path.join(os.tmpdir(), "dtls-cross-"));
  try {
    const mbedtls = fs.readdirSync(path.join(ROOT, ".cache")).find((d) => /^mbedtls-3\.6/.test(d));
    execFileSync("make", ["-s", "-j2", "-C", path.join(ROOT, "firmware"), `MBEDTLS=${path.join(ROOT, ".cache", mbedtls)}`, `OUT=${out}`,
      "CROSS=riscv64-unknown-elf-", "CROSS_CFLAGS=-march=rv32imc -mabi=ilp32 --specs=picolibc.specs", "cross"], { stdio: "pipe" });
    const object = path.join(out, "cross", "dtls-espruino.o");
    const globals = execFileSync("riscv64-unknown-elf-nm", ["-g", "--defined-only", object], { encoding: "latin1" }).split("\n").map((l) => l.trim().split(/\s+/).pop()).filter(Boolean);
    check(globals.length > 0 && globals.every((s) => s.startsWith("dtls_")), "the cross object exports more than dtls_*");
    check(/elf32-littleriscv/.test(execFileSync("riscv64-unknown-elf-objdump", ["-f", object], { encoding: "latin1" })), "the cross object is not RISC-V");
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
  const sizes = execFileSync("riscv64-unknown-elf-size", ["-t", lib]).toString().trim().split("\n");
  return Number(sizes[sizes.length - 1].trim().split(/\s+/)[0]);
}

export async function run() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dtls-bench-"));
  try {
    const ca = createCa(dir, "ca");
    const pki = { ca, server: issueCert(ca, "server", { dns: ["localhost"], ips: ["127.0.0.1"] }) };
    const times = handshakeTimes(pki);

    const server = await startCoapServer({ cert: pki.server.cert, key: pki.server.key });
    let ours, theirs, vm;
    try {
      await moduleGet(server.port, ca.pem);
      await coapClientGet(server.port, ca.cert);
      const a = [];
      const b = [];
      for (let i = 0; i < 10; i++) {
        a.push(await moduleGet(server.port, ca.pem));
        b.push(await coapClientGet(server.port, ca.cert));
      }
      ours = median(a);
      theirs = median(b);
      vm = interpreterGets(server.port, ca.pem, 11);
    } finally {
      await server.stop();
    }
    return {
      "dtls.handshake_wasm_vs_native": times.fullMs / times.nativeMs,
      "dtls.get_vs_coap_client_openssl": ours / theirs,
      "dtls.resumed_vs_full": times.resumedMs / times.fullMs,
      "dtls.bytes_per_connection": times.bytesPerConnection,
      "dtls.wasm_bytes": fs.statSync(WASM_PATH).size,
      "dtls.riscv_text_bytes": riscvTextBytes(),
      "dtls.native_module_bytes": nativeModuleBytes(),
      "dtls.handshake_native_vm_vs_wasm_sim": vm.ms / ours,
      "dtls.connection_jsvars": vm.jsVars,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
