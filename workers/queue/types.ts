/**
 * The shapes that cross the RPC boundary between the edge and a sale's queue object: the
 * one module both sides import (the edge names the object's class only as its binding's type).
 * RPC does not carry error classes, so refusals come back as values and the edge turns
 * them into ApiError at one place (workers/routes/queue.ts).
 */
import type { ErrorCode, Problem } from "../errors";

export type QueueState = "waiting" | "admitted" | "sold_out" | "closed";

/** The poll answer and every WebSocket message: docs/api.md "Shopper routes", `GET /flash-sale/{id}/queue/{token}`. */
export type QueueView = {
  state: QueueState;
  /** null only in random mode before the draw at the sale's start. */
  queue_position: number | null;
  admitted_through: number;
  estimated_wait_seconds: number;
  /** When the page should poll again, from the distance to the front (docs/queue.md "Live position"). */
  poll_after_ms: number;
  admission_token?: string;
  admission_expires_at?: string;
  /** The turn's window passed unused (admission_expires_at is then in the past): its room went to the next in line. */
  lapsed?: true;
  /** Random mode: the commitment before the start, the seed once drawn, the shopper's arrival number. */
  draw?: { commitment: string; seed: string | null; drawn_count: number | null; arrival_number: number | null };
};

export type EnterAnswer = { queue_position: number | null; estimated_wait_seconds: number; queue_token: string };

/** `details`: what a 422 names (docs/api.md "Errors"), e.g. `[{ field: "sale", problem: "ended" }]`. */
export type Refusal = {
  ok: false;
  status: 403 | 404 | 422 | 503;
  code: ErrorCode;
  message: string;
  details?: Problem[];
};
export type Outcome<T> = { ok: true; value: T } | Refusal;

export const refuse = (status: Refusal["status"], code: ErrorCode, message: string, details?: Problem[]): Refusal =>
  details === undefined ? { ok: false, status, code, message } : { ok: false, status, code, message, details };

/**
 * An entry's outcome and the queue's shard count as the answering object knows it: the edge
 * keeps the count, so the next entry goes straight to its home object (one call).
 */
export type EnterReply = Outcome<EnterAnswer> & {
  shards: number;
  /** The sale's start as the queue holds it: the door retries a refused signal only before it. */
  startMs?: number | null;
};

/** A (re)configuration taken, with the shard count now in force, or why the count was refused. */
export type ConfigureReply = { ok: true; shards: number } | { ok: false; problem: string };

/** What the queue needs to know about a sale; sent when the sale is created or changed. */
export type QueueSaleConfig = {
  saleId: string;
  startMs: number;
  endMs: number;
  preQueueMinutes: number;
  preQueueMode: "fifo" | "random";
  admissionRatePerSecond: number;
  expectedShoppers: number;
  /**
   * Objects the admin set for the queue (`shards`, docs/api.md); absent: keep the count the
   * queue has, or size a new one from expectedShoppers (workers/queue/shards.ts).
   */
  shards?: number;
  /** Admitted-but-undecided shoppers per unit left (DEFAULTS.admittedPerUnit). */
  admittedPerUnit?: number;
  /** How long an admission may go unused before it lapses (DEFAULTS.admissionWindowSeconds). */
  admissionWindowSeconds?: number;
};

/** The queue's live figures, for the status answer and the admin's view. */
export type QueueStats = {
  /** Shoppers who have entered the queue. */
  length: number;
  /** Every position up to and including this one has been admitted. */
  admittedThrough: number;
  /** Every admission at or below this position lapsed unused. */
  lapsedThrough: number;
  soldOut: boolean;
  closed: boolean;
};
