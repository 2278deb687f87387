import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ArrivalMerge } from "../../durable-objects/queue/merge";
import { SqliteMergeStore } from "../../durable-objects/queue/merge-store";

/** An ArrivalMerge in the SQLite of a fresh, otherwise unused object. */
async function withMerge<T>(shards: number, work: (merge: ArrivalMerge) => T): Promise<T> {
  const stub = env.SALE_QUEUE.get(env.SALE_QUEUE.idFromName(`merge-test-${crypto.randomUUID()}`));
  return runInDurableObject(stub, (_instance, state) =>
    work(new ArrivalMerge(new SqliteMergeStore(state.storage.sql), shards, 0)),
  );
}

describe("the sharded queue's global arrival order", () => {
  it("numbers arrivals by (time, shard, seq) once every shard has sealed past them", async () => {
    await withMerge(2, (merge) => {
      merge.accept(
        {
          shard: 0,
          sealedMs: 1_010,
          buckets: [
            [1_000, 1, 2],
            [1_005, 3, 1],
          ],
          ackedSeq: 0,
        },
        0,
      );
      merge.resolve(0, false, 0);
      // Shard 1 has not sealed anything: nobody can be numbered yet.
      expect(merge.resolvedCount).toBe(0);
      merge.accept(
        {
          shard: 1,
          sealedMs: 1_003,
          buckets: [
            [1_000, 1, 1],
            [1_002, 2, 1],
          ],
          ackedSeq: 0,
        },
        0,
      );
      merge.resolve(0, false, 0);
      // Through 1003: shard 0's two at 1000, shard 1's one at 1000, then shard 1's at 1002.
      expect(merge.resolutionsFor(0)).toEqual([[1, 2, 1]]);
      expect(merge.resolutionsFor(1)).toEqual([
        [1, 1, 3],
        [2, 1, 4],
      ]);
      expect(merge.resolvedCount).toBe(4);
      expect(merge.pendingCount).toBe(1);
      merge.accept({ shard: 1, sealedMs: 1_020, buckets: [], ackedSeq: 2 }, 0);
      merge.resolve(0, false, 0);
      expect(merge.resolutionsFor(0)).toEqual([
        [1, 2, 1],
        [3, 1, 5],
      ]);
      // What shard 1 acknowledged is not sent again.
      expect(merge.resolutionsFor(1)).toEqual([]);
    });
  });

  it("counts a resent report once, and only the new part of a grown bucket", async () => {
    await withMerge(1, (merge) => {
      const report = { shard: 0, sealedMs: 2_000, buckets: [[2_000, 1, 3]] as [number, number, number][], ackedSeq: 0 };
      merge.accept(report, 0);
      merge.accept(report, 0);
      merge.accept({ shard: 0, sealedMs: 2_000, buckets: [[2_000, 1, 5]], ackedSeq: 0 }, 0);
      merge.resolve(0, false, 0);
      expect(merge.resolvedCount).toBe(5);
      expect(merge.resolutionsFor(0)).toEqual([
        [1, 3, 1],
        [4, 2, 4],
      ]);
    });
  });

  it("fixes the random draw's size once every shard has sealed past the start", async () => {
    await withMerge(2, (merge) => {
      merge.accept(
        {
          shard: 0,
          sealedMs: 5_000,
          buckets: [
            [4_000, 1, 2],
            [5_000, 3, 1],
          ],
          ackedSeq: 0,
        },
        0,
      );
      merge.accept({ shard: 1, sealedMs: 4_500, buckets: [[4_100, 1, 1]], ackedSeq: 0 }, 0);
      merge.resolve(5_000, true, 0);
      expect(merge.preStartCount).toBeNull();
      merge.accept({ shard: 1, sealedMs: 5_000, buckets: [], ackedSeq: 0 }, 0);
      merge.resolve(5_000, true, 0);
      expect(merge.preStartCount).toBe(3);
      expect(merge.resolvedCount).toBe(4);
    });
  });
});
