// Turns a fresh `vm` context into Espruino's JavaScript:
// built-ins Espruino lacks are removed, Promise callbacks and emit() become queued events, JSON and Error behave as
// on the board, and Date follows the device's clock.
//
// The installers below are evaluated *inside* the context (from their source text), so every object they create
// belongs to the device's realm: `x instanceof Object` holds for them in the firmware's code. They must therefore be
// self-contained.
import vm from "node:vm";

/** Globals and statics Espruino 2v29 does not have; deleted so that using one fails in the simulator as on a board. */
export const REMOVED = {
  globals: ["Map", "Set", "WeakMap", "WeakSet", "WeakRef", "FinalizationRegistry", "Symbol", "Proxy", "Reflect", "Intl",
    "BigInt", "BigInt64Array", "BigUint64Array", "RangeError", "EvalError", "URIError", "AggregateError", "WebAssembly",
    "SharedArrayBuffer", "Atomics"],
  statics: {
    Array: ["from", "of"],
    Object: ["freeze", "seal", "preventExtensions", "isFrozen", "isSealed", "groupBy", "hasOwn"],
    Number: ["isInteger", "isNaN", "isFinite", "isSafeInteger", "parseFloat", "MAX_SAFE_INTEGER",
      "MIN_SAFE_INTEGER", "EPSILON"],
    Math: ["trunc", "log2", "hypot", "imul", "clz32", "fround", "cbrt"],
    String: ["fromCodePoint", "raw"],
  },
  methods: {
    Array: ["flat", "flatMap", "lastIndexOf", "reduceRight", "entries", "keys", "copyWithin", "findLast",
      "findLastIndex", "at", "toSorted", "toReversed", "toSpliced", "with"],
    String: ["search", "trimStart", "trimEnd", "trimLeft", "trimRight", "codePointAt", "normalize", "localeCompare",
      "at", "matchAll", "isWellFormed", "toWellFormed"],
    Number: ["toPrecision"],
    ArrayBuffer: ["slice"],
  },
  typedArrayStatics: ["from", "of"],
};

/* eslint-disable no-var */

// --- evaluated in the device's context ------------------------------------------------------------------------

function installRemovals(removed) {
  var g = globalThis;
  removed.globals.forEach(function (n) {
    delete g[n];
  });
  Object.keys(removed.statics).forEach(function (k) {
    removed.statics[k].forEach(function (n) {
      delete g[k][n];
    });
  });
  Object.keys(removed.methods).forEach(function (k) {
    removed.methods[k].forEach(function (n) {
      delete g[k].prototype[n];
    });
  });
  var typedArray = Object.getPrototypeOf(Uint8Array);
  removed.typedArrayStatics.forEach(function (n) {
    delete typedArray[n];
  });
  g.global = g;
}

function installJSONAndStrings() {
  var stringify = JSON.stringify;
  var parse = JSON.parse;
  var fromCharCode = String.fromCharCode;
  function hidden(obj, name, value) {
    Object.defineProperty(obj, name, { value: value, writable: true, configurable: true, enumerable: false });
  }
  // Espruino escapes every character from 0x7F up; Node writes them raw.
  hidden(JSON, "stringify", function stringify8(value, replacer, indent) {
    var out = stringify(value, replacer, indent);
    if (typeof out !== "string") return out;
    return out.replace(/[\u007f-\uffff]/g, function (c) {
      return "\\u" + ("000" + c.charCodeAt(0).toString(16)).slice(-4);
    });
  });
  // No reviver on Espruino.
  hidden(JSON, "parse", function parse8(text) {
    return parse(text);
  });
  // Strings are 8-bit on the ESP32.
  hidden(String, "fromCharCode", function fromCharCode8() {
    var s = "";
    for (var i = 0; i < arguments.length; i++) s += fromCharCode(arguments[i] & 255);
    return s;
  });
}

function installErrors() {
  // Espruino: `e.name` is undefined, a TypeError is not an instanceof Error, toString() gives "TypeError: msg".
  function hidden(obj, name, value) {
    Object.defineProperty(obj, name, { value: value, writable: true, configurable: true, enumerable: false });
  }
  function errorToString(type) {
    return function () {
      var m = this.message;
      return m === undefined || m === "" ? type : type + ": " + m;
    };
  }
  [
    ["Error", Error],
    ["TypeError", TypeError],
    ["SyntaxError", SyntaxError],
    ["ReferenceError", ReferenceError],
  ].forEach(function (pair) {
    var proto = pair[1].prototype;
    delete proto.name;
    if (pair[1] !== Error) Object.setPrototypeOf(proto, Object.prototype);
    hidden(proto, "toString", errorToString(pair[0]));
    // JSON.stringify(new Error("x")) gives {"message":"x","type":"Error","stack":...} on Espruino.
    hidden(proto, "toJSON", errorToJSON(pair[0]));
  });
  function errorToJSON(type) {
    return function () {
      return { message: this.message, type: type, stack: this.stack };
    };
  }
  function InternalError(message) {
    if (!(this instanceof InternalError)) return new InternalError(message);
    if (message !== undefined) this.message = String(message);
  }
  hidden(InternalError.prototype, "toString", errorToString("InternalError"));
  hidden(InternalError.prototype, "toJSON", errorToJSON("InternalError"));
  hidden(globalThis, "InternalError", InternalError);
}

function installObjectEvents(queue) {
  // Espruino puts on/emit/removeListener/removeAllListeners on Object.prototype; emit() queues the listeners.
  var KEY = "#listeners";
  function listeners(obj, create) {
    if (!Object.prototype.hasOwnProperty.call(obj, KEY)) {
      if (!create) return null;
      Object.defineProperty(obj, KEY, { value: {}, enumerable: false });
    }
    return obj[KEY];
  }
  function hidden(name, value) {
    Object.defineProperty(Object.prototype, name, { value: value, writable: true, configurable: true, enumerable: false });
  }
  function on(event, listener) {
    var l = listeners(this, true);
    (l[event] || (l[event] = [])).push(listener);
  }
  hidden("on", on);
  hidden("addListener", on);
  hidden("emit", function emit(event) {
    var l = listeners(this, false);
    if (!l || !l[event] || !l[event].length) return;
    var list = l[event].slice();
    var args = [];
    for (var i = 1; i < arguments.length; i++) args.push(arguments[i]);
    var self = this;
    queue(function () {
      for (var j = 0; j < list.length; j++) list[j].apply(self, args);
    });
  });
  hidden("removeListener", function removeListener(event, listener) {
    var l = listeners(this, false);
    if (!l || !l[event]) return;
    var i = l[event].indexOf(listener);
    if (i >= 0) l[event].splice(i, 1);
  });
  hidden("removeAllListeners", function removeAllListeners(event) {
    var l = listeners(this, false);
    if (!l) return;
    if (event === undefined) Object.keys(l).forEach(function (k) { delete l[k]; });
    else delete l[event];
  });
}

function makePromise(queue, onUnhandled) {
  // Espruino's Promise: then/catch callbacks are queued events (no microtasks); no race/finally/allSettled/any.
  var PENDING = 0;
  var FULFILLED = 1;
  var REJECTED = 2;
  function state(p, name, value) {
    Object.defineProperty(p, name, { value: value, writable: true, enumerable: false });
  }
  function Promise(executor) {
    if (!(this instanceof Promise)) throw new TypeError("Promise must be called with new");
    if (typeof executor !== "function") throw new TypeError("Promise needs a function");
    var self = this;
    state(self, "_state", PENDING);
    state(self, "_value", undefined);
    state(self, "_reactions", []);
    state(self, "_handled", false);
    var done = false;
    try {
      executor(
        function (v) {
          if (done) return;
          done = true;
          resolve(self, v);
        },
        function (e) {
          if (done) return;
          done = true;
          settle(self, REJECTED, e);
        }
      );
    } catch (e) {
      if (!done) {
        done = true;
        settle(self, REJECTED, e);
      }
    }
  }
  function resolve(p, v) {
    if (v === p) return settle(p, REJECTED, new TypeError("A promise cannot resolve to itself"));
    if (v !== null && (typeof v === "object" || typeof v === "function")) {
      var then;
      try {
        then = v.then;
      } catch (e) {
        return settle(p, REJECTED, e);
      }
      if (typeof then === "function") {
        var called = false;
        try {
          then.call(
            v,
            function (x) {
              if (!called) {
                called = true;
                resolve(p, x);
              }
            },
            function (e) {
              if (!called) {
                called = true;
                settle(p, REJECTED, e);
              }
            }
          );
        } catch (e) {
          if (!called) {
            called = true;
            settle(p, REJECTED, e);
          }
        }
        return;
      }
    }
    settle(p, FULFILLED, v);
  }
  function settle(p, st, v) {
    if (p._state !== PENDING) return;
    p._state = st;
    p._value = v;
    var reactions = p._reactions;
    p._reactions = [];
    for (var i = 0; i < reactions.length; i++) react(p, reactions[i]);
    if (st === REJECTED) {
      queue(function () {
        if (!p._handled) onUnhandled(v);
      });
    }
  }
  function react(p, r) {
    queue(function () {
      var fn = p._state === FULFILLED ? r.onFulfilled : r.onRejected;
      if (typeof fn !== "function") {
        if (p._state === FULFILLED) resolve(r.next, p._value);
        else settle(r.next, REJECTED, p._value);
        return;
      }
      var result;
      try {
        result = fn(p._value);
      } catch (e) {
        settle(r.next, REJECTED, e);
        return;
      }
      resolve(r.next, result);
    });
  }
  function hidden(obj, name, value) {
    Object.defineProperty(obj, name, { value: value, writable: true, configurable: true, enumerable: false });
  }
  hidden(Promise.prototype, "then", function then(onFulfilled, onRejected) {
    var next = new Promise(function () {});
    var r = { onFulfilled: onFulfilled, onRejected: onRejected, next: next };
    this._handled = true;
    if (this._state === PENDING) this._reactions.push(r);
    else react(this, r);
    return next;
  });
  hidden(Promise.prototype, "catch", function (onRejected) {
    return this.then(undefined, onRejected);
  });
  Promise.resolve = function (v) {
    if (v instanceof Promise) return v;
    return new Promise(function (res) {
      res(v);
    });
  };
  Promise.reject = function (e) {
    return new Promise(function (res, rej) {
      rej(e);
    });
  };
  Promise.all = function (items) {
    return new Promise(function (res, rej) {
      var results = [];
      var left = items.length;
      if (!left) return res(results);
      items.forEach(function (item, i) {
        Promise.resolve(item).then(function (v) {
          results[i] = v;
          if (--left === 0) res(results);
        }, rej);
      });
    });
  };
  return Promise;
}

function makeDate(RealDate, nowMs, construct) {
  // Date follows the device's clock (its RTC), not the host's.
  function Date() {
    if (!(this instanceof Date)) return new RealDate(nowMs()).toString();
    var args = [];
    for (var i = 0; i < arguments.length; i++) args.push(arguments[i]);
    if (!args.length) args.push(nowMs());
    return construct(RealDate, args, Date);
  }
  Date.prototype = RealDate.prototype;
  Object.defineProperty(RealDate.prototype, "constructor", { value: Date, writable: true, configurable: true, enumerable: false });
  Date.now = function () {
    return nowMs();
  };
  Date.parse = RealDate.parse;
  Date.UTC = RealDate.UTC;
  return Date;
}

/* eslint-enable no-var */

// --- host side ------------------------------------------------------------------------------------------------

function inContext(context, fn, ...args) {
  return vm.runInContext(`(${fn.toString()})`, context)(...args);
}

/**
 * Makes `context` an Espruino realm. `queue(fn)` is the device's event queue, `nowMs()` its RTC in ms since 1970,
 * `onUnhandled(value)` is told about rejected promises nobody handled. Returns the realm's constructors (taken
 * before any are removed) for host code that must create values in the device's realm.
 */
export function makeEspruinoRealm(context, { queue, nowMs, onUnhandled }) {
  const realm = vm.runInContext(
    "({ Object: Object, Array: Array, ArrayBuffer: ArrayBuffer, Uint8Array: Uint8Array, JSON: JSON, Error: Error," +
      " TypeError: TypeError, Function: Function, construct: Reflect.construct })",
    context
  );
  inContext(context, installRemovals, REMOVED);
  inContext(context, installJSONAndStrings);
  inContext(context, installErrors);
  inContext(context, installObjectEvents, queue);
  const Promise = inContext(context, makePromise, queue, onUnhandled);
  const DateClass = inContext(context, makeDate, vm.runInContext("Date", context), nowMs, realm.construct);
  for (const [name, value] of [["Promise", Promise], ["Date", DateClass]]) {
    Object.defineProperty(context, name, { value, writable: true, configurable: true, enumerable: false });
  }
  realm.Promise = Promise;
  return realm;
}
