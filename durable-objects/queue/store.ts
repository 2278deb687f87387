/**
 * Everything the queue's rules read and write, behind one small interface: the SQLite
 * store (sqlite-store.ts) in the Durable Object, the in-memory one (memory-store.ts) in
 * unit tests and simulations. Every method is synchronous, as SQLite in a Durable Object
 * is: no await may stand between a rule's check and its write.
 */

import type { Bucket } from "./merge";
import type { Config, Entrant, SaleState, ShardProgress } from "./model";

export type Kept = { config: Config; state: SaleState; progress: ShardProgress };

export type NewEntrant = {
  /** Given on a shard (its local sequence); a single object lets the store number it. */
  seq?: number;
  shopper: string;
  device: string;
  token: string;
  arrival: number | null;
  position: number | null;
  arrivedMs: number;
};

export interface QueueStore {
  read<K extends keyof Kept>(key: K): Kept[K] | null;
  write<K extends keyof Kept>(key: K, value: Kept[K]): void;

  /** Highest arrival number, local sequence and arrival stamp held (0 when empty). */
  maxArrival(): number;
  maxSeq(): number;
  maxArrivedMs(): number;

  /** Returns the place's local seq. */
  insert(entrant: NewEntrant): number;
  byShopper(shopper: string): Entrant | undefined;
  byToken(token: string): Entrant | undefined;
  /** Shoppers whose position is in (from, through]. */
  shoppersBetween(from: number, through: number): string[];
  setAdmissionToken(seq: number, token: string, expiresMs: number): void;

  /** The draw: every entrant with arrival ≤ count takes position rank[arrival - 1] + 1. */
  placeDrawn(rank: Uint32Array, count: number): void;
  /** Numbered entrants without a position and arriving after `after` take their arrival as position. */
  placeByArrival(after: number): void;

  /** Admissions log: one row per tick that raised the watermark (through, at). */
  logAdmission(through: number, atMs: number): void;
  /** The highest `through` admitted at or before `cutoffMs` (0 when none). */
  admittedThroughBy(cutoffMs: number): number;
  dropAdmissionsThrough(through: number): void;
  /** When `position` was admitted: the first logged through ≥ it; null when not in the log. */
  admittedAt(position: number): number | null;

  /** A shard's arrivals after local seq `afterSeq` (its unapplied ones), grouped by stamp, in stamp order. */
  bucketsAfter(afterSeq: number): Bucket[];
  /** Local seqs first..first+count-1 get arrival numbers base, base+1, … */
  number(firstSeq: number, count: number, base: number): void;
}
