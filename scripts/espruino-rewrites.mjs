// Source rewrites the bundles need because of how Espruino parses code it skips (an untaken branch is parsed
// without being executed, and that path has bugs of its own). Each was seen on the real interpreter; the gate
// (scripts/gate.mjs) rejects what they would leave behind, and test/e2e/interpreter-rules.test.mjs runs each case there.
import * as acorn from "acorn";
import * as walk from "acorn-walk";

const parse = (code) => acorn.parse(code, { ecmaVersion: "latest", sourceType: "script" });

function applyInserts(code, inserts) {
  let out = code;
  for (const { at, text } of inserts.sort((a, b) => b.at - a.at)) out = out.slice(0, at) + text + out.slice(at);
  return out;
}

/**
 * Array holes ([1,,2]) become `void 0`: Espruino raises a SyntaxError on a hole in code it parses without executing
 * (an untaken `case` or ternary branch).
 */
export function fillArrayHoles(code) {
  const inserts = [];
  walk.full(parse(code), (n) => {
    if (n.type !== "ArrayExpression") return;
    // A hole is a null element; it sits right after the previous element's end (or the opening bracket).
    let pos = n.start + 1;
    n.elements.forEach((e) => {
      if (e === null) {
        const comma = code.indexOf(",", pos);
        inserts.push({ at: comma, text: "void 0" });
        pos = comma + 1;
      } else {
        pos = code.indexOf(",", e.end) + 1 || e.end;
      }
    });
  });
  return inserts.length ? applyInserts(code, inserts) : code;
}

/** The node that holds the first token of an expression (`"a"` in `"a"==typeof x&&f()`). */
export function leadingNode(e) {
  for (;;) {
    if (e.type === "BinaryExpression" || e.type === "LogicalExpression" || e.type === "AssignmentExpression") e = e.left;
    else if (e.type === "ConditionalExpression") e = e.test;
    else if (e.type === "SequenceExpression") e = e.expressions[0];
    else if (e.type === "MemberExpression") e = e.object;
    else if (e.type === "CallExpression" || e.type === "TaggedTemplateExpression") e = e.callee || e.tag;
    else if (e.type === "UpdateExpression" && !e.prefix) e = e.argument;
    else return e;
  }
}

/**
 * Expression statements that start with a string, template or regular-expression literal right after a block's
 * closing brace, such as `}"number"==typeof x&&...` or `}catch(e){...}/bad port$/.test(s)?...`: where Espruino
 * skipped that block, the literal's value is lost ("" instead of "number"; an empty pattern that matches anything).
 * The minifier writes comparisons with the literal first; each such statement gets a `;` before it.
 */
export function literalsAfterBlocks(code, ast = parse(code)) {
  const out = [];
  walk.full(ast, (n) => {
    if (n.type !== "ExpressionStatement" || n.directive) return;
    const first = leadingNode(n.expression);
    if (first.start !== n.start) return;
    if (!((first.type === "Literal" && (typeof first.value === "string" || first.regex)) || first.type === "TemplateLiteral")) return;
    let i = n.start - 1;
    while (i >= 0 && /\s/.test(code[i])) i--;
    if (code[i] === "}") out.push(n);
  });
  return out;
}

export function separateLeadingLiterals(code) {
  const found = literalsAfterBlocks(code);
  return found.length ? applyInserts(code, found.map((n) => ({ at: n.start, text: ";" }))) : code;
}

/** Every rewrite, in order: what the firmware and library bundles go through last. */
export function espruinoRewrites(code) {
  return separateLeadingLiterals(fillArrayHoles(code));
}
