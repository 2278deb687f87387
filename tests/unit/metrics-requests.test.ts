import { describe, expect, it } from "vitest";
import type { Redis } from "../../workers/clients/redis";
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
  it("names the sale's meta first, so only a loaded sale is counted, then each bucket's TTL and counters", () => {
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
    expect(flushArguments(SALE, buckets)).toEqual({
      keys: [`fs:{${SALE}}:meta`, "k:s:1", "k:total"],
      args: ["900", "1", "r|x|200|-", "3", "60", "2", "r|x|200|-", "3", "u|reserved", "2"],
    });
  });
});

describe("an isolate's counters", () => {
  /** A Redis stand-in for the flush script alone: records each call's arguments, or fails like a Redis that is down. */
  function fakeRedis(fail: boolean) {
    const calls: string[][] = [];
    const redis = {
      createScript: () => ({
        exec: async (_keys: string[], args: string[]) => {
          if (fail) throw new Error("connection refused");
          calls.push(args);
          return 1;
        },
      }),
    } as unknown as Redis;
    return { redis, calls };
  }

  it("are kept through a failed flush and written, added up, by the next one", async () => {
    await flushMetrics(fakeRedis(false).redis); // whatever earlier tests left
    const t = Date.UTC(2026, 10, 30, 9, 0, 0);
    count(SALE, { "r|POST /flash-sale/:saleId/purchase|503|dependency_unavailable": 1 }, t);
    await flushMetrics(fakeRedis(true).redis);
    count(SALE, { "r|POST /flash-sale/:saleId/purchase|503|dependency_unavailable": 2 }, t + 100);
    const ok = fakeRedis(false);
    await flushMetrics(ok.redis);
    expect(ok.calls).toHaveLength(1);
    // Second, minute and total buckets each hold all three 503s.
    const args = ok.calls[0]!;
    expect(args.filter((a) => a === "r|POST /flash-sale/:saleId/purchase|503|dependency_unavailable")).toHaveLength(3);
    expect(args.filter((a, i) => a.startsWith("r|") && args[i + 1] === "3")).toHaveLength(3);
    // Written once: nothing is left to write twice.
    const again = fakeRedis(false);
    await flushMetrics(again.redis);
    expect(again.calls).toHaveLength(0);
  });
});
