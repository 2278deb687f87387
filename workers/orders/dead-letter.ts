import type { Redis } from "../clients/redis";
import { keys } from "../keys";

/** One order event Postgres refused, as the admin sees it. */
export type DeadLetterEntry = {
  /** The order it belongs to, when the event can be read at all. */
  order_id: string | null;
  /** reserved | paid | cancelled | expired, or null for an unreadable event. */
  event_type: string | null;
  error: string;
  dead_lettered_at: string | null;
  /** The event exactly as the outbox held it, to be corrected and replayed by hand. */
  event: string;
};

/** The sale's dead-letter list: how many, and the newest `limit` of them. */
export type DeadLetterSummary = { count: number; entries: DeadLetterEntry[] };

export const DEAD_LETTER_SHOWN = 20;

/** Parses one list entry (written by outbox-dead-letter.lua) once, tolerating anything. */
export function parseDeadLetter(raw: unknown): DeadLetterEntry {
  let entry: { event?: unknown; error?: unknown; at_ms?: unknown } = {};
  try {
    entry = typeof raw === "string" ? JSON.parse(raw) : ((raw ?? {}) as typeof entry);
  } catch {
    return {
      order_id: null,
      event_type: null,
      error: "unreadable dead-letter entry",
      dead_lettered_at: null,
      event: String(raw),
    };
  }
  const event = typeof entry.event === "string" ? entry.event : JSON.stringify(entry.event ?? null);
  let parsed: { order_id?: unknown; t?: unknown } = {};
  try {
    parsed = JSON.parse(event) ?? {};
  } catch {
    /* kept as text: the reason says why it could not be written */
  }
  const at = Number(entry.at_ms);
  return {
    order_id: typeof parsed.order_id === "string" ? parsed.order_id : null,
    event_type: typeof parsed.t === "string" ? parsed.t : null,
    error: typeof entry.error === "string" ? entry.error : "unknown",
    dead_lettered_at: Number.isFinite(at) && at > 0 ? new Date(at).toISOString() : null,
    event,
  };
}

export async function readDeadLetters(
  redis: Pick<Redis, "llen" | "lrange">,
  saleId: string,
  limit = DEAD_LETTER_SHOWN,
): Promise<DeadLetterSummary> {
  const [count, raw] = await Promise.all([
    redis.llen(keys.deadLetter(saleId)),
    redis.lrange(keys.deadLetter(saleId), -limit, -1) as Promise<unknown[]>,
  ]);
  return { count, entries: raw.map(parseDeadLetter).reverse() };
}
