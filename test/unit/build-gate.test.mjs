// The Espruino compatibility gate: every construct Espruino cannot run is caught (one sample each, with the
// construct named and the line right), and clean Espruino-safe code passes.
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { checkSource, bundlesUnder, checkFiles, formatFinding } from "../../scripts/gate.mjs";
import { tempDir } from "../temp-dir.mjs";

// [sample, the construct the gate must name]
const FORBIDDEN = [
  ["var {a} = o;", "destructuring"],
  ["var [a, b] = o;", "destructuring"],
  ["({a: x} = o);", "destructuring assignment"],
  ["function f({a}) {}", "destructuring parameter"],
  ["f(...args);", "spread ..."],
  ["var a = [...b];", "spread ..."],
  ["var o = {...p};", "spread ..."],
  ["function f(...rest) {}", "rest parameter"],
  ["function f(a = 1) {}", "default parameter"],
  ["var f = (a = 1) => a;", "default parameter"],
  ["var o = {[k]: 1};", "computed property key"],
  ["class A { [k]() {} }", "computed class member key"],
  ["var v = a?.b;", "optional chaining ?."],
  ["var v = a ** 2;", "exponent operator **"],
  ["a **= 2;", "exponent operator **="],
  ["a ||= 1;", "logical assignment ||="],
  ["a &&= 1;", "logical assignment &&="],
  ["a ??= 1;", "logical assignment ??="],
  ["async function f() {}", "async function"],
  ["var f = async () => 1;", "async function"],
  ["function* g() { yield 1; }", "generator function"],
  ["outer: for (;;) { break outer; }", 'label "outer"'],
  ["var s = tag`x${1}`;", "tagged template"],
  ["var a = [1, , 2];", "array hole [a,,b]"],
  ["function F() { return new.target; }", "new.target"],
  ["var n = 10n;", "BigInt literal"],
  ["var s = Symbol('x');", "Symbol"],
  ["var m = new Map();", "Map"],
  ["var s = new Set();", "Set"],
  ["var w = new WeakMap();", "WeakMap"],
  ["var p = new Proxy({}, {});", "Proxy"],
  ["Reflect.ownKeys(o);", "Reflect"],
  ["var e = new TextEncoder();", "TextEncoder"],
  ["throw new RangeError('x');", "RangeError"],
  ["var a = Array.from(s);", "Array.from"],
  ["var a = Uint8Array.from(s);", "Uint8Array.from"],
  ["Object.freeze(o);", "Object.freeze"],
  ["Number.isInteger(n);", "Number.isInteger"],
  ["var t = Math.trunc(x);", "Math.trunc"],
  ["Promise.race([p]);", "Promise.race"],
  ["p.finally(function () {});", ".finally()"],
  ["var s = Array.prototype.slice.call(arguments);", "Array.prototype.slice (Espruino has no built-in methods on prototypes)"],
  ["var f = String.prototype.trim;", "String.prototype.trim (Espruino has no built-in methods on prototypes)"],
  ["var f = Function.prototype.bind;", "Function.prototype.bind (Espruino has no built-in methods on prototypes)"],
  ["s.search('x');", ".search()"],
  ["a.flat();", ".flat()"],
  ["var r = /a{2}/;", "regular-expression counted quantifier {n,m} (Espruino matches literal braces)"],
  ["var r = /^coaps?:/;", "regular-expression optional quantifier ? (Espruino matches a literal ?)"],
  ["var r = /^a(bc)*d$/;", "regular-expression quantifier * on a group"],
  ["var r = /^a(b|c)d$/;", "regular-expression | inside a group (Espruino alternates the whole pattern)"],
  ["var r = /\\u0041/;", "regular-expression escape \\u"],
  ["function f(x) { if (x) { x = 1 } \"number\" == typeof x && g(); }", "statement starting with a string, template or regular-expression literal right after a block (Espruino loses the literal when it skipped the block)"],
  ["function f() { for (var i = 0; i < 2; i++) { if (i) m(); else m = 5; } var m; }", '"m" used before its var statement runs (Espruino creates a var only then)'],
  ["var r = /(?:ab)+/;", "regular-expression non-capturing group (?:"],
  ["var r = /a(?=b)/;", "regular-expression lookahead (?="],
  ["var r = /\\bword/;", "regular-expression word boundary \\b (Espruino reads \\b as a backspace)"],
  ["var r = /a+?/;", "regular-expression lazy quantifier"],
  ["var r = /(a)\\1/;", "regular-expression backreference"],
  ["var r = /^a$/m;", 'regular-expression flag "m"'],
  ["var r = new RegExp('x{1,3}');", "regular-expression counted quantifier {n,m} (Espruino matches literal braces)"],
  ["var s = 'caf\u00e9';", "non-ASCII byte 0xE9"],
  ["class E2 extends Error {}", "class extends Error"],
  ["__extends(MyError, Error);", "class extends Error"],
  ["class A extends mix(B) {}", "class extends an expression"],
  ["f(); function f() {}", 'function declaration "f" after other statements (Espruino does not hoist functions)'],
  ["var x = import('m');", "dynamic import()"],
];

for (const [sample, construct] of FORBIDDEN) {
  test(`gate catches ${construct}: ${sample}`, () => {
    // Two lines of clean code first, so the reported line number is checked too.
    const code = `var ok = 1;\nvar fine = [ok];\n${sample}\n`;
    const findings = checkSource(code, "sample.js");
    assert.ok(findings.length >= 1, `nothing reported for ${sample}`);
    const hit = findings.find((f) => f.construct === construct);
    assert.ok(hit, `expected "${construct}", got ${findings.map((f) => f.construct).join("; ")}`);
    assert.equal(hit.line, 3);
    assert.equal(hit.file, "sample.js");
    assert.match(formatFinding(hit), /^sample\.js:3:\d+: /);
  });
}

test("gate passes code Espruino runs: ES5 with the helpers, classes, arrows, let/const, templates, safe regexes", () => {
  const code = [
    "function helper(d, b) { for (var k in b) if (Object.prototype.hasOwnProperty.call(b, k)) d[k] = b[k]; }",
    "function Base() { this.x = 1; }",
    "function vars(a) { var b = a, c = b; for (var i = 0; i < 2; i++) c += i; try { c++ } catch (e) { e = 1; } return function () { return d; }; var d = c; }",
    "function str(x) { if (x) { x = 1 }; \"a\" == x && str(0); return (\"b\") == x; }",
    "var Derived = (function (_super) { function Derived() { return _super.call(this) || this; }",
    "  helper(Derived, _super); Derived.prototype.get = function () { return this.x; }; return Derived; })(Base);",
    "const squares = [1, 2, 3].map((n) => n * n);",
    "let text = `n=${squares.length}`;",
    "var re = /^[a-z0-9_]+\\.js$|^[a-z0-9_]+\\.json$/i, list = [1, 2].concat([].slice.call([3]));",
    "class Reading { constructor(v) { this.v = v; } static of(v) { return new Reading(v); } get value() { return this.v; } }",
    "var o = { a: 1, 'b-c': 2, m() { return 3; } };",
    "var Map1 = {}; var obj = { Map: 1 }; obj.Symbol = 2; var p = Promise.all([]).then(function () {});",
    "var s = 'plain ascii \\u00e9 escape';",
    "for (var i = 0; i < 3; i++) { if (i) continue; }",
    "Math.floor(Math.pow(2, 3)); Object.keys(o); JSON.stringify(o);",
  ].join("\n");
  assert.deepEqual(checkSource(code, "clean.js"), []);
});

test("a local variable named like a missing global is not reported", () => {
  assert.deepEqual(checkSource("function f(Map) { return new Map(); }", "x.js"), []);
  assert.deepEqual(checkSource("var Set = function () {}; new Set();", "x.js"), []);
});

test("unparseable input is reported with its position, not thrown", () => {
  const [f] = checkSource("var a = ;", "bad.js");
  assert.equal(f.line, 1);
  assert.match(f.construct, /^cannot be parsed as a script: Unexpected token/);
});

test("every built bundle in dist/ passes the gate", () => {
  assert.ok(fs.existsSync("dist"), "run npm run build first (npm test does it)");
  const files = bundlesUnder("dist");
  assert.ok(files.some((f) => f.endsWith("esp32/firmware.js")));
  assert.ok(files.some((f) => f.endsWith("esp32c3/firmware.js")));
  assert.ok(files.some((f) => f.endsWith("sim/firmware.js")));
  assert.deepEqual(checkFiles(files).map(formatFinding), []);
});

test("the gate's command line names file and line and exits 1 on a bad bundle", async (t) => {
  const { spawnSync } = await import("node:child_process");
  const path = await import("node:path");
  const dir = tempDir(t, "gate-");
  const bad = path.join(dir, "firmware.js");
  fs.writeFileSync(bad, "var a = 1;\nvar b = a?.c;\n");
  const r = spawnSync(process.execPath, ["scripts/gate.mjs", dir], { encoding: "utf8" });
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`${bad.replace(/[.]/g, "\\.")}:2:9: optional chaining \\?\\.`));
});

test("the real interpreter's hardware layer (compiled into it) passes the gate too", async () => {
  const dir = new URL("../../firmware/espruino/hardware/", import.meta.url).pathname;
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".js")).map((f) => dir + f);
  assert.ok(files.length >= 3);
  assert.deepEqual(checkFiles(files), []);
});
