/**
 * The queue's store in plain memory, for unit tests and simulations that run the real
 * rules (rules.ts) without workerd. Same contract as the SQLite store, including its
 * uniqueness: a second place for one shopper or token throws, as SQLite's UNIQUE does.
 */
import type { Bucket } from "./merge";
import type { Entrant } from "./model";
import type { Kept, NewEntrant, QueueStore } from "./store";

type Row = Entrant & { arrived_ms: number };

export class MemoryQueueStore implements QueueStore {
  private readonly kv = new Map<string, string>();
  /** By seq, in insertion (= seq) order. */
  private readonly rows = new Map<number, Row>();
  private readonly shoppers = new Map<string, Row>();
  private readonly tokens = new Map<string, Row>();
  private readonly positions = new Map<number, Row>();
  /** Ascending by through: ticks only ever raise the watermark. */
  private admissions: Array<{ through: number; at: number }> = [];
  private lastSeq = 0;

  read<K extends keyof Kept>(key: K): Kept[K] | null {
    const v = this.kv.get(key);
    return v === undefined ? null : (JSON.parse(v) as Kept[K]);
  }

  write<K extends keyof Kept>(key: K, value: Kept[K]): void {
    this.kv.set(key, JSON.stringify(value));
  }

  maxArrival(): number {
    let n = 0;
    for (const r of this.rows.values()) if (r.arrival !== null && r.arrival > n) n = r.arrival;
    return n;
  }

  maxSeq(): number {
    return this.lastSeq;
  }

  maxArrivedMs(): number {
    let n = 0;
    for (const r of this.rows.values()) if (r.arrived_ms > n) n = r.arrived_ms;
    return n;
  }

  insert(e: NewEntrant): number {
    const seq = e.seq ?? this.lastSeq + 1;
    if (this.rows.has(seq) || this.shoppers.has(e.shopper) || this.tokens.has(e.token))
      throw new Error("UNIQUE constraint failed: entrants");
    if (e.position !== null && this.positions.has(e.position)) throw new Error("UNIQUE constraint failed: position");
    const row: Row = {
      seq,
      shopper: e.shopper,
      device: e.device,
      token: e.token,
      arrival: e.arrival,
      position: e.position,
      adm_token: null,
      adm_expires_ms: null,
      arrived_ms: e.arrivedMs,
    };
    this.rows.set(seq, row);
    this.shoppers.set(row.shopper, row);
    this.tokens.set(row.token, row);
    if (row.position !== null) this.positions.set(row.position, row);
    this.lastSeq = Math.max(this.lastSeq, seq);
    return seq;
  }

  byShopper(shopper: string): Entrant | undefined {
    return copy(this.shoppers.get(shopper));
  }

  byToken(token: string): Entrant | undefined {
    return copy(this.tokens.get(token));
  }

  shoppersBetween(from: number, through: number): string[] {
    const out: string[] = [];
    for (let p = from + 1; p <= through; p++) {
      const row = this.positions.get(p);
      if (row) out.push(row.shopper);
    }
    return out;
  }

  setAdmissionToken(seq: number, token: string, expiresMs: number): void {
    const row = this.rows.get(seq);
    if (!row) return;
    row.adm_token = token;
    row.adm_expires_ms = expiresMs;
  }

  placeDrawn(rank: Uint32Array, count: number): void {
    for (const row of this.rows.values())
      if (row.arrival !== null && row.arrival <= count) this.place(row, rank[row.arrival - 1]! + 1);
  }

  placeByArrival(after: number): void {
    for (const row of this.rows.values())
      if (row.position === null && row.arrival !== null && row.arrival > after) this.place(row, row.arrival);
  }

  logAdmission(through: number, atMs: number): void {
    this.admissions.push({ through, at: atMs });
  }

  admittedThroughBy(cutoffMs: number): number {
    let n = 0;
    for (const a of this.admissions) if (a.at <= cutoffMs && a.through > n) n = a.through;
    return n;
  }

  dropAdmissionsThrough(through: number): void {
    this.admissions = this.admissions.filter((a) => a.through > through);
  }

  admittedAt(position: number): number | null {
    return this.admissions.find((a) => a.through >= position)?.at ?? null;
  }

  bucketsAfter(afterSeq: number): Bucket[] {
    const byMs = new Map<number, Bucket>();
    for (const row of this.rows.values()) {
      if (row.seq <= afterSeq) continue;
      const b = byMs.get(row.arrived_ms);
      if (b) b[2]++;
      else byMs.set(row.arrived_ms, [row.arrived_ms, row.seq, 1]);
    }
    return [...byMs.values()].sort((a, b) => a[0] - b[0]);
  }

  number(firstSeq: number, count: number, base: number): void {
    for (let seq = firstSeq; seq < firstSeq + count; seq++) {
      const row = this.rows.get(seq);
      if (row) row.arrival = base + seq - firstSeq;
    }
  }

  private place(row: Row, position: number): void {
    // Only its own entry: the slow lane re-sorts held places, and another row may have taken this one already.
    if (row.position !== null && this.positions.get(row.position) === row) this.positions.delete(row.position);
    row.position = position;
    this.positions.set(position, row);
  }
}

const copy = (row: Row | undefined): Entrant | undefined => {
  if (!row) return undefined;
  const { arrived_ms: _, ...entrant } = row;
  return entrant;
};
