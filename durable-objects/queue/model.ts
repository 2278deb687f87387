/**
 * The queue object's own shapes: what it keeps (config, state, entrants) and what its
 * coordinator and shards tell each other. The edge never sees these; what crosses to the
 * edge lives in workers/queue/types.ts.
 */
import type { QueueSaleConfig } from "../../workers/queue/types";
import type { Resolution } from "./merge";
import type { Meter } from "./meter";

/** docs/queue.md "Roles": one object for the whole sale, or a coordinator and its shards. */
export type Role =
  | { kind: "single" }
  | { kind: "coordinator"; shards: number; earlier?: number[] }
  | { kind: "shard"; index: number; shards: number; earlier?: number[] };

/**
 * A sale's shard count was raised during the pre-queue: `earlier` lists the counts it had
 * (1: the coordinator itself held entrants, as a single object). A shopper's place stays
 * where they entered, so a new entrant's home asks their home under each earlier count.
 */
export const earlierCounts = (role: Role): number[] => (role.kind === "single" ? [] : (role.earlier ?? []));

export type Config = QueueSaleConfig & { cancelled: boolean; role: Role };

/** The object's durable state (kv "state"); one JSON row, rewritten by each tick. */
export type SaleState = {
  meter: Meter;
  /** Admissions at or below this position lapsed: their window passed (absent in objects from before lapses). */
  lapsedThrough?: number;
  soldOut: boolean;
  /** null: not read yet, or the last read failed. */
  remaining: number | null;
  skus: string[] | null;
  seed: string;
  commitment: string;
  /** Random mode: how many pre-start entrants the draw ordered; null before the draw. */
  drawnCount: number | null;
  closedBroadcast: boolean;
  /**
   * The slow lane (rules.ts sortSlowLane): set once the places of everyone who arrived
   * before the first admission were sorted, unflagged first; absent until then.
   */
  slowLane?: { sorted: number; flagged: number };
};

export type Entrant = {
  seq: number;
  shopper: string;
  /** The device the shopper entered with (the page's own id, else the fingerprint): the admission token carries it to the purchase's device rule. */
  device: string;
  token: string;
  /** null only on a shard, until the coordinator has numbered this arrival. */
  arrival: number | null;
  position: number | null;
  adm_token: string | null;
  adm_expires_ms: number | null;
};

/** A shard's own bookkeeping of what it has reported and applied. */
export type ShardProgress = { sealedMs: number; appliedSeq: number };

/** What the coordinator tells a shard: the global state and the shard's resolved arrivals. */
export type GlobalState = {
  admittedThrough: number;
  /** Every admission at or below this position has lapsed unused (its window passed). */
  lapsedThrough: number;
  soldOut: boolean;
  cancelled: boolean;
  /** Random mode: pre-start arrivals drawn, and the seed, once the draw is fixed. */
  drawnCount: number | null;
  seed: string | null;
  commitment: string;
};
export type ShardReply = GlobalState & { resolutions: Resolution[] };

/** What a coordinator tells each shard (configureShard), and hands one whose call was lost. */
export type ShardSetup = {
  config: QueueSaleConfig;
  shards: number;
  cancelled: boolean;
  commitment: string;
  earlier: number[];
};
