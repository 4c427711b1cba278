// The firmware bundles' size steps (scripts/bundles.mjs): the names that never leave the firmware (private class
// members, members of @firmwareOnly interfaces) shortened, class prototypes read once. A fixture goes through the
// firmware pipeline and must behave the same; the flashed bundle must carry none of the CoAP stack's long names.
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import vm from "node:vm";
import { rollup } from "rollup";
import typescript from "@rollup/plugin-typescript";
import { firmwareConfig } from "../../scripts/bundles.mjs";
import { loadBoard } from "../../boards/board-file.mjs";
import { markInternalNames } from "../../scripts/internal-names.mjs";
import { tempDir } from "../temp-dir.mjs";

const FIXTURE = "test/fixtures/coap-size";

/** Bundles `entry` as firmware for the sim board; resolves to the code. */
async function bundleFixture(entry, dir) {
  const config = firmwareConfig(loadBoard("boards/sim.json"));
  config.input = path.join(FIXTURE, entry);
  config.output.file = path.join(dir, entry.replace(".ts", ".js"));
  config.plugins[1] = typescript({
    tsconfig: path.join(FIXTURE, "tsconfig.json"), tslib: path.resolve("src/platform/tslib.js"),
    transformers: { before: [{ type: "program", factory: markInternalNames }] },
  });
  const bundle = await rollup(config);
  try {
    await bundle.write(config.output);
  } finally {
    await bundle.close();
  }
  return fs.readFileSync(config.output.file, "utf8");
}

test("shortened names keep behaviour: JSON keys and foreign methods stay, private members and @firmwareOnly members shrink", async (t) => {
  const dir = tempDir(t, "coap-size-");
  const code = await bundleFixture("entry.ts", dir);
  const context = vm.createContext({ JSON });
  vm.runInContext(code, context);
  assert.deepEqual(JSON.parse(JSON.stringify(context.fixtureResult)), {
    trips: [25, 4],
    started: 'linked {"online":true,"sent":1,"connect":"json"}',
    stopped: 1,
    loose: true,
    message: [0x1234, 11, 97, 7],
  });
  assert.doesNotMatch(code, /\.sent\b/, "a private member is shortened");
  assert.match(code, /\.online\b/, "a private member that an unresolved access shares keeps its name");
  assert.match(code, /\.connect\(\)/, "a foreign object's method keeps its name");
  assert.doesNotMatch(code, /\.messageId\b/, "a member of an @firmwareOnly interface is shortened");
  assert.doesNotMatch(code, /\bhops\b|\bvia\b/, "... in accesses, literals, shorthand, destructuring and a class implementing it");
  assert.match(code, /\.value\b/, "a member of an interface that is not marked (CoapOption.value) keeps its name");
  assert.equal(code.match(/prototype/g).length, 2, "each class's prototype is read once (Node's three methods through an alias)");
});

test("an @firmwareOnly member spelt as a string keeps its name everywhere, and its behaviour", async (t) => {
  const dir = tempDir(t, "coap-size-");
  const code = await bundleFixture("spelt.ts", dir);
  const context = vm.createContext({});
  vm.runInContext(code, context);
  assert.equal(context.fixtureResult, 7);
  assert.match(code, /\btally:6\b/);
  assert.match(code, /\.tally\b/);
});

test("the flashed bundle carries none of the CoAP stack's shortened names", () => {
  // dist/ as set-up (npm test's pretest) built it from these sources.
  const code = fs.readFileSync("dist/esp32/firmware.js", "utf8");
  // The CoAP stack's message, request, transmission-parameter, exchange and transport fields (names of one or two
  // letters are left out: the minifier may give those to other properties).
  const internal = ["messageId", "szx", "contentFormat", "confirmable", "onMessage", "onError", "ackTimeout", "ackRandomFactor",
    "maxRetransmit", "nstart", "exchangeLifetime", "nonLifetime", "responseTimeout", "blockSzx", "maxBodySize", "observeSilence",
    "wire", "ackOnly", "acked", "tries", "onNotify", "onEnd"];
  for (const name of internal) {
    assert.doesNotMatch(code, new RegExp(`\\.${name}\\b(?!\\$)|[{,]${name}:`), `property ${name} is shortened`);
  }
});
