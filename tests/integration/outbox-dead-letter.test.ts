/**
 * One order event Postgres refuses must never hold back the others (issue 10): the drain
 * isolates it, writes every other order, and sets it aside in the sale's dead-letter list,
 * which metrics, the admin's sale and reconcile report. An outage is not a refusal.
 */
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { keys } from "../../workers/keys";
import { DEAD_LETTER_SHOWN } from "../../workers/orders/dead-letter";
import { retireIfFinished } from "../../workers/orders/retire";
import { admin, admissionToken, buy, createActiveSale, cutOff, neonPool, sleep, upstash } from "./fixtures";

const redis = upstash();

/** A reserved event as purchase.lua writes it, with `poison` overriding what Postgres must refuse. */
function reservedEvent(saleId: string, poison: Record<string, unknown>) {
  const now = Date.now();
  return JSON.stringify({
    t: "reserved",
    order_id: crypto.randomUUID(),
    sale_id: saleId,
    user_id: "poisoned-shopper",
    sku_id: "PHONE",
    quantity: 1,
    price: "499.00",
    token: `${saleId}.${crypto.randomUUID().slice(0, 22)}`,
    deadline_ms: now + 600_000,
    at_ms: now,
    idempotency_key: crypto.randomUUID(),
    device: "",
    ...poison,
  });
}

/** Holds the outbox lease as another drain would, so events pile up until the test lets go. */
const lease = (saleId: string) => `${keys.outbox(saleId)}:lock`;
const holdDrains = (saleId: string) => redis.set(lease(saleId), "the-test", { px: 60_000 });
const releaseDrains = (saleId: string) => redis.del(lease(saleId));

async function ordersInPostgres(saleId: string): Promise<string[]> {
  const pool = neonPool(1);
  try {
    const { rows } = await pool.query("select order_id from flash_sale_orders where sale_id = $1", [saleId]);
    return rows.map((r: { order_id: string }) => r.order_id);
  } finally {
    await pool.end();
  }
}

/** Gives the background drain time to (wrongly) set something aside, then checks every event still waits. */
async function expectAllWaiting(saleId: string, events: number) {
  // Watched for six seconds: the test fails at the first moment anything is set aside.
  for (const deadline = Date.now() + 6_000; Date.now() < deadline; await sleep(200)) {
    expect(await redis.llen(keys.deadLetter(saleId))).toBe(0);
  }
  expect(await redis.llen(keys.outbox(saleId))).toBe(events);
}

async function buyOne(saleId: string, shopper: string) {
  const res = await buy(saleId, await admissionToken(saleId, shopper, `dev-${shopper}`), {
    sku_id: "PHONE",
    quantity: 1,
  });
  expect(res.body.status).toBe("reserved");
  return res.body.order_id as string;
}

describe("an order event Postgres refuses", () => {
  afterEach(async () => {
    await cutOff("postgres", false);
  });

  it("is set aside with its reason while every other order reaches Postgres, and is reported loudly", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 20 }] });
    await holdDrains(saleId);
    // The crowd test's case (a 256-character fingerprint for a 255 column), a NUL Postgres
    // refuses in text, and a line that is not an event at all: at the head, among and at the tail.
    const tooLong = reservedEvent(saleId, { device: "f".repeat(256) });
    const withNul = reservedEvent(saleId, { user_id: "nul\u0000shopper" });
    const good: string[] = [];
    await redis.rpush(keys.outbox(saleId), tooLong);
    for (let i = 0; i < 4; i++) good.push(await buyOne(saleId, `good-a-${i}`));
    await redis.rpush(keys.outbox(saleId), withNul);
    for (let i = 0; i < 5; i++) good.push(await buyOne(saleId, `good-b-${i}`));
    await redis.rpush(keys.outbox(saleId), "not an order event");
    // A payment that lost its order id (a corrupt write): applied, it would change no row and vanish.
    const idless = JSON.stringify({ t: "paid", sale_id: saleId, token: `${saleId}.x`, at_ms: Date.now() });
    await redis.rpush(keys.outbox(saleId), idless);
    expect(await redis.llen(keys.outbox(saleId))).toBe(13);
    expect(await ordersInPostgres(saleId)).toEqual([]);

    await releaseDrains(saleId);
    const report = await admin(`/sales/${saleId}/reconcile`, { method: "POST" });
    expect(report.status).toBe(200);

    expect(new Set(await ordersInPostgres(saleId))).toEqual(new Set(good));
    expect(await redis.llen(keys.outbox(saleId))).toBe(0);
    expect(report.body.dead_letter.count).toBe(4);
    const entries = report.body.dead_letter.entries;
    // Newest first; each with the event as it was, the reason and the time.
    expect(entries.map((e: { event: string }) => e.event)).toEqual([idless, "not an order event", withNul, tooLong]);
    expect(entries[0].error).toMatch(/lacks its ids/);
    expect(entries[3]).toMatchObject({
      order_id: JSON.parse(tooLong).order_id,
      event_type: "reserved",
      error: expect.stringMatching(/too long.*22001/),
      dead_lettered_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });
    expect(entries[2].error).toMatch(/22021|0x00/);

    const metrics = await admin(`/sales/${saleId}/metrics`);
    expect(metrics.body.outbox_backlog).toBe(0);
    expect(metrics.body.dead_letter).toEqual(report.body.dead_letter);
    const shown = await admin(`/sales/${saleId}`);
    expect(shown.body.figures.dead_lettered).toBe(4);

    // Set aside, not retried in a loop: a second reconcile finds the same four and writes nothing twice.
    const again = await admin(`/sales/${saleId}/reconcile`, { method: "POST" });
    expect(again.body.dead_letter.count).toBe(4);
    expect(new Set(await ordersInPostgres(saleId))).toEqual(new Set(good));
  }, 60_000);

  it("is never confused with an outage: while Postgres is away nothing is set aside, and everything waits", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 20 }] });
    await holdDrains(saleId);
    const good: string[] = [];
    for (let i = 0; i < 5; i++) good.push(await buyOne(saleId, `wait-a-${i}`));
    const tooLong = reservedEvent(saleId, { idempotency_key: "k".repeat(256) });
    await redis.rpush(keys.outbox(saleId), tooLong);
    await releaseDrains(saleId);

    await cutOff("postgres", true);
    // This purchase's own background drain meets the outage with six events to write.
    good.push(await buyOne(saleId, "wait-during"));
    await expectAllWaiting(saleId, 7);

    await cutOff("postgres", false);
    const report = await admin(`/sales/${saleId}/reconcile`, { method: "POST" });
    expect(report.status).toBe(200);
    expect(new Set(await ordersInPostgres(saleId))).toEqual(new Set(good));
    // Only the event that is wrong in itself is set aside, once Postgres can say so.
    expect(report.body.dead_letter.count).toBe(1);
    expect(report.body.dead_letter.entries[0].event).toBe(tooLong);
    expect(await redis.llen(keys.outbox(saleId))).toBe(0);
  }, 60_000);

  it("is never blamed on its event when this Postgres does not know the sale at all", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 20 }] });
    await holdDrains(saleId);
    for (let i = 0; i < 3; i++) await buyOne(saleId, `unknown-sale-${i}`);
    // As if the Worker were pointed at another database than the one that holds the sale.
    const pool = neonPool(1);
    await pool.query("delete from flash_sales where sale_id = $1", [saleId]);
    await pool.end();
    await releaseDrains(saleId);
    await buyOne(saleId, "unknown-sale-trigger"); // its background drain meets the foreign-key refusal
    await expectAllWaiting(saleId, 4);
  }, 60_000);

  it("when many pile up, is counted in full and the newest are shown first", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 5 }] });
    await holdDrains(saleId);
    // Thirty events for a SKU id no column can hold, oldest first.
    const refused = Array.from({ length: DEAD_LETTER_SHOWN + 10 }, (_, i) =>
      reservedEvent(saleId, { sku_id: `${"S".repeat(51)}${i}` }),
    );
    await redis.rpush(keys.outbox(saleId), ...refused);
    await releaseDrains(saleId);
    const report = await admin(`/sales/${saleId}/reconcile`, { method: "POST" });
    expect(report.body.dead_letter.count).toBe(refused.length);
    // The admin sees the latest twenty, newest first: the ten oldest are counted, not shown.
    expect(report.body.dead_letter.entries.map((e: { event: string }) => e.event)).toEqual(
      refused.slice(-DEAD_LETTER_SHOWN).reverse(),
    );
    expect((await admin(`/sales/${saleId}`)).body.figures.dead_lettered).toBe(refused.length);
  }, 60_000);

  it("is kept in Redis after the sale is retired from Redis, until someone acts on it", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 5 }] });
    await redis.rpush(keys.outbox(saleId), reservedEvent(saleId, { sku_id: "S".repeat(51) }));
    expect((await admin(`/sales/${saleId}/reconcile`, { method: "POST" })).body.dead_letter.count).toBe(1);
    // Eight days after the end: everything else about the sale would be freed now. (The
    // cron's own step, called directly: the cron sweeps every sale in a Redis tests share.)
    await redis.hset(keys.meta(saleId), { end_ms: String(Date.now() - 8 * 86_400_000) });
    expect(await retireIfFinished(redis, saleId, Date.now())).toBe("kept");
    expect(await redis.llen(keys.deadLetter(saleId))).toBe(1);
    expect(await redis.sismember(keys.activeSales(), saleId)).toBe(1);
  }, 60_000);

  it("moves only under the drain's lease, in one step with the trim of what was written ahead of it", async () => {
    const saleId = crypto.randomUUID();
    const script = readFileSync(new URL("../../workers/orders/outbox-dead-letter.lua", import.meta.url), "utf8");
    const keysOf = [lease(saleId), keys.outbox(saleId), keys.deadLetter(saleId)];
    await redis.rpush(keys.outbox(saleId), "written-1", "written-2", "culprit", "after");
    await redis.set(lease(saleId), "current-holder", { px: 60_000 });
    try {
      // A drain that lost its lease changes nothing: the next holder re-isolates the culprit.
      expect(await redis.eval(script, keysOf, ["stale-holder", "2", "why", "1", "culprit"])).toBe(0);
      expect(await redis.lrange(keys.outbox(saleId), 0, -1)).toEqual(["written-1", "written-2", "culprit", "after"]);
      expect(await redis.llen(keys.deadLetter(saleId))).toBe(0);

      // A batch read from a lagging replica names a culprit that is not where it was read: nothing moves.
      expect(await redis.eval(script, keysOf, ["current-holder", "1", "why", "1", "culprit"])).toBe(-1);
      expect(await redis.lrange(keys.outbox(saleId), 0, -1)).toEqual(["written-1", "written-2", "culprit", "after"]);
      expect(await redis.llen(keys.deadLetter(saleId))).toBe(0);

      expect(await redis.eval(script, keysOf, ["current-holder", "2", "why", "1764000000000", "culprit"])).toBe(1);
      expect(await redis.lrange(keys.outbox(saleId), 0, -1)).toEqual(["after"]);
      const [entry] = (await redis.lrange(keys.deadLetter(saleId), 0, -1)) as string[];
      expect(JSON.parse(entry!)).toEqual({ event: "culprit", error: "why", at_ms: 1764000000000 });
    } finally {
      await redis.del(...keysOf);
    }
  });
});
