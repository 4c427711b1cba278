// A TypeScript transformer for the firmware bundles: property names that never leave the firmware get a "$" appended,
// so that the minifier can shorten them (scripts/bundles.mjs shortens every property name ending in "$"). Such names
// are those of
//   - private class members (fields, methods, accessors), and
//   - the members of interfaces marked `@firmwareOnly` in their doc comment: the CoAP stack's messages, requests,
//     transmission parameters, exchanges and transports, which no JSON, Storage file, Espruino API or host code sees,
//     and of class members that implement them.
// Renaming goes by the type checker, not by name: `wifi.connect(...)` stays while a private `connect` is renamed, a
// JSON key that happens to share a member's name is untouched, and an object literal's property is renamed only
// where its contextual type says it is such a member. A name is left whole everywhere when any use of it cannot be
// tied to its member: an access the checker cannot resolve (`(x as any).name`), `x["name"]`, and for a marked
// interface's member also a string spelling it, an object literal without that contextual type, or another
// declaration of the name (structural typing could join them). Leaving a name whole costs bytes, never behaviour.
import ts from "typescript";

const TAG = "firmwareOnly";

const isMemberDeclaration = (n) => ts.isPropertySignature(n) || ts.isMethodSignature(n) || ts.isPropertyDeclaration(n) || ts.isMethodDeclaration(n) ||
  ts.isGetAccessorDeclaration(n) || ts.isSetAccessorDeclaration(n);

const isPrivateMember = (n) => isMemberDeclaration(n) && ts.isIdentifier(n.name) && (ts.getCombinedModifierFlags(n) & ts.ModifierFlags.Private) !== 0;

/** The identifiers to rename: member declarations and the uses that resolve to them. */
function plan(program) {
  const checker = program.getTypeChecker();
  const sources = program.getSourceFiles();
  const walk = (files, visit) => files.forEach((f) => {
    const go = (n) => {
      visit(n);
      ts.forEachChild(n, go);
    };
    go(f);
  });
  const files = sources.filter((f) => !f.isDeclarationFile);
  const symbolOf = (name) => checker.getSymbolAtLocation(name);

  const privates = new Set();
  const marked = new Set();
  walk(files, (n) => {
    if (isPrivateMember(n)) privates.add(symbolOf(n.name));
    else if (ts.isInterfaceDeclaration(n) && ts.getJSDocTags(n).some((t) => t.tagName.text === TAG)) {
      for (const m of n.members) if (m.name && ts.isIdentifier(m.name)) marked.add(symbolOf(m.name));
    }
  });
  const members = new Set([...privates, ...marked]);
  const isMember = (s) => !!s && checker.getRootSymbols(s).every((r) => members.has(r));
  /** The property `name` of `type` (every part of a union that is not undefined or null), if each is a member. */
  const memberOfType = (type, name) => {
    if (!type) return false;
    const parts = (type.isUnion() ? type.types : [type]).filter((t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)));
    return parts.length > 0 && parts.every((t) => isMember(checker.getPropertyOfType(t, name)));
  };
  // A class member that implements a marked member is one too.
  walk(files, (n) => {
    if (!ts.isClassLike(n)) return;
    const bases = (n.heritageClauses || []).flatMap((h) => h.types).map((t) => checker.getTypeAtLocation(t));
    for (const m of n.members) {
      if (!m.name || !ts.isIdentifier(m.name)) continue;
      const name = m.name.text;
      if (bases.some((b) => marked.has(checker.getPropertyOfType(b, name)))) {
        const s = symbolOf(m.name);
        marked.add(s);
        members.add(s);
      }
    }
  });
  const names = new Set([...members].map((s) => s.name));
  const markedNames = new Set([...marked].map((s) => s.name));

  const unsure = new Set();
  const ids = new Set();
  const literalProperty = (n) => {
    const ct = checker.getContextualType(n.parent);
    if (memberOfType(ct, n.name.text)) ids.add(n.name);
    else if (markedNames.has(n.name.text)) unsure.add(n.name.text);
  };
  // Another declaration of a marked name, even in a declaration file, may be joined to it by structural typing.
  walk(sources.filter((f) => f.isDeclarationFile), (n) => {
    if (isMemberDeclaration(n) && n.name && ts.isIdentifier(n.name) && markedNames.has(n.name.text)) unsure.add(n.name.text);
  });
  walk(files, (n) => {
    if ((isMemberDeclaration(n) || ts.isPropertyAssignment(n) || ts.isShorthandPropertyAssignment(n)) && ts.isObjectLiteralExpression(n.parent)) {
      if (n.name && ts.isIdentifier(n.name) && names.has(n.name.text)) literalProperty(n);
    } else if (isMemberDeclaration(n) && n.name && ts.isIdentifier(n.name) && names.has(n.name.text)) {
      if (members.has(symbolOf(n.name))) ids.add(n.name);
      else if (markedNames.has(n.name.text)) unsure.add(n.name.text);
    } else if (ts.isPropertyAccessExpression(n) && names.has(n.name.text)) {
      const s = symbolOf(n.name);
      if (isMember(s)) ids.add(n.name);
      else if (!s || checker.getRootSymbols(s).some((r) => members.has(r))) unsure.add(n.name.text);
    } else if (ts.isElementAccessExpression(n) && ts.isStringLiteralLike(n.argumentExpression)) {
      unsure.add(n.argumentExpression.text);
    } else if (ts.isBindingElement(n) && ts.isObjectBindingPattern(n.parent)) {
      const key = n.propertyName || n.name;
      if (!ts.isIdentifier(key) || !names.has(key.text)) return;
      if (markedNames.has(key.text) && memberOfType(checker.getTypeAtLocation(n.parent), key.text)) ids.add(key);
      else unsure.add(key.text);
    } else if (ts.isStringLiteralLike(n) && markedNames.has(n.text)) {
      unsure.add(n.text);
    }
  });
  return new Set([...ids].filter((id) => !unsure.has(id.text)));
}

/**
 * For @rollup/plugin-typescript: `transformers: { before: [{ type: "program", factory: markInternalNames }] }`.
 * @param {ts.Program} program
 * @returns {ts.TransformerFactory<ts.SourceFile>}
 */
export function markInternalNames(program) {
  const rename = plan(program);
  return (context) => (file) => {
    const f = context.factory;
    /** @param {ts.Node} n @returns {ts.Node} */
    const visit = (n) => {
      // `{ wire }` and `const { wire } = x` keep their variable: `{ wire$: wire }`, `const { wire$: wire } = x`.
      if (ts.isShorthandPropertyAssignment(n) && rename.has(n.name)) return f.createPropertyAssignment(f.createIdentifier(n.name.text + "$"), n.name);
      if (ts.isBindingElement(n) && !n.propertyName && ts.isIdentifier(n.name) && rename.has(n.name)) {
        return f.updateBindingElement(n, n.dotDotDotToken, f.createIdentifier(n.name.text + "$"), n.name,
          /** @type {ts.Expression | undefined} */ (ts.visitNode(n.initializer, visit)));
      }
      return ts.isIdentifier(n) && rename.has(n) ? f.createIdentifier(n.text + "$") : ts.visitEachChild(n, visit, context);
    };
    return /** @type {ts.SourceFile} */ (ts.visitNode(file, visit));
  };
}
