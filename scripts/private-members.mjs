// A TypeScript transformer for the firmware bundles: every `private` class member (field, method or accessor) gets
// a "$" appended to its name, so that the minifier can shorten it (scripts/bundles.mjs shortens names ending in "$").
// Renaming goes by the type checker, not by name: `wifi.connect(...)` stays while a private `connect` is renamed,
// and a JSON key that happens to share a private member's name is untouched. A name with any access the checker
// cannot resolve (`(x as any).name`, `x["name"]`, a destructuring) is left alone, since it might mean the member.
import ts from "typescript";

function isPrivateMember(n) {
  const kind = ts.isPropertyDeclaration(n) || ts.isMethodDeclaration(n) || ts.isGetAccessorDeclaration(n) || ts.isSetAccessorDeclaration(n);
  return kind && ts.isIdentifier(n.name) && (ts.getCombinedModifierFlags(n) & ts.ModifierFlags.Private) !== 0;
}

/** The identifiers to rename: private member declarations and the accesses that resolve to them. */
function plan(program) {
  const checker = program.getTypeChecker();
  const files = program.getSourceFiles().filter((f) => !f.isDeclarationFile);
  const members = new Set();
  const walk = (visit) => files.forEach((f) => {
    const go = (n) => {
      visit(n);
      ts.forEachChild(n, go);
    };
    go(f);
  });
  walk((n) => {
    if (isPrivateMember(n)) members.add(checker.getSymbolAtLocation(n.name));
  });
  const names = new Set([...members].map((s) => s.name));
  const unsure = new Set();
  const ids = new Set();
  walk((n) => {
    if (isPrivateMember(n)) ids.add(n.name);
    else if (ts.isPropertyAccessExpression(n) && names.has(n.name.text)) {
      const s = checker.getSymbolAtLocation(n.name);
      if (s && members.has(s)) ids.add(n.name);
      else if (!s) unsure.add(n.name.text);
    } else if (ts.isElementAccessExpression(n) && ts.isStringLiteralLike(n.argumentExpression)) unsure.add(n.argumentExpression.text);
    else if (ts.isBindingElement(n)) {
      const key = n.propertyName || n.name;
      if (ts.isIdentifier(key)) unsure.add(key.text);
    }
  });
  return new Set([...ids].filter((id) => !unsure.has(id.text)));
}

/** For @rollup/plugin-typescript: `transformers: { before: [{ type: "program", factory: markPrivateMembers }] }`. */
export function markPrivateMembers(program) {
  const rename = plan(program);
  return (context) => (file) => {
    const visit = (n) => (rename.has(n) ? context.factory.createIdentifier(n.text + "$") : ts.visitEachChild(n, visit, context));
    return ts.visitNode(file, visit);
  };
}
