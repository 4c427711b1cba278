#!/usr/bin/env node
// The Espruino compatibility gate: parses a bundle with a real JavaScript parser (acorn) and reports, with file, line
// and column, every construct that Espruino 2v2x cannot run or runs wrongly (docs/espruino.md; each rule that a run
// can show is shown on the real interpreter by test/e2e/interpreter-rules.test.mjs). The build runs it on every bundle
// and fails on any finding; so do the tests.
import fs from "node:fs";
import path from "node:path";
import * as acorn from "acorn";
import * as walk from "acorn-walk";
import { literalsAfterBlocks } from "./espruino-rewrites.mjs";

// Globals Espruino does not have at all: `typeof X` is "undefined" there.
const MISSING_GLOBALS = new Set(["Symbol", "Map", "Set", "WeakMap", "WeakSet", "WeakRef", "FinalizationRegistry",
  "Proxy", "Reflect", "Intl", "BigInt", "BigInt64Array", "BigUint64Array", "TextEncoder", "TextDecoder",
  "RangeError", "EvalError", "URIError", "SharedArrayBuffer", "Atomics", "queueMicrotask", "structuredClone"]);

// Static members that are missing although their object exists.
const TYPED_ARRAYS = ["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array",
  "Uint32Array", "Float32Array", "Float64Array"];
const MISSING_STATICS = {
  Array: ["from", "of"],
  Object: ["freeze", "seal", "preventExtensions", "isFrozen", "isSealed", "isExtensible", "is", "groupBy"],
  Number: ["isInteger", "isSafeInteger", "isNaN", "isFinite", "parseFloat", "MAX_SAFE_INTEGER", "MIN_SAFE_INTEGER",
    "EPSILON"],
  Math: ["trunc", "log2", "log10", "log1p", "expm1", "hypot", "imul", "clz32", "fround", "cbrt", "sinh", "cosh",
    "tanh", "asinh", "acosh", "atanh"],
  Promise: ["race", "allSettled", "any"],
  String: ["fromCodePoint", "raw"],
};
for (const t of TYPED_ARRAYS) MISSING_STATICS[t] = ["from", "of"];

// Instance methods Espruino lacks on every type that could receive them.
const MISSING_METHODS = new Set(["finally", "flat", "flatMap", "reduceRight", "copyWithin", "codePointAt", "normalize",
  "localeCompare", "trimStart", "trimEnd", "trimLeft", "trimRight", "search", "toPrecision", "toLocaleString",
  "matchAll", "findLast", "findLastIndex"]);

// Espruino finds built-in methods by the receiver's type, so they are not properties of these prototypes.
const BUILTIN_CONSTRUCTORS = new Set(["Array", "String", "Function", "Promise", "Number", "Boolean", "Date", "RegExp",
  "ArrayBuffer", "DataView", "Error", "TypeError", ...TYPED_ARRAYS]);
const OBJECT_PROTOTYPE_OK = new Set(["hasOwnProperty", "toString", "valueOf"]);

/**
 * What Espruino's regular-expression engine (src/jswrap_regexp.c, a small backtracking matcher) does differently
 * from JavaScript. It knows characters, `.`, classes `[...]`, the escapes \d \D \s \S \w \W \f \n \r \t \v \0
 * \xHH and escaped punctuation, `*` and `+` after one of those, `^`, `$`, capture groups and `|`. Anything else is
 * either matched as literal characters or misread, silently: `?` is a literal question mark, `{2}` literal braces, a
 * quantifier after `)` applies to a literal `)`, `\b` is a backspace, and `|` ends the whole alternative wherever it
 * stands, so inside a group it restarts matching with the text after it. Each finding names the feature.
 */
export function regexProblems(pattern, flags) {
  const out = [];
  for (const f of flags) if (f !== "g" && f !== "i") out.push(`regular-expression flag "${f}"`);
  const ESCAPES = "dDsSwWfnrtv0";
  let inClass = false;
  let depth = 0;
  const atom = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    const prev = atom.length ? atom[atom.length - 1] : "start";
    if (c === "\\") {
      const n = pattern[i + 1] || "";
      if (n === "b" || n === "B") out.push(inClass ? "regular-expression \\b in a class" : `regular-expression word boundary \\${n} (Espruino reads \\b as a backspace)`);
      else if (/[1-9]/.test(n)) out.push("regular-expression backreference");
      else if (n === "k") out.push("regular-expression named backreference");
      else if (n === "p" || n === "P") out.push("regular-expression Unicode property escape");
      else if (n === "x") {
        if (!/^[0-9a-fA-F]{2}$/.test(pattern.slice(i + 2, i + 4))) out.push("regular-expression \\x escape without two hex digits");
        i += 2;
      } else if (/[A-Za-z]/.test(n) && !ESCAPES.includes(n)) out.push(`regular-expression escape \\${n}`);
      i++;
      if (!inClass) atom.push("char");
      continue;
    }
    if (inClass) {
      if (c === "]") { inClass = false; atom.push("char"); }
      continue;
    }
    if (c === "[") inClass = true;
    else if (c === "(") {
      if (pattern[i + 1] === "?") {
        const k = pattern[i + 2];
        if (k === ":") out.push("regular-expression non-capturing group (?:");
        else if (k === "=" || k === "!") out.push(`regular-expression lookahead (?${k}`);
        else if (k === "<" && (pattern[i + 3] === "=" || pattern[i + 3] === "!")) out.push("regular-expression lookbehind");
        else out.push("regular-expression named group");
        i++;
      }
      depth++;
      atom.push("open");
    } else if (c === ")") {
      depth = Math.max(0, depth - 1);
      atom.push("close");
    } else if (c === "|") {
      if (depth > 0) out.push("regular-expression | inside a group (Espruino alternates the whole pattern)");
      atom.push("start");
    } else if (c === "*" || c === "+" || c === "?") {
      if (c === "?") out.push(prev === "quant" ? "regular-expression lazy quantifier" : "regular-expression optional quantifier ? (Espruino matches a literal ?)");
      else if (prev === "close") out.push(`regular-expression quantifier ${c} on a group`);
      else if (prev === "quant") out.push(`regular-expression quantifier ${c} after a quantifier`);
      else if (prev !== "char") out.push(`regular-expression quantifier ${c} with nothing to repeat`);
      atom.push("quant");
    } else if (c === "{") {
      out.push("regular-expression counted quantifier {n,m} (Espruino matches literal braces)");
      atom.push("char");
    } else if (c === "^") {
      if (prev !== "start" && !(prev === "open" && atom.slice(0, -1).every((a) => a === "open" || a === "start"))) out.push("regular-expression ^ inside the pattern");
      atom.push("start");
    } else if (c === "$") {
      const rest = pattern.slice(i + 1);
      if (rest && !/^\)*(\||$)/.test(rest)) out.push("regular-expression $ inside the pattern");
      atom.push("char");
    } else atom.push("char");
  }
  return [...new Set(out)];
}

function propName(member) {
  if (!member.computed && member.property.type === "Identifier") return member.property.name;
  if (member.computed && member.property.type === "Literal" && typeof member.property.value === "string") return member.property.value;
  return null;
}

/** Names declared anywhere in the program: a local called `Map` is not the missing global. */
function declaredNames(ast) {
  const names = new Set();
  const addPattern = (p) => {
    if (!p) return;
    if (p.type === "Identifier") names.add(p.name);
    else if (p.type === "AssignmentPattern") addPattern(p.left);
    else if (p.type === "RestElement") addPattern(p.argument);
    else if (p.type === "ArrayPattern") p.elements.forEach(addPattern);
    else if (p.type === "ObjectPattern") p.properties.forEach((q) => addPattern(q.type === "RestElement" ? q : q.value));
  };
  walk.full(ast, (n) => {
    if (n.type === "VariableDeclarator") addPattern(n.id);
    else if (n.type === "FunctionDeclaration" || n.type === "FunctionExpression" || n.type === "ArrowFunctionExpression") {
      if (n.id) names.add(n.id.name);
      n.params.forEach(addPattern);
    } else if ((n.type === "ClassDeclaration" || n.type === "ClassExpression") && n.id) names.add(n.id.name);
    else if (n.type === "CatchClause") addPattern(n.param);
  });
  return names;
}

/** Is this Identifier node a reference to a variable (not a property name or a label)? */
function isReference(node, parent) {
  if (!parent) return true;
  switch (parent.type) {
    case "MemberExpression": return parent.object === node || parent.computed;
    case "Property": return parent.shorthand || parent.value === node || (parent.computed && parent.key === node);
    case "MethodDefinition": case "PropertyDefinition": return parent.computed && parent.key === node;
    case "LabeledStatement": case "BreakStatement": case "ContinueStatement": return false;
    case "MetaProperty": return false;
    default: return true;
  }
}

const FUNCTIONS = new Set(["FunctionDeclaration", "FunctionExpression", "ArrowFunctionExpression"]);

/** The statement lists of a node (a block's body, a switch case's consequent). */
const statementList = (n) => (n.type === "BlockStatement" || n.type === "Program" ? n.body : n.type === "SwitchCase" ? n.consequent : null);

const declaresVar = (st, name) => {
  const d = st && (st.type === "VariableDeclaration" ? st : (st.type === "ForStatement" ? st.init : st.type === "ForInStatement" || st.type === "ForOfStatement" ? st.left : null));
  return !!(d && d.type === "VariableDeclaration" && d.kind === "var" && d.declarations.some((x) => x.id.type === "Identifier" && x.id.name === name));
};

/**
 * References to a function's `var` that can run before the `var` statement has: Espruino creates a variable only
 * when its statement runs, so until then the name is the enclosing scope's (a minified bundle has a function of the
 * same one-letter name there, which the assignment overwrites). A reference is safe when a declaring statement
 * comes before it in a statement list that contains it (or is the `for` whose head declares it); references from
 * nested functions run when those are called and are not judged.
 */
function varsBeforeDeclaration(fn, report) {
  const names = new Set();
  const params = new Set();
  const addParams = (p) => { if (p.type === "Identifier") params.add(p.name); };
  (fn.params || []).forEach(addParams);
  walk.recursive(fn.type === "Program" ? fn : fn.body, null, {
    Function(n) { if (n.type === "FunctionDeclaration") params.add(n.id.name); },
    VariableDeclaration(n, st, c) {
      if (n.kind === "var") for (const d of n.declarations) if (d.id.type === "Identifier") names.add(d.id.name);
      for (const d of n.declarations) if (d.init) c(d.init, st);
    },
  });
  for (const p of params) names.delete(p);
  if (!names.size) return;
  const visit = (n, _st, up) => {
      if (!names.has(n.name) || !isReference(n, up[up.length - 2])) return;
      // Inside a nested function, or a catch clause's own parameter: not this function's variable at this point.
      for (let i = up.length - 2; i >= 0; i--) {
        const a = up[i];
        if (a === fn) break;
        if (FUNCTIONS.has(a.type)) return;
        if (a.type === "CatchClause" && a.param && a.param.type === "Identifier" && a.param.name === n.name) return;
      }
      const parent = up[up.length - 2];
      if (parent && parent.type === "VariableDeclarator" && parent.id === n) {
        // The declaration itself; `var x = x` reads before it.
        return;
      }
      for (let i = up.length - 2; i >= 0; i--) {
        const a = up[i];
        if (declaresVar(a, n.name) && a.type !== "VariableDeclaration") return; // for (var x ...; x ...)
        if (a.type === "VariableDeclaration" && declaresVar(a, n.name)) {
          // `var a = 1, b = a`: an earlier declarator of the same statement.
          const decl = up[i + 1];
          if (a.declarations.some((x) => x.id.name === n.name && x.end <= decl.start)) return;
        }
        const list = statementList(a);
        if (list) {
          const child = up[i + 1];
          for (const st of list) {
            if (st === child) break;
            if (declaresVar(st, n.name)) return;
          }
        }
        if (a === fn || a === fn.body) break;
      }
      report(n.loc.start, `"${n.name}" used before its var statement runs (Espruino creates a var only then)`);
  };
  // Assignment targets are visited as VariablePattern, reads as Identifier.
  walk.ancestor(fn.type === "Program" ? fn : fn.body, /** @type {walk.AncestorVisitors<any>} */ ({ Identifier: visit, VariablePattern: visit }));
}

/**
 * Checks one source text. Returns findings `{file, line, column, construct, excerpt}`, empty when the code is fine.
 */
export function checkSource(code, file = "<input>") {
  const findings = [];
  const lines = code.split("\n");
  const report = (loc, construct) => {
    const text = lines[loc.line - 1] || "";
    const excerpt = text.slice(Math.max(0, loc.column - 20), loc.column + 30);
    findings.push({ file, line: loc.line, column: loc.column + 1, construct, excerpt });
  };

  // Bytes outside ASCII: the ESP32 build is 8-bit, and EspruinoTools' tcp:// transport re-encodes them as UTF-8.
  lines.forEach((text, i) => {
    for (let c = 0; c < text.length; c++) {
      if (text.charCodeAt(c) > 0x7f) {
        report({ line: i + 1, column: c }, `non-ASCII byte 0x${text.charCodeAt(c).toString(16).toUpperCase()}`);
        break;
      }
    }
  });

  let ast;
  try {
    ast = acorn.parse(code, { ecmaVersion: "latest", sourceType: "script", locations: true, allowReturnOutsideFunction: false });
  } catch (e) {
    report(e.loc || { line: 1, column: 0 }, `cannot be parsed as a script: ${e.message.replace(/ \(\d+:\d+\)$/, "")}`);
    return findings;
  }
  const declared = declaredNames(ast);
  const at = (n) => n.loc.start;
  for (const n of literalsAfterBlocks(code, ast)) {
    report(n.loc.start, "statement starting with a string, template or regular-expression literal right after a block (Espruino loses the literal when it skipped the block)");
  }
  varsBeforeDeclaration(ast, report);
  walk.full(ast, (n) => { if (FUNCTIONS.has(n.type)) varsBeforeDeclaration(n, report); });

  const checkFunction = (n) => {
    if (n.async) report(at(n), "async function");
    if (n.generator) report(at(n), "generator function");
    for (const p of n.params) {
      if (p.type === "AssignmentPattern") report(at(p), "default parameter");
      else if (p.type === "RestElement") report(at(p), "rest parameter");
      else if (p.type === "ObjectPattern" || p.type === "ArrayPattern") report(at(p), "destructuring parameter");
    }
  };
  const checkBody = (body) => {
    // Espruino does not hoist function declarations: one that follows other statements in its scope is undefined
    // when earlier code calls it.
    let sawOther = false;
    for (const s of body) {
      if (s.type === "FunctionDeclaration") {
        if (sawOther) report(at(s), `function declaration "${s.id.name}" after other statements (Espruino does not hoist functions)`);
      } else if (!(s.type === "ExpressionStatement" && s.directive)) sawOther = true;
    }
  };

  walk.fullAncestor(ast, (n, _state, ancestors) => {
    const parent = ancestors[ancestors.length - 2];
    switch (n.type) {
      case "Program": checkBody(n.body); break;
      case "BlockStatement": checkBody(n.body); break;
      case "FunctionDeclaration": case "FunctionExpression": case "ArrowFunctionExpression": checkFunction(n); break;
      case "VariableDeclarator":
        if (n.id.type !== "Identifier") report(at(n), "destructuring");
        break;
      case "AssignmentExpression":
        if (n.left.type === "ObjectPattern" || n.left.type === "ArrayPattern") report(at(n), "destructuring assignment");
        if (n.operator === "**=") report(at(n), "exponent operator **=");
        if (n.operator === "&&=" || n.operator === "||=" || n.operator === "??=") report(at(n), `logical assignment ${n.operator}`);
        break;
      case "ForOfStatement": case "ForInStatement":
        if (n.left.type === "VariableDeclaration" && n.left.declarations[0].id.type !== "Identifier") break; // reported by VariableDeclarator
        if (n.left.type === "ObjectPattern" || n.left.type === "ArrayPattern") report(at(n), "destructuring in for loop");
        if (n.type === "ForOfStatement" && n.await) report(at(n), "for await");
        break;
      case "SpreadElement": report(at(n), "spread ..."); break;
      case "RestElement": if (parent && parent.type !== "FunctionDeclaration" && parent.type !== "FunctionExpression" && parent.type !== "ArrowFunctionExpression") report(at(n), "rest element ..."); break;
      case "Property": if (n.computed) report(at(n), "computed property key"); break;
      case "MethodDefinition": case "PropertyDefinition": if (n.computed) report(at(n), "computed class member key"); break;
      case "ChainExpression": report(at(n), "optional chaining ?."); break;
      case "BinaryExpression": if (n.operator === "**") report(at(n), "exponent operator **"); break;
      case "AwaitExpression": report(at(n), "await"); break;
      case "YieldExpression": report(at(n), "yield"); break;
      case "LabeledStatement": report(at(n), `label "${n.label.name}"`); break;
      case "TaggedTemplateExpression": report(at(n), "tagged template"); break;
      case "MetaProperty": report(at(n), `${n.meta.name}.${n.property.name}`); break;
      case "ImportExpression": report(at(n), "dynamic import()"); break;
      case "ClassDeclaration": case "ClassExpression":
        if (n.superClass && n.superClass.type !== "Identifier") report(at(n), "class extends an expression");
        else if (n.superClass && n.superClass.type === "Identifier" && /Error$/.test(n.superClass.name)) report(at(n), `class extends ${n.superClass.name}`);
        break;
      case "ArrayExpression":
        if (n.elements.some((e) => e === null)) report(at(n), "array hole [a,,b]");
        break;
      case "Literal":
        if (n.bigint !== undefined) report(at(n), "BigInt literal");
        if (n.regex) for (const p of regexProblems(n.regex.pattern, n.regex.flags)) report(at(n), p);
        break;
      case "NewExpression": case "CallExpression":
        if (n.callee.type === "Identifier" && n.callee.name === "RegExp" && n.arguments[0] && n.arguments[0].type === "Literal" &&
            typeof n.arguments[0].value === "string") {
          const flags = n.arguments[1] && n.arguments[1].type === "Literal" ? String(n.arguments[1].value) : "";
          for (const p of regexProblems(n.arguments[0].value, flags)) report(at(n), p);
        }
        if (n.callee.type === "Identifier" && n.callee.name === "__extends" && n.arguments[1] && n.arguments[1].type === "Identifier" &&
            /Error$/.test(n.arguments[1].name) && !declared.has(n.arguments[1].name)) report(at(n), `class extends ${n.arguments[1].name}`);
        break;
      case "MemberExpression": {
        const name = propName(n);
        if (name === null) break;
        if (n.object.type === "Identifier" && !declared.has(n.object.name)) {
          const statics = MISSING_STATICS[n.object.name];
          if (statics && statics.includes(name)) report(at(n), `${n.object.name}.${name}`);
        }
        // X.prototype.method read (not assigned): undefined on Espruino.
        if (n.object.type === "MemberExpression" && propName(n.object) === "prototype" && n.object.object.type === "Identifier") {
          const ctor = n.object.object.name;
          const isWrite = parent && parent.type === "AssignmentExpression" && parent.left === n;
          if (!isWrite && !declared.has(ctor) && (BUILTIN_CONSTRUCTORS.has(ctor) || (ctor === "Object" && !OBJECT_PROTOTYPE_OK.has(name))))
            report(at(n), `${ctor}.prototype.${name} (Espruino has no built-in methods on prototypes)`);
        }
        if (name === "random" && n.object.type === "Identifier" && n.object.name === "Math" && !declared.has("Math"))
          report(at(n), "Math.random (Espruino never seeds it: the same numbers after every boot; use E.hwRand())");
        if (MISSING_METHODS.has(name) && parent && parent.type === "CallExpression" && parent.callee === n) report(at(n), `.${name}()`);
        break;
      }
      case "Identifier":
        if (MISSING_GLOBALS.has(n.name) && !declared.has(n.name) && isReference(n, parent)) report(at(n), n.name);
        break;
    }
  });
  findings.sort((a, b) => a.line - b.line || a.column - b.column);
  return findings;
}

export function formatFinding(f) {
  return `${f.file}:${f.line}:${f.column}: ${f.construct}${f.excerpt ? `  near: ${f.excerpt.trim()}` : ""}`;
}

/** Every bundle the gate applies to under a folder: firmware bundles and the ES5 library bundles. */
export function bundlesUnder(dir) {
  const out = [];
  const visit = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) visit(p);
      else if (/\.(c?js)$/.test(e.name)) out.push(p);
    }
  };
  visit(dir);
  return out.sort();
}

/** The findings in `files`, each naming its file relative to `root` when one is given (as the path given otherwise). */
export function checkFiles(files, root = null) {
  return files.flatMap((f) => checkSource(fs.readFileSync(f, "latin1"), root ? path.relative(root, f) : f));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const targets = process.argv.slice(2);
  if (targets.includes("--help") || targets.includes("-h")) {
    process.stdout.write("usage: npm run gate [-- FILE|FOLDER...]  (default dist): the Espruino compatibility check of built bundles\n");
    process.exit(0);
  }
  const unknown = targets.find((t) => t.startsWith("-"));
  if (unknown) {
    process.stderr.write(`gate: unknown option ${unknown} (see --help)\n`);
    process.exit(2);
  }
  if (targets.length === 0) targets.push("dist");
  const files = targets.flatMap((t) => (fs.existsSync(t) && fs.statSync(t).isDirectory() ? bundlesUnder(t) : [t]));
  if (files.length === 0) {
    console.error(`gate: no bundles found in ${targets.join(", ")}; run "npm run build" first`);
    process.exit(2);
  }
  const findings = checkFiles(files);
  for (const f of findings) console.error(formatFinding(f));
  if (findings.length) {
    console.error(`gate: ${findings.length} construct(s) Espruino cannot run, in ${new Set(findings.map((f) => f.file)).size} file(s)`);
    process.exit(1);
  }
  console.log(`gate: ${files.length} bundle(s) pass the Espruino compatibility check`);
}
