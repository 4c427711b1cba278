// Espruino's event model on Node: every object has on/emit/removeListener, and emit() queues the listeners as a
// later event instead of calling them synchronously (../shared/docs/espruino.md, section 1.3).

/** Queues a callback the way Espruino's event queue runs it: after the current code, after due timers. */
export function queueEvent(fn) {
  setImmediate(fn);
}

export class EspruinoEmitter {
  /** `queue` is the event queue of the board the object lives on (a simulated device has its own). */
  constructor(queue = queueEvent) {
    Object.defineProperty(this, "_listeners", { value: {}, enumerable: false });
    Object.defineProperty(this, "_queue", { value: queue, enumerable: false });
  }
  on(event, listener) {
    (this._listeners[event] || (this._listeners[event] = [])).push(listener);
  }
  addListener(event, listener) {
    this.on(event, listener);
  }
  emit(event, ...args) {
    const list = (this._listeners[event] || []).slice();
    if (list.length) this._queue(() => list.forEach((l) => l.apply(this, args)));
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
