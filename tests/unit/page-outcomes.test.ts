import { describe, expect, it } from "vitest";
import { errorOutcome, purchaseOutcome, retryAfterSeconds } from "../../static-site/src/outcomes";

const START = Date.parse("2026-03-14T11:00:00Z");
const ctx = { serverNowMs: START + 1_000, startMs: START, endMs: START + 3_600_000, limit: 2 };

describe("every purchase answer reads as something a person understands", () => {
  it("sold out and limit reached are final and say so in words", () => {
    const sold = purchaseOutcome(200, { status: "sold_out" }, null, ctx);
    expect(sold).toMatchObject({ kind: "sold_out", final: true, title: "Sold out" });
    const limit = purchaseOutcome(200, { status: "limit_exceeded" }, null, ctx);
    expect(limit).toMatchObject({ kind: "limit", final: true });
    if (limit.kind === "limit") expect(limit.message).toContain("2 per shopper");
  });

  it("a click before T=0 by the server's clock reads as not started, after the end as ended", () => {
    const body = { error: "sale_not_active", message: "The sale is not active." };
    expect(purchaseOutcome(422, body, null, { ...ctx, serverNowMs: START - 500 }).kind).toBe("not_started");
    expect(purchaseOutcome(422, body, null, { ...ctx, serverNowMs: START + 4_000_000 }).kind).toBe("ended");
  });

  it("overload and outages are retried later with the server's Retry-After, never shown as failure", () => {
    const busy = purchaseOutcome(503, { error: "dependency_unavailable" }, "3", ctx);
    expect(busy).toMatchObject({ kind: "retry", final: false, retryAfterSeconds: 3 });
    expect(purchaseOutcome(429, { error: "rate_limited" }, "7", ctx)).toMatchObject({
      kind: "retry",
      retryAfterSeconds: 7,
    });
    expect(purchaseOutcome(500, { error: "internal_error" }, null, ctx)).toMatchObject({ kind: "retry", final: false });
  });

  it("an expired turn asks the shopper to rejoin; an expired session asks them to sign in", () => {
    expect(purchaseOutcome(401, { error: "unauthorized" }, null, ctx).kind).toBe("rejoin");
    expect(errorOutcome("enter", 401, { error: "unauthorized" }, null, ctx).kind).toBe("sign_in");
    expect(errorOutcome("enter", 403, { error: "account_too_new" }, null, ctx)).toMatchObject({
      title: "Account too new",
    });
  });

  it("each refusal names its real cause: captcha, rate limit, account age and device each have their own words", () => {
    const captcha = errorOutcome("enter", 403, { error: "captcha_failed" }, null, ctx);
    const limited = errorOutcome("enter", 429, { error: "rate_limited" }, "10", ctx);
    const young = errorOutcome("enter", 403, { error: "account_too_new" }, null, ctx);
    const device = purchaseOutcome(200, { status: "limit_exceeded", reason: "device" }, null, ctx);
    const perShopper = purchaseOutcome(200, { status: "limit_exceeded", reason: "per_user_limit" }, null, ctx);
    const all = [captcha, limited, young, device, perShopper];
    expect(new Set(all.map((o) => (o.kind === "reserved" ? "" : o.title))).size).toBe(all.length);
    expect(captcha.kind !== "reserved" && captcha.message).toContain("person");
    // Only a failed captcha says the person check failed.
    const otherRefusal = errorOutcome("enter", 403, { error: "forbidden" }, null, ctx);
    for (const o of [limited, young, device, perShopper, otherRefusal])
      expect(o.kind !== "reserved" && o.message).not.toContain("person");
    expect(limited).toMatchObject({ kind: "retry", retryAfterSeconds: 10 });
    expect(device.kind !== "reserved" && device.message).toContain("device");
  });

  it("no error message shows a status code or an error code", () => {
    for (const [status, code] of [
      [400, "bad_request"],
      [401, "unauthorized"],
      [403, "forbidden"],
      [404, "not_found"],
      [409, "idempotency_conflict"],
      [422, "invalid_quantity"],
      [429, "rate_limited"],
      [503, "dependency_unavailable"],
    ] as const) {
      const o = purchaseOutcome(status, { error: code, message: "x" }, null, ctx);
      if (o.kind === "reserved") throw new Error("an error became a reservation");
      expect(o.message).not.toMatch(/\b[45]\d\d\b|_/);
      expect(o.title.length).toBeGreaterThan(3);
    }
  });

  it("reads Retry-After as seconds, within sane bounds", () => {
    expect(retryAfterSeconds(null)).toBe(2);
    expect(retryAfterSeconds("0")).toBe(1);
    expect(retryAfterSeconds("5")).toBe(5);
    expect(retryAfterSeconds("9999")).toBe(60);
  });
});
