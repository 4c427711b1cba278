// Espruino's event model on Node: every object has on/emit/removeListener, and emit() queues the listeners as a
// later event instead of calling them synchronously (../shared/docs/espruino.md, section 1.3).

/** Queues a callback the way Espruino's event queue runs it: after the current code, after due timers. */
export function queueEvent(fn) {
  setImmediate(fn);
}

export class EspruinoEmitter {
  constructor() {
    Object.defineProperty(this, "_listeners", { value: {}, enumerable: false });
  }
  on(event, listener) {
    (this._listeners[event] || (this._listeners[event] = [])).push(listener);
  }
  addListener(event, listener) {
    this.on(event, listener);
  }
  emit(event, ...args) {
    const list = (this._listeners[event] || []).slice();
    if (list.length) queueEvent(() => list.forEach((l) => l.apply(this, args)));
  }
  removeListener(event, listener) {
    const list = this._listeners[event];
    if (list) {
      const i = list.indexOf(listener);
      if (i >= 0) list.splice(i, 1);
    }
  }
  removeAllListeners(event) {
    if (event === undefined) for (const k of Object.keys(this._listeners)) delete this._listeners[k];
    else delete this._listeners[event];
  }
}
