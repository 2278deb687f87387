import { describe, expect, it } from "vitest";
import { api, createActiveSale, shopperToken } from "../integration/fixtures";
import { expectBooksBalance, expectFailedClosed, fault, sleep, startCrowd, until, waitHealthy } from "./chaos";

let ip = 0;
/** One call to the door or the window, retried while the Worker is away (connection refused). */
async function queueCall(path: string, init: Parameters<typeof api>[1] = {}) {
  for (;;) {
    const res = await api(path, {
      ...init,
      headers: { "cf-connecting-ip": `10.9.${Math.floor(++ip / 250) % 250}.${ip % 250}` },
    }).catch(() => null);
    if (res && res.status !== 503) return res;
    await sleep(200);
  }
}

describe("the queue object is evicted mid-sale (the Worker's process killed and started again)", () => {
  it("keeps every place and every admission, admits the rest, and the books balance", async () => {
    const { saleId } = await createActiveSale({
      items: [{ sku_id: "PHONE", total_stock: 30 }],
      admissionRatePerSecond: 8,
    });
    const places = new Map<string, { position: number; token: string }>();
    const admittedBefore = new Set<string>();
    let evicted = false;
    const enter = async (shopper: string) =>
      queueCall(`/api/v1/flash-sale/${saleId}/enter-queue`, {
        token: await shopperToken(shopper),
        body: { captcha_token: "dev", device_fingerprint: `fp-${shopper}` },
      });
    // A shopper waits in the queue until admitted, polling as the page does, then buys; or
    // hears sold out from the queue once the others have bought every unit.
    const admit = async (shopper: string): Promise<string | null> => {
      const entered = await enter(shopper);
      expect(entered.status).toBe(200);
      places.set(shopper, { position: entered.body.queue_position, token: entered.body.queue_token });
      for (;;) {
        const view = await queueCall(`/api/v1/flash-sale/${saleId}/queue/${entered.body.queue_token}`);
        if (view.body.state === "admitted") {
          if (!evicted) admittedBefore.add(shopper);
          return view.body.admission_token as string;
        }
        if (view.body.state === "sold_out") return null;
        await sleep(250);
      }
    };
    const crowd = startCrowd(saleId, {
      shoppers: 40,
      concurrency: 40,
      sku: "PHONE",
      tag: "evict",
      admit,
      deadlineMs: 80_000,
    });
    await until(() => admittedBefore.size >= 8, "the first admissions");

    const killedAt = Date.now();
    await fault("worker-kill");
    evicted = true;
    await sleep(1_000);
    await fault("worker-revive");
    const revivedAt = Date.now();
    await waitHealthy();

    // Re-entering finds each place where it was: the object's storage outlived the instance.
    for (const [shopper, place] of places) {
      const again = await enter(shopper);
      expect(again.body).toMatchObject({ queue_position: place.position, queue_token: place.token });
    }
    const outcomes = await crowd.finished;
    // A request the dying process held is the test's own doing, not an answer of the product's.
    const inFlightAtKill = (a: { startedAt: number; ms: number }) =>
      a.startedAt < revivedAt && a.startedAt + a.ms > killedAt;
    expectFailedClosed(crowd.attempts().filter((a) => !inFlightAtKill(a)));
    expect(outcomes.filter((o) => o.kind === "gave_up")).toEqual([]);
    expect(outcomes.filter((o) => o.kind === "reserved")).toHaveLength(30);
    const positions = [...places.values()].map((p) => p.position).sort((a, b) => a - b);
    expect(positions).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    await expectBooksBalance(saleId, "PHONE", outcomes);
  });
});
