/**
 * The coordinator's half of a sharded queue: merging N shards' arrivals into one global
 * order by arrival time, in the coordinator's SQLite.
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
 * queue's length; resolved buckets are deleted once the shard acknowledges them.
 */
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

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS merge_state (id INTEGER PRIMARY KEY CHECK (id = 1), v TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS pending (shard INTEGER NOT NULL, ms INTEGER NOT NULL, first_seq INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (shard, first_seq));
  CREATE INDEX IF NOT EXISTS pending_order ON pending (ms, shard, first_seq);
  CREATE TABLE IF NOT EXISTS resolved (shard INTEGER NOT NULL, first_seq INTEGER NOT NULL, count INTEGER NOT NULL, base INTEGER NOT NULL, PRIMARY KEY (shard, first_seq));
`;

export class ArrivalMerge {
  private state: MergeState;

  constructor(
    private readonly sql: SqlStorage,
    shardCount: number,
  ) {
    sql.exec(SCHEMA);
    const row = sql.exec<{ v: string }>("SELECT v FROM merge_state WHERE id = 1").toArray()[0];
    this.state = row
      ? (JSON.parse(row.v) as MergeState)
      : { next: 1, sealed: Array(shardCount).fill(-1), received: Array(shardCount).fill(0), preStartCount: null };
  }

  /** Global arrival numbers handed out so far. */
  get resolvedCount(): number {
    return this.state.next - 1;
  }

  get pendingCount(): number {
    return Number(this.sql.exec<{ n: number | null }>("SELECT SUM(count) AS n FROM pending").one().n ?? 0);
  }

  get preStartCount(): number | null {
    return this.state.preStartCount;
  }

  /** Records a shard's report; the part of any bucket already received is dropped. */
  accept(report: ShardReport): void {
    const { shard } = report;
    let received = this.state.received[shard]!;
    // In seq order: a bucket's seqs are only compared with what came before it.
    for (const [ms, firstSeq, count] of [...report.buckets].sort((a, b) => a[1] - b[1])) {
      const last = firstSeq + count - 1;
      if (last <= received) continue;
      const from = Math.max(firstSeq, received + 1);
      this.sql.exec(
        "INSERT INTO pending (shard, ms, first_seq, count) VALUES (?, ?, ?, ?)",
        shard,
        ms,
        from,
        last - from + 1,
      );
      received = last;
    }
    this.state.received[shard] = received;
    this.state.sealed[shard] = Math.max(this.state.sealed[shard]!, report.sealedMs);
    // Acknowledged resolutions will not be asked for again.
    this.sql.exec("DELETE FROM resolved WHERE shard = ? AND first_seq <= ?", shard, report.ackedSeq);
  }

  /** Numbers every bucket at or before the time all shards have sealed through. */
  resolve(startMs: number, random: boolean): void {
    const sealedAll = Math.min(...this.state.sealed);
    if (random && this.state.preStartCount === null && sealedAll >= startMs - 1) {
      this.assign(startMs - 1);
      this.state.preStartCount = this.state.next - 1;
    }
    this.assign(sealedAll);
    this.save();
  }

  resolutionsFor(shard: number): Resolution[] {
    return this.sql
      .exec<{ first_seq: number; count: number; base: number }>(
        "SELECT first_seq, count, base FROM resolved WHERE shard = ? ORDER BY first_seq",
        shard,
      )
      .toArray()
      .map((r) => [r.first_seq, r.count, r.base]);
  }

  private assign(throughMs: number): void {
    const rows = this.sql
      .exec<{ shard: number; ms: number; first_seq: number; count: number }>(
        "SELECT shard, ms, first_seq, count FROM pending WHERE ms <= ? ORDER BY ms, shard, first_seq",
        throughMs,
      )
      .toArray();
    for (const r of rows) {
      this.sql.exec(
        "INSERT INTO resolved (shard, first_seq, count, base) VALUES (?, ?, ?, ?)",
        r.shard,
        r.first_seq,
        r.count,
        this.state.next,
      );
      this.state.next += r.count;
    }
    this.sql.exec("DELETE FROM pending WHERE ms <= ?", throughMs);
  }

  private save(): void {
    this.sql.exec(
      "INSERT INTO merge_state (id, v) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET v = excluded.v",
      JSON.stringify(this.state),
    );
  }
}
