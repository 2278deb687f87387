/**
 * The simulated clock's agenda: events in one bucket per millisecond, taken in time
 * order and, within a millisecond, in the order they were scheduled. Nothing here reads
 * the wall clock, so the order of events (and of the Redis calls they make) is the same
 * on every run with the same seed.
 */
export type Event = { kind: number; who: number; extra: number };

export class Calendar {
  private readonly buckets = new Map<number, number[]>();
  private pendingCount = 0;
  /** The millisecond being processed; nothing may be scheduled before it. */
  cursor: number;

  constructor(firstMs: number) {
    this.cursor = firstMs;
  }

  get pending(): number {
    return this.pendingCount;
  }

  schedule(atMs: number, kind: number, who: number, extra = 0): void {
    const ms = Math.max(this.cursor, Math.floor(atMs));
    let bucket = this.buckets.get(ms);
    if (!bucket) {
      bucket = [];
      this.buckets.set(ms, bucket);
    }
    bucket.push(kind, who, extra);
    this.pendingCount++;
  }

  /** The events of the current millisecond; events scheduled for it while they run are appended and run too. */
  *drain(): Generator<Event> {
    const bucket = this.buckets.get(this.cursor);
    if (!bucket) return;
    for (let i = 0; i < bucket.length; i += 3) {
      this.pendingCount--;
      yield { kind: bucket[i]!, who: bucket[i + 1]!, extra: bucket[i + 2]! };
    }
    this.buckets.delete(this.cursor);
  }
}
