// Every rule of the Espruino compatibility gate that a run can show, shown on the real interpreter (Espruino's
// Linux build, ESP32-like variant, from scripts/espruino.sh): each construct gives one result on Node and another
// on Espruino (so the rule is needed), and the gate names it (so it cannot ship). The rewrites the build applies
// instead of a rule (scripts/espruino-rewrites.mjs) are shown to give Node's result on Espruino.
import test from "node:test";
import assert from "node:assert/strict";
import vm from "node:vm";
import { checkSource } from "../../scripts/gate.mjs";
import { espruinoRewrites } from "../../scripts/espruino-rewrites.mjs";
import { runScript } from "../../host/interpreter/interpreter.mjs";
import { tempDir } from "../sim-support.mjs";

const MARK = "<result>";

/** `result` after running `code` on the interpreter; "no result" when the script did not get that far. */
function onEspruino(dir, code) {
  const r = runScript(`var result;\n${code}\nprint("${MARK}" + (result === undefined ? "undefined" : JSON.stringify(result)));\n`, { dir, timeoutMs: 10000 });
  const line = r.stdout.split(/\r?\n/).find((l) => l.startsWith(MARK));
  if (line) return line === MARK + "undefined" ? undefined : JSON.parse(line.slice(MARK.length));
  const error = r.stdout.split(/\r?\n/).find((l) => /^Uncaught \w+/.test(l));
  return error ? error.replace(/:.*$/, "") : "no result";
}

function onNode(code) {
  const sandbox = { print() {} };
  vm.runInNewContext(`var result;\n${code}\nthis.__result = result;`, sandbox);
  const r = sandbox.__result;
  // Objects from the sandbox's realm compared as plain JSON values.
  return r !== null && typeof r === "object" ? JSON.parse(JSON.stringify(r)) : r;
}

// [rule, code setting `result`, what the gate must name, Node's result, Espruino's result]
const RULES = [
  ["regex ?", 'result = /^ab?c$/.test("abc");', "regular-expression optional quantifier ? (Espruino matches a literal ?)", true, false],
  ["regex quantified group", 'result = /^a(bc)*d$/.test("abcbcd");', "regular-expression quantifier * on a group", true, false],
  ["regex | in a group", 'result = /^a(b|c)d$/.test("acd");', "regular-expression | inside a group (Espruino alternates the whole pattern)", true, false],
  ["regex {n}", 'result = /^a{2}$/.test("aa");', "regular-expression counted quantifier {n,m} (Espruino matches literal braces)", true, false],
  ["regex \\b", 'result = /\\bx/.test("a x");', "regular-expression word boundary \\b (Espruino reads \\b as a backspace)", true, false],
  ["regex (?:", 'result = /^(?:ab)$/.test("ab");', "regular-expression non-capturing group (?:", true, false],
  ["regex lookahead", 'result = /^a(?=b)/.test("ab");', "regular-expression lookahead (?=", true, false],
  ["regex lazy", 'result = /^a+?b$/.test("aab");', "regular-expression lazy quantifier", true, false],
  ["var before its statement",
    'var m = function () { return 1; };\nfunction f() { for (var i = 0; i < 2; i++) { if (i) {} else m = 5; } var m; }\nf(); result = typeof m;',
    '"m" used before its var statement runs (Espruino creates a var only then)', "function", "number"],
  ["string after a skipped block",
    'function f(x) { try { x = JSON.parse(x); } catch (e) { return "bad"; }"number" == typeof x.id ? (result = "dispatched") : (result = "dropped"); }\nf(\'{"id":1}\');',
    "statement starting with a string, template or regular-expression literal right after a block (Espruino loses the literal when it skipped the block)", "dispatched", "dropped"],
  ["regex after a skipped block",
    'function f(s) { try { s = s + ""; } catch (e) { return; }/^bad port$/.test(s) ? (result = "port") : (result = "fine"); }\nf("coap://h:1");',
    "statement starting with a string, template or regular-expression literal right after a block (Espruino loses the literal when it skipped the block)", "fine", "port"],
  ["function declared after statements",
    'result = (function () { try { return g(); } catch (e) { return "not hoisted"; } function g() { return "hoisted"; } })();',
    'function declaration "g" after other statements (Espruino does not hoist functions)', "hoisted", "not hoisted"],
  ["built-in method read from a prototype", "result = typeof Array.prototype.slice;", "Array.prototype.slice (Espruino has no built-in methods on prototypes)", "function", "undefined"],
  ["missing global", "result = typeof Map;", "Map", "function", "undefined"],
  ["missing static", "result = typeof Array.from;", "Array.from", "function", "undefined"],
  ["missing method", 'try { result = [[1], [2]].flat().length; } catch (e) { result = "no flat"; }', ".flat()", 2, "no flat"],
  ["class extends Error", 'class Oops extends Error { constructor(m) { super(m); } }\nresult = new Oops("m").message;', "class extends Error", "m", undefined],
  ["label", "outer: for (;;) { break outer; }\nresult = 1;", 'label "outer"', 1, "Uncaught ReferenceError"],
  ["default parameter", "function f(a = 1) { return a; }\nresult = f();", "default parameter", 1, "Uncaught SyntaxError"],
  ["spread", "result = Math.max(...[1, 2]);", "spread ...", 2, "Uncaught SyntaxError"],
  ["destructuring", "var { a } = { a: 1 };\nresult = a;", "destructuring", 1, "Uncaught ReferenceError"],
  ["optional chaining", "var o = {};\nresult = o?.x;", "optional chaining ?.", undefined, "Uncaught SyntaxError"],
  ["exponent", "result = 2 ** 3;", "exponent operator **", 8, "Uncaught SyntaxError"],
  ["array hole in a skipped branch", 'result = 0 ? [1, , 2].length : "skipped";', "array hole [a,,b]", "skipped", "Uncaught SyntaxError"],
];

for (const [rule, code, construct, nodeResult, espruinoResult] of RULES) {
  test(`gate rule shown on the real interpreter: ${rule}`, (t) => {
    const dir = tempDir(t, "rules-");
    assert.deepEqual(onNode(code), nodeResult, "Node's result");
    assert.deepEqual(onEspruino(dir, code), espruinoResult, "Espruino's result differs from Node's, so the rule is needed");
    const found = checkSource(code, "rule.js").map((f) => f.construct);
    assert.ok(found.includes(construct), `the gate names "${construct}"; it found: ${found.join("; ") || "nothing"}`);
  });
}

test("the build's rewrites give Node's result on the real interpreter: array holes, strings after blocks", (t) => {
  const dir = tempDir(t, "rules-");
  for (const [rule, code] of RULES.filter(([r]) => r === "array hole in a skipped branch" || r === "string after a skipped block" || r === "regex after a skipped block")) {
    const rewritten = espruinoRewrites(code);
    assert.notEqual(rewritten, code, rule);
    assert.deepEqual(onEspruino(dir, rewritten), onNode(code), rule);
    assert.deepEqual(checkSource(rewritten, "rule.js"), [], rule);
  }
});

test("Math.random gives the same numbers after every start of the real interpreter; E.hwRand does not; the gate refuses Math.random", (t) => {
  const dir = tempDir(t, "rules-");
  const code = "result = [Math.random(), E.hwRand()];";
  const [a, b] = [onEspruino(dir, code), onEspruino(dir, code)];
  assert.equal(a[0], b[0], "Math.random repeats");
  assert.notEqual(a[1], b[1], "E.hwRand does not");
  assert.ok(checkSource(code, "r.js").some((f) => f.construct.startsWith("Math.random (Espruino never seeds it")));
});

test("what the gate cannot see, the real interpreter refuses: clearTimeout(undefined)", (t) => {
  const dir = tempDir(t, "rules-");
  const code = 'try { clearTimeout(undefined); result = "cleared"; } catch (e) { result = e.message; }';
  assert.equal(onEspruino(dir, code), "clearTimeout(undefined) not allowed. Use clearTimeout() instead");
  assert.equal(onEspruino(dir, code.replace(/clearTimeout/g, "clearInterval")), "clearInterval(undefined) not allowed. Use clearInterval() instead");
});

test("patterns the firmware uses instead match on the real interpreter as on Node", (t) => {
  const dir = tempDir(t, "rules-");
  const code = `result = [/^CERT_|^UNKNOWN_CA|^NO_CA/.test("UNKNOWN_CA"), /^CERT_|^UNKNOWN_CA|^NO_CA/.test("X_CERT_"),
    /^TOO_LARGE$|^QUEUE_FULL$/.test("QUEUE_FULL"), /^TOO_LARGE$|^QUEUE_FULL$/.test("QUEUE_FULLER"),
    /^[A-Za-z0-9.-]+$/.test("tb.example.com"), /^:[0-9]+$/.test(":5683"), /^[0-9a-fA-F:.]+$/.test("::1"), /^tq[0-9]+$/.test("tq00000012")];`;
  assert.deepEqual(checkSource(code, "patterns.js"), []);
  assert.deepEqual(onEspruino(dir, code), onNode(code));
  assert.deepEqual(onNode(code), [true, false, true, false, true, true, true, true]);
});
