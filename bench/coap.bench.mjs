// CoAP core benchmarks, measured against the coap-packet npm package in the same run:
// - coap.codec_speedup_vs_coap_packet: encode+decode throughput of a ThingsBoard-shaped message mix (telemetry POST,
//   attribute GET with query, observe notification, Block2 response, empty ACK), ours (the ES5 bundle
//   dist/lib/coap.cjs) divided by coap-packet's generate+parse on the same messages.
// - coap.core_min_bytes: our codec plus message layer (src/coap/codec.ts and endpoint.ts with what they import),
//   bundled and minified exactly as the firmware bundles are: scripts/internal-names.mjs's renaming and
//   scripts/bundles.mjs's firmwareTerserOptions (ES5, top-level mangling, the names that never leave the firmware
//   shortened).
// - coap.core_size_vs_coap_packet: that size divided by coap-packet's index.js minified with the same options except
//   property shortening (its property names are its API).
// - coap.core_min_bytes_unshortened: our core with every property name kept (as in dist/lib/coap.cjs), for comparison.
// - coap.codec_min_bytes: the codec alone (encodeMessage, decodeMessage), minified as the firmware is.
// With COAP_FUZZ=N in the environment it also feeds N mutated and random datagrams to the decoder and reports
// coap.fuzz_datagrams (the run fails on any exception other than CoapDecodeError).
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { loadLibrary } from "../host/lib.mjs";
import { rollup } from "rollup";
import typescript from "@rollup/plugin-typescript";
import { minify } from "terser";
import { build } from "../scripts/build.mjs";
import { firmwareTerserOptions } from "../scripts/bundles.mjs";
import { markInternalNames } from "../scripts/internal-names.mjs";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const require = createRequire(import.meta.url);
const packet = require("coap-packet");

// The firmware's own terser options: the same compression, and the same shortening of the names internal-names.mjs
// marks that dist/<board>/firmware.js gets.
const TERSER = firmwareTerserOptions;
// coap-packet's property names are its public API, so it is minified without property shortening.
/** @type {import("terser").MinifyOptions} */
const TERSER_NO_PROPS = { ...TERSER, mangle: { toplevel: true } };

function mix(coap) {
  const { Type, Code, Opt, ContentFormat, stringValue: s, uintValue: u, blockValue } = coap;
  const tok = Uint8Array.of(0x5c, 0x1a, 0x93, 0x0e);
  const at = (number, value) => ({ number, value });
  const block = new Uint8Array(1024).map((_, i) => 32 + (i % 90));
  return [
    { type: Type.CON, code: Code.POST, messageId: 0x1234, token: tok, payload: s('{"temperature":21.47,"humidity":48.2,"battery":3.71}'),
      options: [at(Opt.URI_PATH, s("api")), at(Opt.URI_PATH, s("v1")), at(Opt.URI_PATH, s("A1b2C3d4E5f6G7h8I9j0")), at(Opt.URI_PATH, s("telemetry")), at(Opt.CONTENT_FORMAT, u(ContentFormat.JSON))] },
    { type: Type.CON, code: Code.GET, messageId: 0x1235, token: tok, payload: new Uint8Array(0),
      options: [at(Opt.URI_PATH, s("api")), at(Opt.URI_PATH, s("v1")), at(Opt.URI_PATH, s("A1b2C3d4E5f6G7h8I9j0")), at(Opt.URI_PATH, s("attributes")),
        at(Opt.URI_QUERY, s("clientKeys=fw_version,serial")), at(Opt.URI_QUERY, s("sharedKeys=interval,threshold"))] },
    { type: Type.CON, code: Code.CONTENT, messageId: 0xa0b1, token: tok, payload: s('{"interval":60,"threshold":27.5}'),
      options: [at(Opt.OBSERVE, u(0x01f3)), at(Opt.CONTENT_FORMAT, u(ContentFormat.JSON))] },
    { type: Type.ACK, code: Code.CONTENT, messageId: 0x1236, token: tok, payload: block,
      options: [at(Opt.BLOCK2, blockValue({ num: 3, more: true, szx: 6 })), at(Opt.SIZE2, u(70000))] },
    { type: Type.ACK, code: 0, messageId: 0xa0b1, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) },
  ];
}

const NAMES = { 6: "Observe", 11: "Uri-Path", 12: "Content-Format", 15: "Uri-Query", 23: "Block2", 28: "Size2" };

function asCoapPacket(coap, m) {
  return {
    confirmable: m.type === 0, reset: m.type === 3, ack: m.type === 2, code: coap.codeString(m.code), messageId: m.messageId,
    token: Buffer.from(m.token), payload: Buffer.from(m.payload),
    options: m.options.map((o) => ({ name: NAMES[o.number], value: Buffer.from(o.value) })),
  };
}

/** Operations per second of `fn` (one call = one pass over the mix), best of `rounds` timed slices. */
function throughput(fn, rounds = 7, sliceMs = 250) {
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const start = process.hrtime.bigint();
    const end = start + BigInt(sliceMs) * 1000000n;
    let now = start;
    while (now < end) {
      for (let k = 0; k < 200; k++) fn();
      n += 200;
      now = process.hrtime.bigint();
    }
    best = Math.max(best, n / (Number(now - start) / 1e9));
  }
  return best;
}

async function codecSpeedup(coap) {
  const ours = mix(coap);
  const theirs = ours.map((m) => asCoapPacket(coap, m));
  // Both encoders must put the same bytes on the wire, or the comparison is meaningless.
  for (let i = 0; i < ours.length; i++) {
    const a = Buffer.from(coap.encodeMessage(ours[i])).toString("hex");
    const b = packet.generate(theirs[i]).toString("hex");
    if (a !== b) throw new Error(`message ${i} encodes differently: ours ${a}, coap-packet ${b}`);
  }
  let sink = 0;
  const oursFn = () => {
    for (let i = 0; i < ours.length; i++) sink += coap.decodeMessage(coap.encodeMessage(ours[i])).options.length;
  };
  const theirsFn = () => {
    for (let i = 0; i < theirs.length; i++) sink += packet.parse(packet.generate(theirs[i])).options.length;
  };
  // Warm both up, then alternate so that neither gets a systematically better moment of the machine.
  throughput(oursFn, 2, 100);
  throughput(theirsFn, 2, 100);
  let a = 0;
  let b = 0;
  for (let k = 0; k < 3; k++) {
    a = Math.max(a, throughput(oursFn, 2));
    b = Math.max(b, throughput(theirsFn, 2));
  }
  if (!sink) throw new Error("benchmark loop optimised away");
  return a / b;
}

/** Minified bytes of a bundle that exports `names` from src/coap/<file>.ts, as the firmware build minifies. */
/** @param {object} exports @param {import("terser").MinifyOptions} [terserOptions] */
async function minifiedBytes(exports, terserOptions = TERSER) {
  const shorten = terserOptions === TERSER;
  const entry = "\0coap-core";
  const bundle = await rollup({
    input: entry,
    onwarn: (w, warn) => { if (w.code !== "UNRESOLVED_IMPORT") warn(w); },
    plugins: [
      {
        name: "coap-core-entry",
        resolveId: (id) => (id === entry ? entry : null),
        load: (id) => id === entry
          ? Object.entries(exports).map(([file, names]) => `export { ${names} } from ${JSON.stringify(path.join(root, `src/coap/${file}.ts`))};`).join("\n")
          : null,
      },
      typescript({ tsconfig: path.join(root, "tsconfig.json"), tslib: path.join(root, "src/platform/tslib.js"), noEmit: false, outputToFilesystem: false,
        transformers: shorten ? { before: [{ type: "program", factory: markInternalNames }] } : undefined }),
    ],
  });
  const { output } = await bundle.generate({ format: "es" });
  await bundle.close();
  return Buffer.byteLength((await minify(output[0].code, { ...terserOptions, module: true })).code);
}

async function coapPacketBytes() {
  const source = fs.readFileSync(require.resolve("coap-packet"), "utf8");
  return Buffer.byteLength((await minify(source, { ...TERSER_NO_PROPS, ecma: 2020 })).code);
}

function fuzz(coap, count) {
  let seed = 0x7252;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 4294967296;
  };
  const int = (n) => Math.floor(rand() * n);
  const samples = mix(coap).map((m) => coap.encodeMessage(m));
  for (let n = 0; n < count; n++) {
    let b;
    if (n % 3 === 0) b = Uint8Array.from({ length: int(64) }, () => int(256));
    else {
      b = Uint8Array.from(samples[int(samples.length)].subarray(0, 80 + int(60)));
      for (let k = 1 + int(4); k--; ) b[int(b.length)] = int(256);
      b = b.subarray(0, int(b.length + 1));
    }
    try {
      coap.decodeMessage(b);
    } catch (e) {
      if (!(e instanceof coap.CoapDecodeError)) throw new Error(`datagram ${n} (${Buffer.from(b).toString("hex")}): ${e && e.stack}`);
    }
  }
  return count;
}

export async function run() {
  await build({ quiet: true });
  const coap = loadLibrary("coap", path.join(root, "dist"));
  const out = {};
  out["coap.codec_speedup_vs_coap_packet"] = await codecSpeedup(coap);
  const codec = { codec: "encodeMessage, decodeMessage, CoapDecodeError" };
  const core = await minifiedBytes({ ...codec, endpoint: "createEndpoint" });
  const theirs = await coapPacketBytes();
  out["coap.core_min_bytes"] = core;
  out["coap.core_size_vs_coap_packet"] = core / theirs;
  // For transparency: the same core with every property name kept, as in dist/lib/coap.cjs.
  out["coap.core_min_bytes_unshortened"] = await minifiedBytes({ ...codec, endpoint: "createEndpoint" }, TERSER_NO_PROPS);
  // For scale: the codec alone, against coap-packet (which is only a codec).
  out["coap.codec_min_bytes"] = await minifiedBytes(codec);
  const n = parseInt(process.env.COAP_FUZZ || "0", 10);
  if (n > 0) out["coap.fuzz_datagrams"] = fuzz(coap, n);
  return out;
}
