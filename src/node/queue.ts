// Store and forward: readings the server has not acknowledged are kept in flash, one Storage file per reading
// (a Storage write is atomic, so a power cut loses at most the reading being written, never the queue), named in
// sequence so they are sent in order after a reboot or deep sleep. When the queue is full the oldest readings are
// dropped and counted; the count is itself persisted and reported.

const PREFIX = "tq";
const META = "tq.meta";
const DIGITS = 8;

export interface Reading {
  /** Milliseconds since 1970 by the node's clock, or 0 when the clock is not set (the server's time is used). */
  ts: number;
  values: { [key: string]: number | string | boolean };
}

function fileName(seq: number): string {
  let s = "" + seq;
  while (s.length < DIGITS) s = "0" + s;
  return PREFIX + s;
}

export class TelemetryQueue {
  private seqs: number[];
  private nextSeq: number;
  /** Readings dropped because the queue was full, since the counter was last reported. */
  dropped: number;

  constructor(private storage: StorageModule, private max: number) {
    const names = storage.list(/^tq[0-9]+$/);
    const seqs: number[] = [];
    for (let i = 0; i < names.length; i++) seqs.push(+names[i].slice(PREFIX.length));
    seqs.sort(function (a, b) { return a - b; });
    this.seqs = seqs;
    this.nextSeq = seqs.length ? seqs[seqs.length - 1] + 1 : 1;
    const meta = storage.readJSON(META, true);
    this.dropped = meta && typeof meta.dropped === "number" ? meta.dropped : 0;
  }

  get length(): number {
    return this.seqs.length;
  }

  push(reading: Reading): void {
    let dropped = 0;
    while (this.seqs.length >= this.max) {
      this.storage.erase(fileName(this.seqs.shift()!));
      dropped++;
    }
    if (dropped) this.setDropped(this.dropped + dropped);
    const seq = this.nextSeq++;
    this.storage.write(fileName(seq), JSON.stringify(reading));
    this.seqs.push(seq);
  }

  /**
   * Up to `count` oldest readings, in order, each with its sequence number for ack(). Unreadable files are skipped
   * (and removed by the next ack past them).
   */
  peek(count: number): { readings: Reading[]; seqs: number[] } {
    const readings: Reading[] = [];
    const seqs: number[] = [];
    for (let i = 0; i < this.seqs.length && readings.length < count; i++) {
      const r = this.storage.readJSON(fileName(this.seqs[i]), true);
      if (r && typeof r === "object" && r.values) {
        readings.push(r);
        seqs.push(this.seqs[i]);
      }
    }
    return { readings: readings, seqs: seqs };
  }

  /** Removes every reading up to and including sequence `upTo`: the server acknowledged them. */
  ack(upTo: number): void {
    while (this.seqs.length && this.seqs[0] <= upTo) this.storage.erase(fileName(this.seqs.shift()!));
  }

  /** The dropped counter was reported: start counting again. */
  resetDropped(): void {
    if (this.dropped) this.setDropped(0);
  }

  private setDropped(n: number): void {
    this.dropped = n;
    this.storage.writeJSON(META, { dropped: n });
  }
}
