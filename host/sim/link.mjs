// Network conditions between a simulated node and the real network: loss (each way), duplication, reordering, delay
// and an outage window. Every decision comes from a seeded generator and every delay runs on the node's simulated
// clock, so a run repeats exactly for the same seed and the same traffic. (The NAT rebinding condition moves the
// node's sockets instead; see node.mjs.)
import { seededRandom } from "../engine/random.mjs";

/** How long a packet picked for reordering waits for a later one to overtake it before it goes anyway (ms). */
export const REORDER_HOLD_MS = 100;

function probability(name, v) {
  const p = Number(v ?? 0);
  if (!(p >= 0 && p <= 1)) throw new Error(`${name} must be a probability between 0 and 1, not ${v}`);
  return p;
}

/** Checks and normalises link options: { lossOut, lossIn, dup, reorder, delayMs, outage: {startMs, lenMs} }. */
export function linkConditions(o = {}) {
  const c = {
    lossOut: probability("loss (outbound)", o.lossOut),
    lossIn: probability("loss (inbound)", o.lossIn),
    dup: probability("dup", o.dup),
    reorder: probability("reorder", o.reorder),
    delayMs: Number(o.delayMs ?? 0),
    outage: o.outage ?? null,
  };
  if (!(c.delayMs >= 0)) throw new Error(`delay must be a non-negative number of milliseconds, not ${o.delayMs}`);
  if (c.outage && !(c.outage.startMs >= 0 && c.outage.lenMs > 0)) throw new Error("outage needs a start >= 0 and a length > 0");
  return c;
}

/**
 * A link for one node on `scheduler`'s clock. `onTrace({type:"link", dir, fate, size, bytes, peer})` reports every
 * datagram that is lost, dropped in an outage, duplicated or reordered (peer: the other end's {address, port}).
 * @param {{ scheduler: any, seed?: number, conditions?: object, onTrace?: (event: object) => void }} options
 */
export function createLink({ scheduler, seed = 1, conditions = {}, onTrace = (_event) => {} }) {
  return new Link(scheduler, seed, linkConditions(conditions), onTrace);
}

class Link {
  constructor(scheduler, seed, conditions, onTrace) {
    this.scheduler = scheduler;
    this.conditions = conditions;
    this.onTrace = onTrace;
    this.stats = { out: { passed: 0, dropped: 0, duplicated: 0, reordered: 0 }, in: { passed: 0, dropped: 0, duplicated: 0, reordered: 0 } };
    this.directions = {
      out: { random: seededRandom(seed), loss: conditions.lossOut, held: null },
      in: { random: seededRandom((seed ^ 0x5bd1e995) >>> 0), loss: conditions.lossIn, held: null },
    };
  }

  outbound(bytes, port, address, deliver) {
    this.pass("out", bytes, { address, port }, () => deliver(bytes, port, address));
  }

  inbound(bytes, rinfo, deliver) {
    this.pass("in", bytes, rinfo, () => deliver(bytes, rinfo));
  }

  inOutage() {
    const t = this.scheduler.now();
    const o = this.conditions.outage;
    return o !== null && t >= o.startMs && t < o.startMs + o.lenMs;
  }

  later(fn, ms) {
    if (ms > 0) this.scheduler.addTimer(fn, ms, { kind: "internal" });
    else fn();
  }

  pass(dirName, bytes, peer, deliver) {
    const c = this.conditions;
    const stats = this.stats[dirName];
    const trace = (fate) => this.onTrace({ type: "link", dir: dirName, fate, size: bytes.length, bytes, peer });
    const d = this.directions[dirName];
    // Three draws per packet whatever the settings, so one condition does not shift another's decisions.
    const rLoss = d.random();
    const rDup = d.random();
    const rReorder = d.random();
    if (this.inOutage() || rLoss < d.loss) {
      stats.dropped++;
      trace(this.inOutage() ? "outage" : "lost");
      return;
    }
    const copies = rDup < c.dup ? 2 : 1;
    if (copies === 2) {
      stats.duplicated++;
      trace("duplicated");
    }
    const arrive = () => {
      for (let i = 0; i < copies; i++) deliver();
      stats.passed++;
    };
    if (rReorder < c.reorder && !d.held) {
      stats.reordered++;
      trace("reordered");
      this.hold(d, arrive);
      return;
    }
    this.later(() => {
      arrive();
      this.releaseHeld(d);
    }, c.delayMs);
  }

  /** Holds a datagram back until the next one of its direction overtook it (or REORDER_HOLD_MS passed). */
  hold(d, arrive) {
    const held = { send: () => this.later(arrive, this.conditions.delayMs), timer: 0 };
    held.timer = this.scheduler.addTimer(() => {
      if (d.held === held) {
        d.held = null;
        held.send();
      }
    }, REORDER_HOLD_MS, { kind: "internal" });
    d.held = held;
  }

  /** A packet held for reordering goes right after the one that overtook it. */
  releaseHeld(d) {
    if (!d.held) return;
    const h = d.held;
    d.held = null;
    this.scheduler.removeTimer(h.timer, { kind: "internal" });
    h.send();
  }
}
