// Espruino's event model on Node: every object has on/emit/removeListener, and emit() queues the listeners as a
// later event instead of calling them synchronously.
import { AsyncLocalStorage } from "node:async_hooks";

/**
 * The simulated board whose code is running: { queue(fn), setTimeout(fn, ms), clearTimeout(id) } on its event loop
 * and clock. A simulator runs each board callback inside runOnBoard(), and Node carries the store into the callbacks
 * of sockets and timers created there, so a host module that uses queueEvent and boardSetTimeout (DTLS, say)
 * delivers its events and runs its timers on the right board, on its simulated clock, without knowing about boards.
 */
const currentBoard = new AsyncLocalStorage();

export function runOnBoard(board, fn) {
  return currentBoard.run(board, fn);
}

/** Queues a callback the way Espruino's event queue runs it: after the current code, after due timers. */
export function queueEvent(fn) {
  const board = currentBoard.getStore();
  if (board) board.queue(fn);
  else setImmediate(fn);
}

/** setTimeout on the current board's clock (a simulated board's timers may run faster than real time). */
export function boardSetTimeout(fn, ms) {
  const board = currentBoard.getStore();
  return board ? { board, id: board.setTimeout(fn, ms) } : { board: null, id: setTimeout(fn, ms) };
}

export function boardClearTimeout(handle) {
  if (!handle) return;
  if (handle.board) handle.board.clearTimeout(handle.id);
  else clearTimeout(handle.id);
}

export class EspruinoEmitter {
  #listeners; #queue;
  /** `queue` is the event queue of the board the object lives on (a simulated device has its own). */
  constructor(queue = queueEvent) {
    this.#listeners = {};
    this.#queue = queue;
  }
  on(event, listener) {
    (this.#listeners[event] || (this.#listeners[event] = [])).push(listener);
  }
  addListener(event, listener) {
    this.on(event, listener);
  }
  emit(event, ...args) {
    const list = (this.#listeners[event] || []).slice();
    if (list.length) this.#queue(() => list.forEach((l) => l.apply(this, args)));
  }
  removeListener(event, listener) {
    const list = this.#listeners[event];
    if (list) {
      const i = list.indexOf(listener);
      if (i >= 0) list.splice(i, 1);
    }
  }
  removeAllListeners(event) {
    if (event === undefined) for (const k of Object.keys(this.#listeners)) delete this.#listeners[k];
    else delete this.#listeners[event];
  }
}
