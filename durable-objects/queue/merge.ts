/**
 * The coordinator's half of a sharded queue: merging N shards' arrivals into one global
 * order by arrival time.
 *
 * Each shard stamps every entrant with its arrival time (ms, never below the time it
 * last reported through) and a local sequence number, and reports buckets
 * `[ms, firstSeq, count]` plus `sealedMs`: it will never again stamp a time ≤ sealedMs.
 * Once every shard has sealed through S, every arrival at or before S is known, so the
 * coordinator hands out global arrival numbers for those buckets in the order
 * (ms, shard, seq). That order is total and the same wherever it is computed, so the
 * numbers are unique, gap-free and in arrival order across all shards.
 *
 * Cost per report is proportional to the buckets it carries (new arrivals), never to the
 * queue's length; resolved buckets are deleted once the shard acknowledges them. The
 * store (merge-store.ts) is the coordinator's SQLite, or memory in a Node simulation.
 */
import type { MergeStore } from "./merge-store";

export type Bucket = [ms: number, firstSeq: number, count: number];
export type Resolution = [firstSeq: number, count: number, base: number];
export type ShardReport = { shard: number; sealedMs: number; buckets: Bucket[]; ackedSeq: number };

type MergeState = {
  /** The next global arrival number to hand out. */
  next: number;
  sealed: number[];
  /** Highest local seq received from each shard, so a resent report is not counted twice. */
  received: number[];
  /** Random mode: arrivals before the start, fixed once every shard has sealed past it. */
  preStartCount: number | null;
};

/**
 * A shard not heard from for this long (real time; 100 missed reports) is sealed out:
 * numbering goes on through what the others sealed, so one silent shard stops nobody.
 */
export const SEAL_SILENT_AFTER_MS = 10_000;

export class ArrivalMerge {
  private state: MergeState;
  /**
   * When each shard last reported, in real time. Kept in memory only: a coordinator that
   * restarts gives every shard a fresh grace period instead of finding them all silent.
   */
  private readonly heard: number[];

  /** `alreadyNumbered`: arrivals the object numbered itself before it became a coordinator. */
  constructor(
    private readonly store: MergeStore,
    shardCount: number,
    realNow: number,
    alreadyNumbered = 0,
  ) {
    const kept = store.readState();
    this.state = kept ? (JSON.parse(kept) as MergeState) : { next: 1, sealed: [], received: [], preStartCount: null };
    this.state.next = Math.max(this.state.next, alreadyNumbered + 1);
    this.heard = [];
    this.resize(shardCount, realNow);
  }

  get shardCount(): number {
    return this.state.sealed.length;
  }

  /** Global arrival numbers handed out so far. */
  get resolvedCount(): number {
    return this.state.next - 1;
  }

  get pendingCount(): number {
    return this.store.pendingCount();
  }

  get preStartCount(): number | null {
    return this.state.preStartCount;
  }

  /**
   * The shard count changed (rules.ts `configure`: fewer only before the door opens, when no
   * shard holds anyone). A new shard holds nothing stamped before it existed, so it starts
   * sealed where every shard so far has sealed.
   */
  resize(shardCount: number, realNow: number): void {
    const from = this.state.sealed.length;
    const sealedAll = from === 0 ? -1 : Math.min(...this.state.sealed);
    for (let i = from; i < shardCount; i++) {
      this.state.sealed.push(sealedAll);
      this.state.received.push(0);
    }
    this.state.sealed.length = this.state.received.length = shardCount;
    while (this.heard.length < shardCount) this.heard.push(realNow);
    this.heard.length = shardCount;
    if (shardCount !== from) this.save();
  }

  /** Shards not heard from within `afterMs` of `realNow`. */
  silent(realNow: number, afterMs: number): number[] {
    return this.heard.flatMap((at, shard) => (realNow - at > afterMs ? [shard] : []));
  }

  /** Records a shard's report; the part of any bucket already received is dropped. */
  accept(report: ShardReport, realNow: number): void {
    const { shard } = report;
    // A shard retired by a lowered count (it never held anyone) has nothing to add.
    if (shard >= this.shardCount) return;
    this.heard[shard] = realNow;
    let received = this.state.received[shard]!;
    // In seq order: a bucket's seqs are only compared with what came before it.
    for (const [ms, firstSeq, count] of [...report.buckets].sort((a, b) => a[1] - b[1])) {
      const last = firstSeq + count - 1;
      if (last <= received) continue;
      const from = Math.max(firstSeq, received + 1);
      this.store.addPending(shard, [ms, from, last - from + 1]);
      received = last;
    }
    this.state.received[shard] = received;
    this.state.sealed[shard] = Math.max(this.state.sealed[shard]!, report.sealedMs);
    // Acknowledged resolutions will not be asked for again.
    this.store.dropResolved(shard, report.ackedSeq);
  }

  /**
   * Numbers every bucket at or before the time all shards still reporting have sealed
   * through. A shard silent past SEAL_SILENT_AFTER_MS is left out: its late arrivals are
   * numbered when it is heard again, after the arrivals numbered meanwhile.
   */
  resolve(startMs: number, random: boolean, realNow: number): void {
    const sealedOut = new Set(this.silent(realNow, SEAL_SILENT_AFTER_MS));
    const live = this.state.sealed.filter((_, shard) => !sealedOut.has(shard));
    if (live.length === 0) return;
    const sealedAll = Math.min(...live);
    if (random && this.state.preStartCount === null && sealedAll >= startMs - 1) {
      this.assign(startMs - 1);
      this.state.preStartCount = this.state.next - 1;
    }
    this.assign(sealedAll);
    this.save();
  }

  resolutionsFor(shard: number): Resolution[] {
    return this.store.resolvedFor(shard);
  }

  private assign(throughMs: number): void {
    for (const b of this.store.takePending(throughMs)) {
      this.store.addResolved(b.shard, [b.firstSeq, b.count, this.state.next]);
      this.state.next += b.count;
    }
  }

  private save(): void {
    this.store.writeState(JSON.stringify(this.state));
  }
}
