import { type Context, Hono } from "hono";
import { adminAuth } from "../auth/admin";
import type { AppEnv } from "../env";
import { notFound, type Problem, unprocessable } from "../errors";
import { saleMetrics, seriesSeconds } from "../metrics/report";
import { BODY_LIMITS, limitBody } from "../middleware/body-limit";
import { saleIdParam } from "../middleware/sale-id";
import { reconcileSale } from "../orders/reconcile";
import { configureQueue } from "../queue/client";
import { MAX_SHARDS } from "../queue/shards";
import { cancelSale } from "../sales/cancel";
import { ADMISSION_RATE_RANGE, saleInput, validateSale, wholeNumber } from "../sales/definition";
import { liveFigures } from "../sales/figures";
import { prewarmIfOpening, prewarmSale, queueConfigOf, tellQueue } from "../sales/prewarm";
import { readSnapshot } from "../sales/snapshot";
import { findSale, insertSale, listSales, type SaleRecord, setAdmission } from "../sales/store";
import { saleJson } from "../sales/view";
import { parseBody, z } from "../validation";

/** The sale named by `:saleId` (already checked to be a UUID by `saleIdParam`), or 404. */
async function requireSale(c: Context<AppEnv>): Promise<SaleRecord> {
  const record = await findSale(c.var.db(), c.req.param("saleId") ?? "");
  if (!record) throw notFound("Sale");
  return record;
}

async function withFigures(c: Context<AppEnv>, record: SaleRecord, nowMs: number) {
  const deps = { redis: c.var.redis, db: c.var.db() };
  const snapshot = await readSnapshot(deps.redis, record.sale.saleId);
  return saleJson(record, snapshot, nowMs, await liveFigures(c.env, deps, record.sale.saleId, snapshot));
}

/** `/api/v1/admin/sales`: the admin's (and the shop back end's) view of sales. */
export const adminSales = new Hono<AppEnv>()
  .use("*", adminAuth())
  .use("/:saleId/*", saleIdParam())
  .use("/:saleId", saleIdParam())
  .post("/", limitBody(BODY_LIMITS.createSale), async (c) => {
    const input = await parseBody(c, saleInput);
    const now = Date.now();
    const result = validateSale(input, now);
    if (!result.ok) {
      const list = result.problems.map((p) => `${p.field} ${p.problem}`).join("; ");
      throw unprocessable("validation_failed", `The sale was not created: ${list}.`, result.problems);
    }
    const record = await insertSale(c.var.db(), result.sale);
    // Loaded before the queue hears of it, so its first tick finds the stock (docs/queue.md "Never opens cold").
    const warm = await prewarmIfOpening({ redis: c.var.redis, db: c.var.db() }, record, now);
    // The sale stands either way; a queue not told now is told by the cron (`queue_notified: false`).
    const queueNotified = await tellQueue(c.env, c.var.db(), record);
    const created = warm ? { ...record, sale: { ...record.sale, prewarmedAt: new Date(warm.prewarmed_at) } } : record;
    return c.json({ ...saleJson(created, null, now), queue_notified: queueNotified }, 201);
  })
  .get("/", async (c) => {
    const now = Date.now();
    const records = await listSales(c.var.db());
    return c.json({ sales: await Promise.all(records.map((r) => withFigures(c, r, now))) });
  })
  .get("/:saleId", async (c) => c.json(await withFigures(c, await requireSale(c), Date.now())))
  .patch("/:saleId", limitBody(BODY_LIMITS.small), async (c) => {
    // Only admission is tunable live: its rate, whether it runs at all, and the queue's shard
    // count. Everything else shapes promises already made to shoppers (times, stock, prices,
    // limits) or places already given (mode). Pausing is a change of admission like the rate
    // (the queue admits at 0 a second until resumed), so it is this same call, not a new
    // route. The shard count may only rise, and only before the start (docs/queue.md).
    const body = await parseBody(
      c,
      z
        .object({
          admission_rate_per_second: z.number().optional(),
          admission_paused: z.boolean().optional(),
          shards: z.number().optional(),
        })
        .strict(),
    );
    const problems: Problem[] = [];
    const { min, max } = ADMISSION_RATE_RANGE;
    const rate =
      body.admission_rate_per_second === undefined
        ? undefined
        : wholeNumber(problems, "admission_rate_per_second", body.admission_rate_per_second, 0, min, max);
    const shards =
      body.shards === undefined ? undefined : wholeNumber(problems, "shards", body.shards, 1, 1, MAX_SHARDS);
    if (rate === undefined && body.admission_paused === undefined && body.shards === undefined)
      problems.push({ field: "(body)", problem: "must set admission_rate_per_second, admission_paused or shards" });
    if (problems.length > 0) {
      const list = problems.map((p) => `${p.field} ${p.problem}`).join("; ");
      throw unprocessable("validation_failed", `${list}.`, problems);
    }
    const record = await requireSale(c);
    // A finished sale's queue admits nobody, whatever its rate: the change would be a lie.
    if (record.sale.status === "cancelled") {
      throw unprocessable("validation_failed", "The sale was cancelled; its queue admits nobody.", [
        { field: "sale", problem: "cancelled" },
      ]);
    }
    const now = new Date();
    if (now >= record.sale.endTime) {
      throw unprocessable("validation_failed", `The sale ended at ${record.sale.endTime.toISOString()}.`, [
        { field: "sale", problem: "ended" },
      ]);
    }
    let queueShards: number | undefined;
    if (shards !== undefined) {
      // The queue holds the count, so it decides, before anything is written: a refusal changes
      // nothing. Postgres keeps the count taken, to tell a queue that missed it (prewarm.ts tellQueue).
      const reply = await configureQueue(c.env, { ...queueConfigOf(record), shards });
      if (!reply.ok)
        throw unprocessable("validation_failed", `shards ${reply.problem}.`, [
          { field: "shards", problem: reply.problem },
        ]);
      queueShards = reply.shards;
    }
    const sale = await setAdmission(
      c.var.db(),
      record.sale.saleId,
      { ratePerSecond: rate, paused: body.admission_paused, shards: queueShards },
      now,
    );
    const updated = { ...record, sale: sale ?? record.sale };
    // The queue takes the change on its next tick; if it cannot be told now, the answer
    // says so and the cron tells it within a minute (the admin may also repeat the call).
    const queueNotified = await tellQueue(c.env, c.var.db(), updated);
    return c.json({
      ...(await withFigures(c, updated, Date.now())),
      queue_notified: queueNotified,
      ...(queueShards === undefined ? {} : { shards: queueShards }),
    });
  })
  .post("/:saleId/prewarm", limitBody(BODY_LIMITS.small), async (c) => {
    const record = await requireSale(c);
    const result = await prewarmSale({ redis: c.var.redis, db: c.var.db() }, record);
    await tellQueue(c.env, c.var.db(), record);
    return c.json(result);
  })
  .post("/:saleId/cancel", limitBody(BODY_LIMITS.small), async (c) => {
    const record = await requireSale(c);
    const now = new Date();
    if (record.sale.status !== "cancelled" && now >= record.sale.endTime) {
      throw unprocessable(
        "validation_failed",
        `The sale ended at ${record.sale.endTime.toISOString()}; an ended sale cannot be cancelled.`,
        [{ field: "sale", problem: "ended" }],
      );
    }
    const { record: cancelled, queueNotified } = await cancelSale(
      c.env,
      { redis: c.var.redis, db: c.var.db() },
      record,
      now,
    );
    return c.json({ ...(await withFigures(c, cancelled, now.getTime())), queue_notified: queueNotified });
  })
  .get("/:saleId/metrics", async (c) => {
    const record = await requireSale(c);
    const seconds = seriesSeconds(c.req.query("seconds"));
    return c.json(
      await saleMetrics(c.env, { redis: c.var.redis, db: c.var.db() }, record, { nowMs: Date.now(), seconds }),
    );
  })
  .post("/:saleId/reconcile", limitBody(BODY_LIMITS.small), async (c) => {
    const record = await requireSale(c);
    return c.json(await reconcileSale({ redis: c.var.redis, db: c.var.db() }, record.sale.saleId));
  });
