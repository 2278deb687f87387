import type { Redis } from "@upstash/redis";
import { fieldsFromReply } from "../clients/redis";
import { keys } from "../keys";
import type { PurchaseDecision, PurchaseInput } from "./purchase";

/**
 * The crowd's click once a SKU's units are gone, answered without a script: one read
 * (MGET and HMGET, sent together) and one `SET … NX EX`, three plain commands that cost
 * Redis less than the seed's whole script: a Lua call's own overhead is more than these
 * reads (docs/purchase.md "The crowd's path").
 *
 * It gives the answer purchase.lua would give, or none: `null` means purchase.lua decides.
 * It answers only when no refusal purchase.lua checks before stock can apply (the SKU
 * known, one unit with none held, an unused device, the sale open), the stock reads 0,
 * and the key has no answer yet (the write is `NX`).
 *
 * Why this is safe without a script's atomicity: it changes no stock, so it can only be
 * wrong about the answer, never about a unit. The answer is true at the moment of the
 * read: the stock was 0 and every earlier rule let the click through, while the click was
 * in flight. The write is `NX`, so it records that answer only if no other answer for the
 * key exists; if a concurrent retry reached purchase.lua between the read and the write
 * and decided (a unit came back, say), the write does nothing and purchase.lua replays
 * that first answer to this click too. One key, one answer, whichever got there first.
 */
export async function answerSoldOut(
  redis: Redis,
  input: PurchaseInput,
  /** The longest an idempotency record lives (purchase.lua's ARGV[9]). */
  recordTtlSeconds: number,
): Promise<PurchaseDecision | null> {
  if (input.quantity !== 1) return null;
  const { saleId, userId, skuId } = input;
  const device = input.device ?? "";
  const record = keys.idempotency(saleId, userId, input.idempotencyKey);
  // Two commands at once: the client's auto-pipeline sends them in one request.
  const [read, meta] = await Promise.all([
    redis.mget<(string | null)[]>(
      keys.stock(saleId, skuId),
      keys.bought(saleId, skuId, userId),
      keys.device(saleId, device || "-"),
    ),
    redis.hmget(keys.meta(saleId), "start_ms", "end_ms", "cancelled") as Promise<unknown>,
  ]);
  const [stock, held, deviceBuyer] = read;
  const [startMs, endMs, cancelled] = fieldsFromReply(meta, 3);

  // A SKU never loaded (prewarm writes its stock key beside the item) or units back in
  // stock: purchase.lua decides.
  if (stock == null || Number(stock) >= 1) return null;
  // Units held may make the limit the answer; a device that bought makes the device rule
  // the answer. One unit with none held never exceeds a limit (per_user_limit >= 1).
  if (Number(held ?? "0") > 0 || (device !== "" && deviceBuyer != null)) return null;
  const now = input.nowMs;
  if (startMs == null || endMs == null || cancelled === "1" || now < Number(startMs) || now >= Number(endMs))
    return null;

  // Remembered exactly as purchase.lua's remember() does for a refusal: one string, kept
  // until ten minutes after the sale ends, so a retry hears sold out even if a unit returns.
  const ttl = Math.max(60, Math.min(recordTtlSeconds, Math.ceil((Number(endMs) - now) / 1000) + 600));
  // NX: a key that already has an answer (a retry, or a decision made since the read)
  // keeps it, and purchase.lua replays it, or says 409 for another body.
  const written = await redis.set(record, `${input.requestHash}\nSOLD_OUT\n${stock}`, { nx: true, ex: ttl });
  if (written === null) return null;
  return { kind: "sold_out", remaining: Number(stock), replay: false };
}
