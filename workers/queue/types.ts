/**
 * The shapes that cross the RPC boundary between the edge and a sale's queue object.
 * RPC does not carry error classes, so refusals come back as values and the edge turns
 * them into ApiError at one place (workers/routes/queue.ts).
 */
import type { ErrorCode } from "../errors";

export type QueueState = "waiting" | "admitted" | "sold_out" | "closed";

/** The poll answer and every WebSocket message: docs/api.md "Shopper routes", `GET /flash-sale/{id}/queue/{token}`. */
export type QueueView = {
  state: QueueState;
  /** null only in random mode before the draw at the sale's start. */
  queue_position: number | null;
  admitted_through: number;
  estimated_wait_seconds: number;
  admission_token?: string;
  admission_expires_at?: string;
  /** The turn's window passed unused (admission_expires_at is then in the past): its room went to the next in line. */
  lapsed?: true;
  /** Random mode: the commitment before the start, the seed once drawn, the shopper's arrival number. */
  draw?: { commitment: string; seed: string | null; drawn_count: number | null; arrival_number: number | null };
};

export type EnterAnswer = { queue_position: number | null; estimated_wait_seconds: number; queue_token: string };

export type Refusal = { ok: false; status: 403 | 404 | 422 | 503; code: ErrorCode; message: string };
export type Outcome<T> = { ok: true; value: T } | Refusal;

export const refuse = (status: Refusal["status"], code: ErrorCode, message: string): Refusal => ({
  ok: false,
  status,
  code,
  message,
});
