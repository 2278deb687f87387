/**
 * The metrics flush on the real Redis: a flush whose reply is lost after Redis applied it
 * (a client timeout) is sent again, and the sale's figures still count each request once.
 */
import { describe, expect, it } from "vitest";
import { hashFromReply } from "../../workers/clients/redis";
import { keys } from "../../workers/keys";
import { count, flushMetrics } from "../../workers/metrics/batch";
import { createActiveSale, intercepted, upstash } from "./fixtures";

const FIELD = "r|POST /flash-sale/:saleId/purchase|200|-";

describe("the metrics flush", () => {
  it("counts a flush whose reply was lost once, when it is sent again", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 1 }] });
    const redis = upstash();
    await flushMetrics(redis); // whatever an earlier test in this process left
    // Redis applies the flush; its answer never reaches the isolate.
    const replyLost = intercepted(redis, {
      createScript: (target) => (script: string) => {
        const real = target.createScript<number>(script);
        return {
          exec: async (k: string[], a: string[]) => {
            await real.exec(k, a);
            throw new Error("The operation was aborted due to timeout");
          },
        };
      },
    });
    count(saleId, { [FIELD]: 7 });
    await flushMetrics(replyLost);
    const total = async () => Number(hashFromReply(await redis.hgetall(keys.metricsTotal(saleId)))?.[FIELD] ?? 0);
    expect(await total()).toBe(7);
    count(saleId, { [FIELD]: 1 });
    await flushMetrics(redis);
    expect(await total()).toBe(8);
    await flushMetrics(redis);
    expect(await total()).toBe(8);
  });
});
