// One simulated board's main loop: its clock, its timers and its event queue, run in Espruino's order (due timers
// first, then queued events: docs/espruino.md).
//
// The clock is virtual or real. A virtual clock jumps to the next timer whenever the board is idle, so a day of a node
// that wakes every minute takes seconds; but while the board may still get a real datagram it waits for (io-watch.mjs:
// a CoAP reply, a DTLS handshake, anything within `settleMs` of other traffic) it runs at the pace of real time, so a
// reply from a real server races the board's retransmission timer exactly as it would on hardware. A real clock
// always follows wall time (times `speed`).
import { performance } from "node:perf_hooks";
import { runOnBoard } from "../espruino/events.mjs";
import { createIoWatch, SETTLE_MS } from "./io-watch.mjs";

export class Scheduler {
  /**
   * @param {object} o
   * @param {"virtual"|"real"} [o.clock]
   * @param {number} [o.speed] how many simulated ms pass per real ms while idle (virtual: Infinity = no pacing)
   * @param {number} [o.settleMs] real ms after a datagram that is not CoAP during which a virtual clock keeps real pace
   * @param {number} [o.replyWaitMs] real ms a virtual clock keeps real pace for a CoAP reply at most
   * @param {(e: unknown) => void} o.onError called with an exception thrown by a timer or event callback
   */
  constructor({ clock = "virtual", speed, settleMs = SETTLE_MS, replyWaitMs, onError }) {
    if (clock !== "virtual" && clock !== "real") throw new Error(`clock must be "virtual" or "real", not "${clock}"`);
    this.clock = clock;
    this.speed = speed === undefined ? (clock === "real" ? 1 : Infinity) : speed;
    if (!(this.speed > 0)) throw new Error(`speed must be a positive number, not ${speed}`);
    if (clock === "real" && !Number.isFinite(this.speed)) throw new Error("a real clock needs a finite speed");
    this.io = createIoWatch({ settleMs, replyWaitMs, onSettled: () => this.wake() });
    this.onError = onError;
    this.simMs = 0;
    this.realBase = performance.now();
    this.timers = new Map();
    this.nextId = 1;
    this.events = [];
    this.wakeUp = null;
    this.stopped = false;
    this.holds = 0;
    /** Run after every timer or event callback (the device performs a deferred reset/load/sleep there). */
    this.afterCall = null;
    /** What queueEvent() and boardSetTimeout() mean inside this board's callbacks (events.mjs runOnBoard). */
    this.board = {
      queue: (fn) => this.queue(fn),
      setTimeout: (fn, ms) => this.addTimer(fn, ms, { kind: "module" }),
      clearTimeout: (id) => this.removeTimer(id, { kind: "module" }),
    };
  }

  /** Simulated milliseconds since the simulation started (monotonic, survives reboots). */
  now() {
    if (this.clock === "real") return (performance.now() - this.realBase) * this.speed;
    return this.simMs;
  }

  /** Queues a callback as an Espruino event. */
  queue(fn) {
    this.events.push(fn);
    this.wake();
  }

  /**
   * Adds a timer of a kind: "board" (the firmware's setTimeout/setInterval), "module" (a host module working for the
   * firmware, such as DTLS retransmissions; gone at reboot like board timers, but not the firmware's to clear), or
   * "internal" (the simulator's own: link delays, the wake-up from deep sleep; they survive reboots).
   */
  addTimer(fn, ms, { interval = false, kind = "board" } = {}) {
    const delay = Math.max(0, Number(ms) || 0);
    const id = this.nextId++;
    this.timers.set(id, { id, fn, due: this.now() + delay, period: interval ? delay : 0, kind, seq: id });
    this.wake();
    return id;
  }

  /** Removes a timer of the given kind only (the firmware's clearTimeout cannot remove the simulator's timers). */
  removeTimer(id, { kind = "board" } = {}) {
    const t = this.timers.get(id);
    if (!t || t.kind !== kind) return false;
    return this.timers.delete(id);
  }

  /** Removes every timer of a kind (the firmware's clearTimeout() without an id). */
  removeTimers(kind) {
    for (const [id, t] of this.timers) if (t.kind === kind) this.timers.delete(id);
  }

  /** Changes an interval's period (Espruino's changeInterval); the next run is `ms` from now. */
  changeInterval(id, ms) {
    const t = this.timers.get(id);
    if (!t || t.kind !== "board" || !t.period) return false;
    t.period = Math.max(0, Number(ms) || 0);
    t.due = this.now() + t.period;
    return true;
  }

  /** Drops the board's and modules' timers and all events (a reboot); internal timers survive. */
  clear() {
    for (const [id, t] of this.timers) if (t.kind !== "internal") this.timers.delete(id);
    this.events.length = 0;
  }

  /** Real network traffic of unknown meaning happened: a virtual clock keeps real pace for the next settleMs. */
  noteIo() {
    this.io.activity();
  }

  /** No datagram can be in flight any more (every socket closed). */
  forgetIo() {
    this.io.clear();
  }

  ioInFlight() {
    return this.io.remainingMs() > 0;
  }

  /**
   * Someone interacts in real time (a console client is connected): until the returned release() is called, a
   * virtual clock runs no faster than real time, so the board does not flood the console with hours of output.
   */
  holdRealTime() {
    this.holds++;
    let released = false;
    this.wake();
    return () => {
      if (!released) {
        released = true;
        this.holds--;
        this.wake();
      }
    };
  }

  wake() {
    if (this.wakeUp) {
      const w = this.wakeUp;
      this.wakeUp = null;
      w();
    }
  }

  stop() {
    this.stopped = true;
    this.wake();
  }

  nextDue() {
    let next = Infinity;
    for (const t of this.timers.values()) if (t.due < next) next = t.due;
    return next;
  }

  runDueTimers() {
    const now = this.now();
    const due = [...this.timers.values()].filter((t) => t.due <= now).sort((a, b) => a.due - b.due || a.seq - b.seq);
    for (const t of due) {
      if (this.stopped) return;
      if (!this.timers.has(t.id)) continue; // cleared by an earlier callback
      if (t.period > 0) {
        t.due += t.period;
        if (t.due <= now) t.due = now + t.period;
        t.seq = this.nextId++;
      } else this.timers.delete(t.id);
      this.call(t.fn);
    }
  }

  runEvents() {
    // Only the events queued before this pass: what they queue runs in the next pass, after the timers that are due
    // by then. That gives Espruino's observed order setTimeout(0) -> emit handler -> promise then.
    const batch = this.events.splice(0, this.events.length);
    for (let i = 0; i < batch.length; i++) {
      if (this.stopped) {
        this.events.unshift(...batch.slice(i));
        return;
      }
      this.call(batch[i]);
    }
  }

  call(fn) {
    runOnBoard(this.board, () => {
      try {
        fn();
      } catch (e) {
        this.onError(e);
      }
    });
    // Outside the board's scope: a reboot done here belongs to the next boot, not to this one.
    if (this.afterCall) this.afterCall();
  }

  /** Waits up to `ms` real milliseconds, returning early when an event or timer is added. */
  sleepReal(ms) {
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(done, Math.max(0, ms)) : null;
      this.wakeUp = done;
      function done() {
        if (timer) clearTimeout(timer);
        resolve();
      }
    }).finally(() => {
      this.wakeUp = null;
    });
  }

  /** Lets Node deliver I/O that is already waiting (datagrams, console input) without letting time pass. */
  yieldToNode() {
    return new Promise((resolve) => setImmediate(resolve));
  }

  /** Runs until stop() or until the simulated clock reaches `untilMs`. */
  async run({ untilMs = Infinity } = {}) {
    let spins = 0;
    while (!this.stopped) {
      this.runDueTimers();
      this.runEvents();
      if (this.stopped) break;
      if (this.events.length) {
        if (++spins % 16 === 0) await this.yieldToNode();
        continue;
      }
      const now = this.now();
      if (now >= untilMs) break;
      const next = Math.min(this.nextDue(), untilMs);
      if (next <= now) {
        if (++spins % 64 === 0) await this.yieldToNode();
        continue;
      }
      spins = 0;
      if (this.clock === "real") {
        await this.sleepReal((next - now) / this.speed);
      } else if (this.ioInFlight()) {
        // Real pace while a real reply may be on its way.
        const t0 = performance.now();
        await this.sleepReal(Math.min(next - now, this.io.remainingMs()));
        this.simMs = Math.max(this.simMs, now + (performance.now() - t0));
      } else if (next === Infinity) {
        // Nothing to do but wait for the outside world (console input, a datagram): time passes as in reality.
        const t0 = performance.now();
        await this.sleepReal(Infinity);
        this.simMs = now + (performance.now() - t0);
      } else if (Number.isFinite(this.speed) || this.holds > 0) {
        const speed = this.holds > 0 ? Math.min(this.speed, 1) : this.speed;
        const t0 = performance.now();
        await this.sleepReal((next - now) / speed);
        this.simMs = Math.min(next, now + (performance.now() - t0) * speed);
      } else {
        await this.yieldToNode();
        // Jump only if nothing arrived meanwhile; otherwise handle it at the current time.
        if (!this.events.length && !this.ioInFlight() && this.now() === now) this.simMs = next;
      }
    }
  }
}
