import { describe, expect, it } from "vitest";
import { keys } from "../../workers/keys";
import { admissionToken, buy, createActiveSale, neonPool, upstash } from "./fixtures";

describe("idempotent purchases", () => {
  it("a double click, fifty times over and all at once, makes one order and fifty identical answers", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 10 }] });
    const token = await admissionToken(saleId, "double-clicker", "dc-device");
    const key = crypto.randomUUID();
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => buy(saleId, token, { sku_id: "PHONE", quantity: 1 }, key)),
    );

    expect(answers.every((a) => a.status === 200)).toBe(true);
    const first = answers[0]!.body;
    expect(first.status).toBe("reserved");
    for (const a of answers) expect(a.body).toEqual(first);

    const redis = upstash();
    expect(await redis.get(keys.stock(saleId, "PHONE"))).toBe("9");
    expect(await redis.llen(keys.outbox(saleId))).toBeLessThanOrEqual(1);
    const pool = neonPool(1);
    // The background write lands shortly after the answers.
    let orders = 0;
    for (let i = 0; i < 50 && orders === 0; i++) {
      orders = (await pool.query("select count(*)::int as n from flash_sale_orders where sale_id = $1", [saleId]))
        .rows[0].n;
      if (orders === 0) await new Promise((r) => setTimeout(r, 100));
    }
    await pool.end();
    expect(orders).toBe(1);
  });

  it("remembers a reservation's answer for a day, and a refusal only until shortly after the sale", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 1 }], durationMs: 120_000 });
    const redis = upstash();
    const won = await buy(
      saleId,
      await admissionToken(saleId, "ttl-winner", "ttl-w"),
      { sku_id: "PHONE", quantity: 1 },
      "ttl-key-1",
    );
    const lost = await buy(
      saleId,
      await admissionToken(saleId, "ttl-loser", "ttl-l"),
      { sku_id: "PHONE", quantity: 1 },
      "ttl-key-2",
    );
    expect([won.body.status, lost.body.status]).toEqual(["reserved", "sold_out"]);
    const wonTtl = await redis.ttl(keys.idempotency(saleId, "ttl-winner", "ttl-key-1"));
    const lostTtl = await redis.ttl(keys.idempotency(saleId, "ttl-loser", "ttl-key-2"));
    expect(wonTtl).toBeGreaterThan(86_000);
    // The sale ends in under two minutes: its refusals are kept about twelve.
    expect(lostTtl).toBeGreaterThan(600);
    expect(lostTtl).toBeLessThanOrEqual(720);
  });

  it("refuses the same key with a different body with 409 and changes nothing", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 10 }] });
    const token = await admissionToken(saleId, "key-reuser", "kr-device");
    const key = crypto.randomUUID();
    expect((await buy(saleId, token, { sku_id: "PHONE", quantity: 1 }, key)).body.status).toBe("reserved");
    const conflict = await buy(saleId, token, { sku_id: "PHONE", quantity: 2 }, key);
    expect(conflict.status).toBe(409);
    expect(conflict.body.error).toBe("idempotency_conflict");
    expect(await upstash().get(keys.stock(saleId, "PHONE"))).toBe("9");
  });

  it("keys belong to their shopper: another shopper's identical key is a purchase of their own", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 10 }] });
    const key = "purchase-shared-key";
    const a = await buy(
      saleId,
      await admissionToken(saleId, "shopper-a", "dev-a"),
      { sku_id: "PHONE", quantity: 1 },
      key,
    );
    const b = await buy(
      saleId,
      await admissionToken(saleId, "shopper-b", "dev-b"),
      { sku_id: "PHONE", quantity: 1 },
      key,
    );
    expect(a.body.status).toBe("reserved");
    expect(b.body.status).toBe("reserved");
    expect(a.body.order_id).not.toBe(b.body.order_id);
  });
});

describe("idempotency records stay each shopper's own", () => {
  it("a shopper whose id ends in a colon-joined suffix cannot read another's answer through a crafted key", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 10 }] });
    const victim = await buy(
      saleId,
      await admissionToken(saleId, "acme:alice", "victim-dev"),
      { sku_id: "PHONE", quantity: 1 },
      "order-1",
    );
    expect(victim.body.status).toBe("reserved");
    // "acme" + "alice:order-1" would name the same record as "acme:alice" + "order-1" if ids were not escaped.
    const attacker = await buy(
      saleId,
      await admissionToken(saleId, "acme", "attacker-dev"),
      { sku_id: "PHONE", quantity: 1 },
      "alice:order-1",
    );
    expect(attacker.body.status).toBe("reserved");
    expect(attacker.body.reservation_token).not.toBe(victim.body.reservation_token);
  });
});
