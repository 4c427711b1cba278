// Loads build/dtls/dtls.wasm (the mbedTLS DTLS shim, a WASI reactor with no WASI imports) and wraps its memory.
// The instance is shared by every connection of the process, as the native module is shared on the device. A trap
// leaves the instance's memory in an unknown state, so the instance is then discarded and the next user gets a
// fresh one (`getDtlsWasm()`); connections of the dead instance fail with code "ENGINE_CRASHED".
import fs from "node:fs";
import { webcrypto } from "node:crypto";
import { performance } from "node:perf_hooks";

export const WASM_PATH = new URL("../../build/dtls/dtls.wasm", import.meta.url).pathname;

let compiled = null;
let shared = null;

function compile() {
  if (!compiled) {
    if (!fs.existsSync(WASM_PATH)) {
      throw new Error(`DTLS: ${WASM_PATH} is missing; build it with firmware/build.sh (npm run setup does)`);
    }
    compiled = new WebAssembly.Module(fs.readFileSync(WASM_PATH));
  }
  return compiled;
}

export class DtlsTrap extends Error {
  constructor(cause) {
    super(`DTLS engine crashed: ${cause && cause.message}`);
    this.code = "ENGINE_CRASHED";
  }
}

export class DtlsWasm {
  /** `unixTime()` returns seconds since 1970 (certificate validity); tests may pass another clock. */
  constructor({ unixTime = () => Date.now() / 1000 } = {}) {
    this.dead = false;
    const imports = {
      env: {
        dtls_random: (ptr, len) => {
          // getRandomValues takes at most 65536 bytes at a time.
          for (let off = 0; off < len; off += 65536) {
            webcrypto.getRandomValues(new Uint8Array(this.memory.buffer, ptr + off, Math.min(65536, len - off)));
          }
          return 0;
        },
        dtls_clock_ms: () => performance.now(),
        dtls_unix_time: () => unixTime(),
      },
    };
    this.instance = new WebAssembly.Instance(compile(), imports);
    /** The shim's exports (firmware/dtls_shim.h): functions of numbers and pointers. */
    this.exports = /** @type {Record<string, (...args: number[]) => number>} */ (/** @type {unknown} */ (this.instance.exports));
    this.memory = /** @type {WebAssembly.Memory} */ (this.instance.exports.memory);
    this.exports._initialize();
  }

  /** Calls an export; a trap kills the instance. Views of memory must be made after each call (it may grow). */
  call(name, ...args) {
    if (this.dead) throw new DtlsTrap(new Error("instance already discarded after an earlier crash"));
    try {
      return this.exports[name](...args);
    } catch (e) {
      this.dead = true;
      if (shared === this) shared = null;
      throw new DtlsTrap(e);
    }
  }

  /** Copies bytes into fresh wasm memory; the caller releases the pointer with `release`. */
  copyIn(bytes) {
    const ptr = this.call("dtls_alloc", bytes.length);
    if (!ptr) throw new Error("DTLS: out of WebAssembly memory");
    new Uint8Array(this.memory.buffer, ptr, bytes.length).set(bytes);
    return ptr;
  }

  release(ptr) {
    if (ptr && !this.dead) this.call("dtls_release", ptr);
  }

  /** Runs fn(ptr, len) with bytes copied in, releasing them after. */
  withBytes(bytes, fn) {
    const ptr = this.copyIn(bytes);
    try {
      return fn(ptr, bytes.length);
    } finally {
      this.release(ptr);
    }
  }

  bytes(ptr, len) {
    return new Uint8Array(this.memory.buffer, ptr, len).slice();
  }

  cstring(ptr) {
    if (!ptr) return "";
    const mem = new Uint8Array(this.memory.buffer);
    let end = ptr;
    while (end < mem.length && mem[end] !== 0) end++;
    return Buffer.from(mem.subarray(ptr, end)).toString("latin1");
  }

  /** Size of the linear memory (it grows and never shrinks; dtls_heap_used counts what is allocated). */
  memoryBytes() {
    return this.memory.buffer.byteLength;
  }
}

/** The process-wide instance, re-created after a crash. */
export function getDtlsWasm() {
  if (!shared || shared.dead) shared = new DtlsWasm();
  return shared;
}
