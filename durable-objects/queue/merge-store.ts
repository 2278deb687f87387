/**
 * What the arrival merge (merge.ts) keeps, behind one small synchronous interface: the
 * coordinator's SQLite in the Durable Object, plain memory in tests and simulations, so a
 * sharded queue runs in Node with the very same merge.
 */
import type { Bucket, Resolution } from "./merge";

export type PendingBucket = { shard: number; ms: number; firstSeq: number; count: number };

export interface MergeStore {
  /** The merge's own state (one JSON value), null before the first save. */
  readState(): string | null;
  writeState(value: string): void;
  addPending(shard: number, bucket: Bucket): void;
  /** Pending buckets stamped at or before `throughMs`, in (ms, shard, firstSeq) order, removed from pending. */
  takePending(throughMs: number): PendingBucket[];
  pendingCount(): number;
  addResolved(shard: number, resolution: Resolution): void;
  /** The shard's resolutions it has not acknowledged, by first seq. */
  resolvedFor(shard: number): Resolution[];
  dropResolved(shard: number, throughSeq: number): void;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS merge_state (id INTEGER PRIMARY KEY CHECK (id = 1), v TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS pending (shard INTEGER NOT NULL, ms INTEGER NOT NULL, first_seq INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (shard, first_seq));
  CREATE INDEX IF NOT EXISTS pending_order ON pending (ms, shard, first_seq);
  CREATE TABLE IF NOT EXISTS resolved (shard INTEGER NOT NULL, first_seq INTEGER NOT NULL, count INTEGER NOT NULL, base INTEGER NOT NULL, PRIMARY KEY (shard, first_seq));
`;

export class SqliteMergeStore implements MergeStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(SCHEMA);
  }

  readState(): string | null {
    return this.sql.exec<{ v: string }>("SELECT v FROM merge_state WHERE id = 1").toArray()[0]?.v ?? null;
  }

  writeState(value: string): void {
    this.sql.exec("INSERT INTO merge_state (id, v) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET v = excluded.v", value);
  }

  addPending(shard: number, [ms, firstSeq, count]: Bucket): void {
    this.sql.exec("INSERT INTO pending (shard, ms, first_seq, count) VALUES (?, ?, ?, ?)", shard, ms, firstSeq, count);
  }

  takePending(throughMs: number): PendingBucket[] {
    const rows = this.sql
      .exec<{ shard: number; ms: number; first_seq: number; count: number }>(
        "SELECT shard, ms, first_seq, count FROM pending WHERE ms <= ? ORDER BY ms, shard, first_seq",
        throughMs,
      )
      .toArray();
    this.sql.exec("DELETE FROM pending WHERE ms <= ?", throughMs);
    return rows.map((r) => ({ shard: r.shard, ms: r.ms, firstSeq: r.first_seq, count: r.count }));
  }

  pendingCount(): number {
    return Number(this.sql.exec<{ n: number | null }>("SELECT SUM(count) AS n FROM pending").one().n ?? 0);
  }

  addResolved(shard: number, [firstSeq, count, base]: Resolution): void {
    this.sql.exec(
      "INSERT INTO resolved (shard, first_seq, count, base) VALUES (?, ?, ?, ?)",
      shard,
      firstSeq,
      count,
      base,
    );
  }

  resolvedFor(shard: number): Resolution[] {
    return this.sql
      .exec<{ first_seq: number; count: number; base: number }>(
        "SELECT first_seq, count, base FROM resolved WHERE shard = ? ORDER BY first_seq",
        shard,
      )
      .toArray()
      .map((r) => [r.first_seq, r.count, r.base]);
  }

  dropResolved(shard: number, throughSeq: number): void {
    this.sql.exec("DELETE FROM resolved WHERE shard = ? AND first_seq <= ?", shard, throughSeq);
  }
}

/** The merge's store in plain memory: tests and simulations of a sharded queue in Node. */
export class MemoryMergeStore implements MergeStore {
  private state: string | null = null;
  private pending: PendingBucket[] = [];
  private readonly resolved = new Map<number, Resolution[]>();

  readState(): string | null {
    return this.state;
  }

  writeState(value: string): void {
    this.state = value;
  }

  addPending(shard: number, [ms, firstSeq, count]: Bucket): void {
    this.pending.push({ shard, ms, firstSeq, count });
  }

  takePending(throughMs: number): PendingBucket[] {
    const taken = this.pending.filter((b) => b.ms <= throughMs);
    this.pending = this.pending.filter((b) => b.ms > throughMs);
    return taken.sort((a, b) => a.ms - b.ms || a.shard - b.shard || a.firstSeq - b.firstSeq);
  }

  pendingCount(): number {
    return this.pending.reduce((n, b) => n + b.count, 0);
  }

  addResolved(shard: number, resolution: Resolution): void {
    const list = this.resolved.get(shard) ?? [];
    list.push(resolution);
    list.sort((a, b) => a[0] - b[0]);
    this.resolved.set(shard, list);
  }

  resolvedFor(shard: number): Resolution[] {
    return [...(this.resolved.get(shard) ?? [])];
  }

  dropResolved(shard: number, throughSeq: number): void {
    this.resolved.set(
      shard,
      (this.resolved.get(shard) ?? []).filter((r) => r[0] > throughSeq),
    );
  }
}
