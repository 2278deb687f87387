import { describe, expect, it } from "vitest";
import type { Redis } from "../../workers/clients/redis";
import { CircuitOpenError } from "../../workers/errors";
import { count, flushArguments, flushMetrics } from "../../workers/metrics/batch";
import { requestIdOf, saleOfPath } from "../../workers/middleware/observe";

const SALE = "0b0c8f5e-4c1a-4b7e-9d3a-2f1e0c9b8a7d";

describe("a request's id", () => {
  it("is Cloudflare's ray id, else the caller's plain X-Request-Id, else a fresh one", () => {
    expect(requestIdOf(new Headers({ "cf-ray": "8f1c2a3b4c5d6e7f-SJC", "x-request-id": "mine" }))).toBe(
      "8f1c2a3b4c5d6e7f-SJC",
    );
    expect(requestIdOf(new Headers({ "x-request-id": "trace-42" }))).toBe("trace-42");
    // Anything that is not a short plain token (it goes into logs and an order's column) is replaced.
    for (const bad of ["a b", "x".repeat(65), "<script>", "a/b"]) {
      const id = requestIdOf(new Headers({ "x-request-id": bad }));
      expect(id).not.toBe(bad);
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});

describe("which sale a request counts for", () => {
  it("is the sale its path names, or its reservation token's; admin calls count for none", () => {
    expect(saleOfPath(`/api/v1/flash-sale/${SALE}/purchase`)).toBe(SALE);
    expect(saleOfPath(`/api/v1/flash-sale/${SALE}/status`)).toBe(SALE);
    expect(saleOfPath(`/api/v1/reservations/${SALE}.AAAAAAAAAAAAAAAAAAAAAA/confirm`)).toBe(SALE);
    expect(saleOfPath(`/api/v1/admin/sales/${SALE}/metrics`)).toBeNull();
    expect(saleOfPath("/api/v1/time")).toBeNull();
  });
});

describe("a flush", () => {
  it("names the sale's meta first, so only a loaded sale is counted, then its flushes' minute, then each bucket's TTL and counters", () => {
    const buckets = new Map([
      ["k:s:1", { ttlSeconds: 900, fields: new Map([["r|x|200|-", 3]]) }],
      [
        "k:total",
        {
          ttlSeconds: 60,
          fields: new Map([
            ["r|x|200|-", 3],
            ["u|reserved", 2],
          ]),
        },
      ],
    ]);
    expect(flushArguments({ saleId: SALE, id: "flush-1", minute: 29_400_000, sale: buckets })).toEqual({
      keys: [`fs:{${SALE}}:meta`, `fs:{${SALE}}:m:f:29400000`, "k:s:1", "k:total"],
      args: ["flush-1", "900", "900", "1", "r|x|200|-", "3", "60", "2", "r|x|200|-", "3", "u|reserved", "2"],
    });
  });
});

describe("an isolate's counters", () => {
  const FIELD = "r|POST /flash-sale/:saleId/purchase|503|dependency_unavailable";
  /** A Redis stand-in for the flush script alone: records each call's keys and arguments, or fails as told. */
  function fakeRedis(fail: "no" | "down" | "reply lost") {
    const calls: Array<{ keys: string[]; args: string[] }> = [];
    const redis = {
      createScript: () => ({
        exec: async (keys: string[], args: string[]) => {
          if (fail === "down") throw new CircuitOpenError("redis", 1);
          calls.push({ keys, args });
          if (fail === "reply lost") throw new Error("The operation was aborted due to timeout");
          return 1;
        },
      }),
    } as unknown as Redis;
    return { redis, calls };
  }
  const total503s = (args: string[]) => args.reduce((sum, a, i) => (a === FIELD ? sum + Number(args[i + 1]) : sum), 0);

  it("are kept through a flush the breaker refused and written, added up, by the next one", async () => {
    await flushMetrics(fakeRedis("no").redis); // whatever earlier tests left
    const t = Date.UTC(2026, 10, 30, 9, 0, 0);
    count(SALE, { [FIELD]: 1 }, t);
    await flushMetrics(fakeRedis("down").redis, t + 1_000);
    count(SALE, { [FIELD]: 2 }, t + 100);
    const ok = fakeRedis("no");
    await flushMetrics(ok.redis, t + 2_000);
    expect(ok.calls).toHaveLength(1);
    // Second, minute and total buckets each hold all three 503s.
    const args = ok.calls[0]!.args;
    expect(args.filter((a) => a === FIELD)).toHaveLength(3);
    expect(args.filter((a, i) => a.startsWith("r|") && args[i + 1] === "3")).toHaveLength(3);
    // Written once: nothing is left to write twice.
    const again = fakeRedis("no");
    await flushMetrics(again.redis);
    expect(again.calls).toHaveLength(0);
  });

  it("send a flush whose reply was lost again as it was, under the same id, and never merge it with newer counts", async () => {
    await flushMetrics(fakeRedis("no").redis);
    const t = Date.UTC(2026, 10, 30, 9, 5, 0);
    count(SALE, { [FIELD]: 1 }, t);
    const lost = fakeRedis("reply lost");
    await flushMetrics(lost.redis, t + 1_000);
    count(SALE, { [FIELD]: 2 }, t + 1_500);
    // Redis is away for a moment: the flush that may have landed keeps its id all the same.
    await flushMetrics(fakeRedis("down").redis, t + 2_000);
    const ok = fakeRedis("no");
    await flushMetrics(ok.redis, t + 3_000);
    expect(ok.calls).toHaveLength(2);
    const resent = ok.calls.find((c) => c.args[0] === lost.calls[0]!.args[0]);
    expect(resent).toEqual(lost.calls[0]);
    const newer = ok.calls.find((c) => c !== resent)!;
    expect(total503s(newer.args)).toBe(2 * 3);
    expect(newer.args[0]).not.toBe(resent!.args[0]);
    expect(
      await (async () => {
        const again = fakeRedis("no");
        await flushMetrics(again.redis);
        return again.calls.length;
      })(),
    ).toBe(0);
  });
});
