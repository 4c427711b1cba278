// Rewrites array holes ([1,,2]) as `void 0`: Espruino raises a SyntaxError on a hole in code it parses without
// executing (an untaken `case` or ternary branch).
import * as acorn from "acorn";
import * as walk from "acorn-walk";

export function fillArrayHoles(code) {
  const ast = acorn.parse(code, { ecmaVersion: "latest", sourceType: "script" });
  const inserts = [];
  walk.full(ast, (n) => {
    if (n.type !== "ArrayExpression") return;
    // A hole is a null element; it sits right after the previous element's end (or the opening bracket).
    let pos = n.start + 1;
    n.elements.forEach((e) => {
      if (e === null) {
        const comma = code.indexOf(",", pos);
        inserts.push(comma);
        pos = comma + 1;
      } else {
        pos = code.indexOf(",", e.end) + 1 || e.end;
      }
    });
  });
  if (!inserts.length) return code;
  inserts.sort((a, b) => b - a);
  let out = code;
  for (const at of inserts) out = out.slice(0, at) + "void 0" + out.slice(at);
  return out;
}
