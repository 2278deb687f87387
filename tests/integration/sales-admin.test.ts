import { afterAll, describe, expect, it } from "vitest";
import { admin, api, defineSale, inSeconds, neonPool, saleBody, upstash } from "./fixtures";

const pool = neonPool(2);
afterAll(() => pool.end());

async function salesNamed(name: string): Promise<number> {
  const { rows } = await pool.query("select count(*)::int as n from flash_sales where name = $1", [name]);
  return rows[0].n;
}

describe("creating a sale", () => {
  it("answers 201 with the sale, every default filled in, money as decimal strings and UTC times", async () => {
    const body = saleBody({ start_time: "2099-01-01T10:00:00+02:00", end_time: "2099-01-01T12:00:00+02:00" });
    const res = await admin("/sales", { body });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: body.name,
      status: "scheduled",
      start_time: "2099-01-01T08:00:00.000Z",
      end_time: "2099-01-01T10:00:00.000Z",
      pre_queue_minutes: 5,
      pre_queue_mode: "fifo",
      admission_rate_per_second: 10_000,
      expected_shoppers: 10_000,
      safety_buffer_percent: 1,
      payment_deadline_seconds: 600,
      prewarmed_at: null,
      items: [
        { sku_id: "CASE-1", flash_price: "5.00", original_price: "20.00", total_stock: 55, per_user_limit: 1 },
        {
          sku_id: "PHONE-1",
          name: "Phone",
          flash_price: "499.00",
          original_price: "999.00",
          total_stock: 1000,
          per_user_limit: 2,
        },
      ],
    });
    expect(res.body.sale_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await salesNamed(body.name)).toBe(1);
  });

  const refusals: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ["whose end is not after its start", { end_time: inSeconds(3000) }, "end_time", /after start_time/],
    ["that starts in the past by the server's clock", { start_time: inSeconds(-5) }, "start_time", /future/],
    ["with a time that is not ISO-8601", { start_time: "next tuesday" }, "start_time", /ISO-8601/],
    ["with no items", { items: [] }, "items", /at least one/],
    [
      "with zero stock",
      { items: [{ sku_id: "A", name: "A", flash_price: 1, original_price: 2, total_stock: 0 }] },
      "items[0].total_stock",
      /whole number from 1/,
    ],
    [
      "with a fractional stock",
      { items: [{ sku_id: "A", name: "A", flash_price: 1, original_price: 2, total_stock: 2.5 }] },
      "items[0].total_stock",
      /whole number/,
    ],
    [
      "with a zero flash price",
      { items: [{ sku_id: "A", name: "A", flash_price: "0.00", original_price: 2, total_stock: 1 }] },
      "items[0].flash_price",
      /above 0/,
    ],
    [
      "with a negative original price",
      { items: [{ sku_id: "A", name: "A", flash_price: 1, original_price: -2, total_stock: 1 }] },
      "items[0].original_price",
      /above 0/,
    ],
    [
      "whose flash price exceeds the original",
      { items: [{ sku_id: "A", name: "A", flash_price: "10.01", original_price: "10.00", total_stock: 1 }] },
      "items[0].flash_price",
      /must not exceed the original price/,
    ],
    [
      "with a price of more than two decimal places",
      { items: [{ sku_id: "A", name: "A", flash_price: 1.005, original_price: 2, total_stock: 1 }] },
      "items[0].flash_price",
      /two decimal places/,
    ],
    [
      "that lists a SKU twice",
      {
        items: [
          { sku_id: "A", name: "A", flash_price: 1, original_price: 2, total_stock: 1 },
          { sku_id: "A", name: "B", flash_price: 1, original_price: 2, total_stock: 1 },
        ],
      },
      "items[1].sku_id",
      /duplicates SKU A/,
    ],
    [
      "with a SKU id that would break the key layout",
      { items: [{ sku_id: "A,B", name: "A", flash_price: 1, original_price: 2, total_stock: 1 }] },
      "items[0].sku_id",
      /letters, digits/,
    ],
    [
      "with a per-user limit below 1",
      { items: [{ sku_id: "A", name: "A", flash_price: 1, original_price: 2, total_stock: 1, per_user_limit: 0 }] },
      "items[0].per_user_limit",
      /from 1/,
    ],
    ["with an unknown pre-queue mode", { pre_queue_mode: "lottery" }, "pre_queue_mode", /fifo or random/],
    ["with a safety buffer of 100%", { safety_buffer_percent: 100 }, "safety_buffer_percent", /below 100/],
    ["with an admission rate of zero", { admission_rate_per_second: 0 }, "admission_rate_per_second", /from 1/],
  ];

  it.each(refusals)(
    "refuses a sale %s, naming the problem, and writes nothing",
    async (_what, overrides, field, problem) => {
      const body = saleBody(overrides);
      const res = await admin("/sales", { body });
      expect(res.status).toBe(422);
      expect(res.body.error).toBe("validation_failed");
      expect(res.body.details).toContainEqual({ field, problem: expect.stringMatching(problem) });
      expect(res.body.message).toContain(field);
      expect(await salesNamed(body.name)).toBe(0);
    },
  );

  it("names every problem of a definition in one answer", async () => {
    const body = saleBody({
      start_time: inSeconds(-60),
      end_time: inSeconds(-120),
      items: [{ sku_id: "A", name: "", flash_price: 30, original_price: 20, total_stock: -1, per_user_limit: 0 }],
    });
    const res = await admin("/sales", { body });
    expect(res.status).toBe(422);
    expect(res.body.details.map((d: { field: string }) => d.field).sort()).toEqual(
      [
        "end_time",
        "items[0].flash_price",
        "items[0].name",
        "items[0].per_user_limit",
        "items[0].total_stock",
        "start_time",
      ].sort(),
    );
    expect(await salesNamed(body.name)).toBe(0);
  });

  it("answers malformed JSON and missing fields with 400, writing nothing", async () => {
    const broken = await admin("/sales", { body: '{"name": "x",' });
    expect(broken.status).toBe(400);
    expect(broken.body.error).toBe("invalid_json");
    const { items: _items, ...withoutItems } = saleBody();
    const missing = await admin("/sales", { body: withoutItems });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toContain("items");
    expect(await salesNamed(withoutItems.name)).toBe(0);
  });

  it("refuses a request without the admin token, or with a wrong one", async () => {
    const body = saleBody();
    expect((await api("/api/v1/admin/sales", { body })).status).toBe(401);
    expect((await api("/api/v1/admin/sales", { body, token: "not-the-token" })).status).toBe(401);
    expect((await api("/api/v1/admin/sales")).status).toBe(401);
    expect(await salesNamed(body.name)).toBe(0);
  });
});

describe("reading sales", () => {
  it("lists sales and shows one with live figures from Redis, Postgres and the queue", async () => {
    const sale = await defineSale();
    const list = await admin("/sales");
    expect(list.status).toBe(200);
    expect(list.body.sales.map((s: { sale_id: string }) => s.sale_id)).toContain(sale.sale_id);

    const before = await admin(`/sales/${sale.sale_id}`);
    expect(before.status).toBe(200);
    expect(before.body.figures).toMatchObject({
      queued: 0,
      admitted: 0,
      reserved: 0,
      paid: 0,
      expired: 0,
      remaining: null,
    });
    expect(before.body.figures.orders).toEqual({ reserved: 0, paid: 0, cancelled: 0, expired: 0 });

    await admin(`/sales/${sale.sale_id}/prewarm`, { method: "POST" });
    const redis = upstash();
    await redis.hset(`fs:{${sale.sale_id}}:counters`, { reserved: "3", paid: "2" });
    await redis.decrby(`fs:{${sale.sale_id}}:stock:PHONE-1`, 5);
    const after = await admin(`/sales/${sale.sale_id}`);
    expect(after.body.figures).toMatchObject({ reserved: 3, paid: 2, expired: 0, remaining: 990 - 5 + 54 - 0 });
    expect(after.body.items.find((i: { sku_id: string }) => i.sku_id === "PHONE-1")).toMatchObject({
      loaded: 990,
      remaining: 985,
    });
  });

  it("answers an unknown sale, and a sale id that is not a UUID, with 404", async () => {
    for (const id of ["00000000-0000-4000-8000-000000000000", "not-a-uuid"]) {
      for (const [path, method] of [
        ["", "GET"],
        ["/prewarm", "POST"],
        ["/cancel", "POST"],
        ["/reconcile", "POST"],
        ["/fraud", "GET"],
        ["/fraud/cancel", "POST"],
      ] as const) {
        const res = await admin(`/sales/${id}${path}`, { method });
        expect(res.status, `${method} ${id}${path}`).toBe(404);
        expect(res.body.error).toBe("not_found");
      }
    }
  });
});

describe("cancelling a sale", () => {
  it("stops purchases in Redis, records it in Postgres, and shoppers see it cancelled", async () => {
    const sale = await defineSale();
    await admin(`/sales/${sale.sale_id}/prewarm`, { method: "POST" });
    const res = await admin(`/sales/${sale.sale_id}/cancel`, { method: "POST" });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("cancelled");
    expect(res.body.cancelled_at).not.toBeNull();
    expect(typeof res.body.queue_notified).toBe("boolean");
    expect(await upstash().hget(`fs:{${sale.sale_id}}:meta`, "cancelled")).toBe("1");
    const { rows } = await pool.query("select status from flash_sales where sale_id = $1", [sale.sale_id]);
    expect(rows[0].status).toBe("cancelled");
    expect((await api(`/api/v1/flash-sale/${sale.sale_id}/status`)).body.status).toBe("cancelled");
    expect((await admin(`/sales/${sale.sale_id}/cancel`, { method: "POST" })).status).toBe(200);
  });

  it("keeps a sale cancelled before it was ever pre-warmed cancelled when it is pre-warmed", async () => {
    const sale = await defineSale();
    await admin(`/sales/${sale.sale_id}/cancel`, { method: "POST" });
    const warmed = await admin(`/sales/${sale.sale_id}/prewarm`, { method: "POST" });
    expect(warmed.body.loaded).toBe(true);
    expect(await upstash().hget(`fs:{${sale.sale_id}}:meta`, "cancelled")).toBe("1");
    expect((await admin(`/sales/${sale.sale_id}`)).body.status).toBe("cancelled");
  });

  it("shows a shopper a sale cancelled before it was ever pre-warmed as cancelled, with its own times and items", async () => {
    const sale = await defineSale();
    await admin(`/sales/${sale.sale_id}/cancel`, { method: "POST" });
    // Redis holds only the early cancel flag: that is not yet the sale a shopper can be shown.
    const status = await api(`/api/v1/flash-sale/${sale.sale_id}/status`);
    expect(status.status).toBe(200);
    expect(status.body.status).toBe("cancelled");
    expect(status.body.name).toBe(sale.name);
    expect(Date.parse(status.body.start_time)).toBe(Date.parse(sale.start_time));
    expect(Date.parse(status.body.end_time)).toBe(Date.parse(sale.end_time));
    expect(status.body.items.map((i: { sku_id: string }) => i.sku_id)).toEqual(
      sale.items.map((i: { sku_id: string }) => i.sku_id),
    );
  });
});
