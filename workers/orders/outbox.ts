import type { Redis } from "@upstash/redis";
import type { Database } from "../clients/db";
import { keys } from "../keys";
import { parseOrderEvent } from "./events";
import deadLetterLua from "./outbox-dead-letter.lua";
import leaseLua from "./outbox-lease.lua";
import { writeIsolating } from "./writer";

/** `remaining` is -1 when the drain was skipped because another held the lease. */
export type DrainResult = { applied: number; deadLettered: number; remaining: number; skipped: "locked" | null };

const LEASE_MS = 30_000;

/** What the lease script compares an event by ("<t>:<order_id>"); the raw text if it is not JSON. */
export function eventIdentity(raw: unknown): string {
  try {
    const e = typeof raw === "string" ? JSON.parse(raw) : raw;
    if (e && typeof e === "object") return `${String(e.t ?? "")}:${String(e.order_id ?? "")}`;
  } catch {
    /* not JSON: compared as written */
  }
  return String(raw);
}

/**
 * One log line per order event now in Postgres, with the purchase request's id: the last
 * step of the trail from the edge's request log to the order's row (workers/middleware/observe.ts).
 */
function logWritten(saleId: string, events: unknown[]): void {
  for (const raw of events) {
    try {
      const e = parseOrderEvent(raw);
      console.log(
        JSON.stringify({
          level: "info",
          msg: "order event written to postgres",
          sale_id: saleId,
          order_id: e.order_id,
          event: e.t,
          request_id: e.t === "reserved" ? e.request_id || null : null,
        }),
      );
    } catch {
      /* written, so readable; a log line is never worth failing the drain */
    }
  }
}

/**
 * Writes a sale's outbox to Postgres, oldest first, and trims only what was written.
 *
 * Why no order can be lost: an event leaves the list (a lease-guarded LTRIM) only after the transaction
 * that applied it committed; if Postgres is down the events stay and the next drain
 * (cron, reconcile, or the next purchase's background write) retries them. One drain
 * per sale at a time (a lease in Redis), so two drains cannot trim each other's events.
 *
 * Why no event waits for the cron: a drain that finds the lease taken leaves its events
 * to the holder, so the holder looks at the list once more after letting go. An event
 * pushed between the holder's last (empty) read and its release would otherwise sit
 * there, its own drain turned away, until the next minute's cron.
 *
 * Why no event can block the others: an event Postgres refuses for its own data is
 * isolated (writer.ts), everything ahead of it written, and it moves to the sale's
 * dead-letter list with the reason, in one lease-guarded step with the trim; metrics,
 * the admin's sale and reconcile report that list. An outage never dead-letters.
 */
export async function drainOutbox(
  deps: { redis: Redis; db: Database },
  saleId: string,
  options: { batch?: number; budgetMs?: number } = {},
): Promise<DrainResult> {
  const deadline = Date.now() + (options.budgetMs ?? 20_000);
  const done = { applied: 0, deadLettered: 0 };
  for (let round = 0; ; round++) {
    const held = await drainWhileHeld(deps, saleId, options.batch ?? 500, deadline);
    // Someone else is draining: they will pick up our events too. No more commands spent.
    if (held === "locked")
      return round === 0
        ? { applied: 0, deadLettered: 0, remaining: -1, skipped: "locked" }
        : { ...done, remaining: await deps.redis.llen(keys.outbox(saleId)), skipped: null };
    done.applied += held.applied;
    done.deadLettered += held.deadLettered;
    const remaining = await deps.redis.llen(keys.outbox(saleId));
    // Seen empty under the lease, not empty now: pushed by a drain this one turned away.
    if (remaining === 0 || !held.sawEmpty || Date.now() >= deadline) return { ...done, remaining, skipped: null };
  }
}

/** One lease: writes batches until the list reads empty, the budget runs out or the lease is lost. */
async function drainWhileHeld(
  deps: { redis: Redis; db: Database },
  saleId: string,
  batch: number,
  deadline: number,
): Promise<{ applied: number; deadLettered: number; sawEmpty: boolean } | "locked"> {
  const { redis, db } = deps;
  const lock = keys.outboxLock(saleId);
  const holder = crypto.randomUUID();
  const got = await redis.set(lock, holder, { nx: true, px: LEASE_MS });
  if (got !== "OK") return "locked";
  const lease = redis.createScript<number>(leaseLua);
  const setAside = redis.createScript<number>(deadLetterLua);
  let applied = 0;
  let deadLettered = 0;
  let sawEmpty = false;
  try {
    while (Date.now() < deadline) {
      // The client sends the sync token of its lease SET with this read (readYourWrites,
      // on by default), so a replica answers it only once it has every earlier trim.
      const raw = (await redis.lrange(keys.outbox(saleId), 0, batch - 1)) as unknown[];
      if (raw.length === 0) {
        sawEmpty = true;
        break;
      }
      const { written, refused } = await writeIsolating(db, saleId, raw);
      if (refused) {
        console.error(`sale ${saleId}: an order event Postgres refuses was set aside: ${refused.error}`);
        const moved = await setAside.exec(
          [lock, keys.outbox(saleId), keys.deadLetter(saleId)],
          [holder, String(written), refused.error, String(Date.now()), eventIdentity(raw[written])],
        );
        // Lease lost, or the culprit is not where it was read: the next drain isolates it again, harmlessly.
        if (moved !== 1) break;
        applied += written;
        deadLettered++;
        continue;
      }
      const [first, last] = [eventIdentity(raw[0]), eventIdentity(raw[written - 1])];
      const trimmed = await lease.exec([lock, keys.outbox(saleId)], [holder, "trim", String(written), first, last]);
      // Lease lost, or the head is not what was written: the next drain re-applies, harmlessly.
      if (trimmed !== 1) break;
      logWritten(saleId, raw.slice(0, written));
      applied += written;
    }
  } finally {
    await lease.exec([lock, keys.outbox(saleId)], [holder, "release", "0"]).catch(() => undefined);
  }
  return { applied, deadLettered, sawEmpty };
}
