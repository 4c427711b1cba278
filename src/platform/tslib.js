// TypeScript's ES5 helpers, rewritten for Espruino (wired in through @rollup/plugin-typescript's `tslib` option).
// Why not the stock tslib: Espruino looks built-in methods up on the receiver, not on prototypes
// (`Array.prototype.slice` is undefined there), has no `var` hoisting, and does not resolve static members along a
// constructor's __proto__. Every helper here is written so it runs the same on Espruino and on Node.
// Helpers TypeScript may ask for that are missing here (async/await, generators) fail the build on purpose:
// their ES5 lowering costs about a kilobyte per function on a device with a few hundred kilobytes of JsVars.

export function __extends(d, b) {
  if (typeof b !== "function" && b !== null) throw new TypeError("Class extends value " + b + " is not a constructor");
  // Statics are copied, not inherited: a snapshot taken when the subclass is defined.
  for (var k in b) if (Object.prototype.hasOwnProperty.call(b, k) && k !== "prototype") d[k] = b[k];
  d.prototype = b === null ? Object.create(null) : Object.create(b.prototype);
  d.prototype.constructor = d;
}

export function __assign() {
  var t = arguments[0];
  for (var i = 1; i < arguments.length; i++) {
    var s = arguments[i];
    for (var p in s) if (Object.prototype.hasOwnProperty.call(s, p)) t[p] = s[p];
  }
  return t;
}

export function __rest(s, e) {
  var t = {};
  for (var p in s) if (Object.prototype.hasOwnProperty.call(s, p) && e.indexOf(p) < 0) t[p] = s[p];
  return t;
}

export function __spreadArray(to, from) {
  return to.concat([].slice.call(from));
}

export function __read(o, n) {
  return n === undefined ? o : [].slice.call(o, 0, n);
}

export function __values(o) {
  var i = 0;
  return { next: function () { return { value: o[i], done: i++ >= o.length }; } };
}

export function __makeTemplateObject(cooked, raw) {
  cooked.raw = raw;
  return cooked;
}
