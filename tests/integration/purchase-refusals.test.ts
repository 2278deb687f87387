import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { keys } from "../../workers/keys";
import { admin, admissionToken, buy, createActiveSale, createSale, upstash } from "./fixtures";
import { footprint } from "./footprint";
import { eventually } from "./purchase-scripts";

const secret = new TextEncoder().encode("dev-admission-secret");

describe("purchase refusals: a clear error, and nothing written", () => {
  it("answers malformed, hostile and out-of-order requests with the documented status and code", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 5, per_user_limit: 2 }] });
    const other = await createSale({ items: [{ sku_id: "PHONE", total_stock: 5 }] });
    const token = await admissionToken(saleId, "careful", "careful-device");
    // One real purchase first, so the footprint holds every kind of key a purchase writes
    // (bought, device, idempotency, reservation, deadlines, outbox, counters), and waits
    // for its order to reach Postgres so the background write does not move under the test.
    expect(
      (await buy(saleId, await admissionToken(saleId, "first-buyer", "fb"), { sku_id: "PHONE", quantity: 1 })).status,
    ).toBe(200);
    const redis = upstash();
    await eventually("the first order's background write", async () => {
      const [backlog, lock] = await Promise.all([
        redis.llen(keys.outbox(saleId)),
        redis.exists(`${keys.outbox(saleId)}:lock`),
      ]);
      return backlog === 0 && lock === 0;
    });
    const before = await footprint(saleId);
    expect(before.orders).toHaveLength(1);
    const otherBefore = await footprint(other.saleId);
    // The footprint is exact: it sees every key the sale has (a sanity check that it is not empty).
    expect(Object.keys(before.redis)).toEqual(
      expect.arrayContaining([keys.meta(saleId), keys.stock(saleId, "PHONE"), keys.item(saleId, "PHONE")]),
    );
    const now = Math.floor(Date.now() / 1000);
    const unsigned =
      `${btoa(JSON.stringify({ alg: "none", typ: "JWT" }))}.${btoa(JSON.stringify({ sub: "x", sale: saleId, iss: "flash-sale-queue", aud: "flash-sale-purchase", jti: "j", iat: now, exp: now + 60 }))}.`.replace(
        /=/g,
        "",
      );
    const expired = await new SignJWT({ sale: saleId })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("flash-sale-queue")
      .setAudience("flash-sale-purchase")
      .setSubject("late")
      .setJti("j1")
      .setIssuedAt(now - 120)
      .setExpirationTime(now - 60)
      .sign(secret);
    const forged = await new SignJWT({ sale: saleId })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("flash-sale-queue")
      .setAudience("flash-sale-purchase")
      .setSubject("forger")
      .setJti("j2")
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(new TextEncoder().encode("not-the-secret"));
    const sessionLike = await new SignJWT({ acct_created: now - 90_000 })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("session-only")
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(new TextEncoder().encode("dev-shopper-secret"));

    const cases: Array<[string, Promise<{ status: number; body: any }>, number, string]> = [
      ["no token", buy(saleId, "", { sku_id: "PHONE", quantity: 1 }), 401, "unauthorized"],
      ["alg none", buy(saleId, unsigned, { sku_id: "PHONE", quantity: 1 }), 401, "unauthorized"],
      ["expired token", buy(saleId, expired, { sku_id: "PHONE", quantity: 1 }), 401, "unauthorized"],
      ["badly signed", buy(saleId, forged, { sku_id: "PHONE", quantity: 1 }), 401, "unauthorized"],
      [
        "a session token is not an admission",
        buy(saleId, sessionLike, { sku_id: "PHONE", quantity: 1 }),
        401,
        "unauthorized",
      ],
      ["token of another sale", buy(other.saleId, token, { sku_id: "PHONE", quantity: 1 }), 403, "forbidden"],
      ["no Idempotency-Key", buy(saleId, token, { sku_id: "PHONE", quantity: 1 }, null), 400, "bad_request"],
      ["malformed JSON", buy(saleId, token, '{"sku_id": "PHONE", '), 400, "invalid_json"],
      ["missing quantity", buy(saleId, token, { sku_id: "PHONE" }), 400, "bad_request"],
      ["quantity as text", buy(saleId, token, { sku_id: "PHONE", quantity: "1" }), 400, "bad_request"],
      ["body is an array", buy(saleId, token, [1, 2]), 400, "bad_request"],
      ["quantity zero", buy(saleId, token, { sku_id: "PHONE", quantity: 0 }), 422, "invalid_quantity"],
      ["negative quantity", buy(saleId, token, { sku_id: "PHONE", quantity: -3 }), 422, "invalid_quantity"],
      ["fractional quantity", buy(saleId, token, { sku_id: "PHONE", quantity: 1.5 }), 422, "invalid_quantity"],
      ["over the per-user limit", buy(saleId, token, { sku_id: "PHONE", quantity: 3 }), 422, "invalid_quantity"],
      ["unknown SKU", buy(saleId, token, { sku_id: "TABLET", quantity: 1 }), 404, "not_found"],
    ];
    for (const [name, pending, status, code] of cases) {
      const res = await pending;
      expect(res.status, name).toBe(status);
      expect(res.body.error, name).toBe(code);
      expect(typeof res.body.message, name).toBe("string");
    }
    expect(await footprint(saleId)).toEqual(before);
    expect(await footprint(other.saleId)).toEqual(otherBefore);
  });

  it("refuses a click before start_time by the server's clock, whatever the client claims", async () => {
    const { saleId } = await createSale({ items: [{ sku_id: "PHONE", total_stock: 5 }], startInMs: 60_000 });
    const before = await footprint(saleId);
    const early = await fetch(`${(await import("vitest")).inject("workerUrl")}/api/v1/flash-sale/${saleId}/purchase`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${await admissionToken(saleId, "early-bird", "eb")}`,
        "idempotency-key": crypto.randomUUID(),
        "content-type": "application/json",
        date: new Date(Date.now() + 3_600_000).toUTCString(),
      },
      body: JSON.stringify({
        sku_id: "PHONE",
        quantity: 1,
        client_time: new Date(Date.now() + 3_600_000).toISOString(),
      }),
    });
    expect(early.status).toBe(422);
    expect(await early.json()).toMatchObject({ error: "sale_not_active" });
    expect(await footprint(saleId)).toEqual(before);
  });

  it("refuses purchases in a cancelled sale", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 5 }] });
    expect((await admin(`/sales/${saleId}/cancel`, { method: "POST" })).status).toBe(200);
    const res = await buy(saleId, await admissionToken(saleId, "too-late", "tl"), { sku_id: "PHONE", quantity: 1 });
    expect(res.status).toBe(422);
    expect(res.body.error).toBe("sale_not_active");
    expect(await upstash().get(keys.stock(saleId, "PHONE"))).toBe("5");
  });

  it("answers a sale that does not exist with 404", async () => {
    const ghost = crypto.randomUUID();
    const res = await buy(ghost, await admissionToken(ghost, "ghost-buyer", "gd"), { sku_id: "PHONE", quantity: 1 });
    expect(res.status).toBe(404);
    expect(res.body.error).toBe("not_found");
  });

  it("says sold out at once when the stock is gone, and limit exceeded past the shopper's limit", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 2, per_user_limit: 2 }] });
    const t = await admissionToken(saleId, "limit-tester", "lt-1");
    expect((await buy(saleId, t, { sku_id: "PHONE", quantity: 1 })).body).toMatchObject({
      status: "reserved",
      remaining_stock: 1,
    });
    // Same device, second purchase: one purchase per device per sale.
    expect((await buy(saleId, t, { sku_id: "PHONE", quantity: 1 })).body).toEqual({
      status: "limit_exceeded",
      reason: "device",
    });
    // Another device, but 1 + 2 would pass the shopper's limit of 2.
    const t2 = await admissionToken(saleId, "limit-tester", "lt-2");
    expect((await buy(saleId, t2, { sku_id: "PHONE", quantity: 2 })).body).toEqual({
      status: "limit_exceeded",
      reason: "per_user_limit",
    });
    expect(
      (await buy(saleId, await admissionToken(saleId, "other", "o-1"), { sku_id: "PHONE", quantity: 1 })).body.status,
    ).toBe("reserved");
    expect(
      (await buy(saleId, await admissionToken(saleId, "third", "th-1"), { sku_id: "PHONE", quantity: 1 })).body,
    ).toEqual({ status: "sold_out" });
  });
});
