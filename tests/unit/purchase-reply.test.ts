import { describe, expect, it } from "vitest";
import { newReservationToken, parsePurchaseReply, requestHash, saleIdOfToken } from "../../workers/purchase/purchase";
import { parseTransitionReply } from "../../workers/purchase/reservations";

describe("the purchase script's reply, parsed once", () => {
  it("turns a reservation into typed fields and notices a replayed answer", () => {
    const reply = ["RESERVED", 41, "tok", "ord", 1_763_800_000_000, "499.00"];
    expect(parsePurchaseReply(reply)).toEqual({
      kind: "reserved",
      remaining: 41,
      reservationToken: "tok",
      orderId: "ord",
      deadlineMs: 1_763_800_000_000,
      price: "499.00",
      replay: false,
    });
    expect(parsePurchaseReply([...reply, "REPLAY"])).toMatchObject({ kind: "reserved", replay: true });
  });

  it("knows every refusal and rejects a reply it does not know", () => {
    expect(parsePurchaseReply(["SOLD_OUT", 0])).toEqual({ kind: "sold_out", remaining: 0, replay: false });
    expect(parsePurchaseReply(["LIMIT_EXCEEDED", "device"])).toEqual({
      kind: "limit_exceeded",
      reason: "device",
      replay: false,
    });
    expect(parsePurchaseReply(["NOT_ACTIVE", "not_started"])).toEqual({ kind: "not_active", why: "not_started" });
    expect(parsePurchaseReply(["OVER_LIMIT", 2])).toEqual({ kind: "over_limit", limit: 2 });
    expect(() => parsePurchaseReply(["MAYBE"])).toThrow(/unexpected/);
    expect(() => parsePurchaseReply("OK")).toThrow(/unexpected/);
    expect(parseTransitionReply(["CONFLICT", "paid"])).toEqual({ kind: "conflict", state: "paid" });
  });
});

describe("reservation tokens", () => {
  it("name their sale, fit the 64-character column, and cannot be guessed from each other", () => {
    const sale = crypto.randomUUID();
    const a = newReservationToken(sale);
    const b = newReservationToken(sale);
    expect(a.length).toBeLessThanOrEqual(64);
    expect(a).not.toBe(b);
    expect(saleIdOfToken(a)).toBe(sale);
    expect(saleIdOfToken("not-a-token")).toBeNull();
    expect(saleIdOfToken(`${sale}.short`)).toBeNull();
  });

  it("hash a request so that the same body is a retry and any other body is not", async () => {
    expect(await requestHash("PHONE", 1)).toBe(await requestHash("PHONE", 1));
    expect(await requestHash("PHONE", 1)).not.toBe(await requestHash("PHONE", 2));
    expect(await requestHash("PHONE", 1)).not.toBe(await requestHash("PHONE1", 1));
  });
});
