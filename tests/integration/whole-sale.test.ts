/**
 * A whole sale through the real door and the real queue: shoppers enter before the
 * start, are admitted at the sale's rate by the SaleQueue object, and buy with the
 * admission token the queue gave them. Nothing here is minted by the test but sessions.
 */
import { describe, expect, it } from "vitest";
import { keys } from "../../workers/keys";
import { api, buy, createSale, inParallel, shopperToken, until, upstash } from "./fixtures";

type Outcome = {
  shopper: string;
  position: number;
  result: "reserved" | "sold_out" | "queue_sold_out" | "other";
  detail?: unknown;
};

describe("a whole sale, door to reservation", () => {
  it("sells exactly the stock to the crowd the queue admits, first in line first served", async () => {
    const shoppers = 150;
    const stock = 40;
    // The defaults (10,000 a second, at most 2 turns per unit left): the outstanding-admission
    // cap, not a slow rate, makes the line decide who buys rather than who clicks fastest.
    const { saleId, startMs } = await createSale({
      items: [{ sku_id: "PHONE", total_stock: stock, per_user_limit: 1 }],
      // Room for 150 entries on a busy two-core machine: everyone must queue before the start.
      startInMs: 15_000,
    });

    const entries = await inParallel(
      Array.from({ length: shoppers }, (_, i) => async () => {
        const res = await api(`/api/v1/flash-sale/${saleId}/enter-queue`, {
          token: await shopperToken(`crowd-${i}`),
          body: { captcha_token: "local", device_fingerprint: `crowd-device-${i}` },
          headers: { "cf-connecting-ip": `10.9.${Math.floor(i / 200)}.${i % 200}` },
        });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        return {
          shopper: `crowd-${i}`,
          token: res.body.queue_token as string,
          position: res.body.queue_position as number,
        };
      }),
      16,
    );
    expect(new Set(entries.map((e) => e.position)).size).toBe(shoppers);
    const wait = startMs - Date.now();
    expect(wait).toBeGreaterThan(0); // everyone queued before the start
    await new Promise((r) => setTimeout(r, wait));

    // Each shopper polls their place and buys the moment the queue admits them.
    const outcomes: Outcome[] = await inParallel(
      entries.map((e) => async (): Promise<Outcome> => {
        const view = await until(
          () => api(`/api/v1/flash-sale/${saleId}/queue/${e.token}`),
          (r) => r.body.state === "admitted" || r.body.state === "sold_out" || r.body.state === "closed",
          45_000,
        );
        if (view.body.state === "sold_out")
          return { shopper: e.shopper, position: e.position, result: "queue_sold_out" };
        if (view.body.state !== "admitted")
          return { shopper: e.shopper, position: e.position, result: "other", detail: view.body };
        const res = await buy(
          saleId,
          view.body.admission_token,
          { sku_id: "PHONE", quantity: 1 },
          `whole-sale-${e.shopper}`,
        );
        const status = res.body?.status;
        if (res.status === 200 && (status === "reserved" || status === "sold_out"))
          return { shopper: e.shopper, position: e.position, result: status };
        return {
          shopper: e.shopper,
          position: e.position,
          result: "other",
          detail: { status: res.status, body: res.body },
        };
      }),
      shoppers,
    );

    const odd = outcomes.filter((o) => o.result === "other");
    expect(odd, JSON.stringify(odd.slice(0, 3))).toHaveLength(0);
    const buyers = outcomes.filter((o) => o.result === "reserved");
    expect(buyers).toHaveLength(stock);
    expect(await upstash().get(keys.stock(saleId, "PHONE"))).toBe("0");
    // Nobody was left waiting: everyone not served heard "sold out", from the queue or the purchase.
    expect(outcomes.every((o) => o.result !== "other")).toBe(true);
    // First come, first served: the buyers stood earlier in line than those turned away.
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const turnedAway = outcomes.filter((o) => o.result !== "reserved").map((o) => o.position);
    expect(median(buyers.map((b) => b.position))).toBeLessThan(median(turnedAway));
    // Never more than 2 turns per unit left, so only the line's first 2 × stock ever got to try.
    expect(Math.max(...buyers.map((b) => b.position))).toBeLessThanOrEqual(2 * stock);
  }, 120_000);
});
