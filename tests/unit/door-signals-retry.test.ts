import { describe, expect, it } from "vitest";
import type { Redis } from "../../workers/clients/redis";
import { DEFAULTS } from "../../workers/config";
import { recordEntrySignals } from "../../workers/queue/signals";

/**
 * The door records an entry's bot signals after its answer. At the opening the crowd fills
 * Redis for a few seconds; a signal refused then must not be lost, or the bot it would
 * have flagged keeps its early place through the slow lane (docs/queue.md).
 */
const entry = {
  saleId: "8f9c7a52-1111-4c3b-9a51-0d6c2e6f4b10",
  shopperId: "bot-17",
  deviceId: "farm-device-3",
  fingerprint: "fp-model-x",
  accountCreated: 1_760_000_000,
  nowMs: 1_763_800_000_000,
};

/** A Redis whose signals script is refused `refusals` times, then runs; every call is kept. */
function fullRedis(refusals: number) {
  const calls: { keys: string[]; args: string[] }[] = [];
  const redis = {
    createScript: () => ({
      exec: async (keys: string[], args: string[]) => {
        calls.push({ keys, args });
        if (calls.length <= refusals) throw new Error("ERR max requests limit exceeded");
        return [0, 0];
      },
    }),
  } as unknown as Redis;
  return { redis, calls };
}

describe("an entry's bot signals when Redis is full", () => {
  it("are recorded by a later try, with the entry's own time, instead of being lost", async () => {
    const { redis, calls } = fullRedis(2);
    const waited: number[] = [];
    await recordEntrySignals(
      redis,
      entry,
      async (ms) => void waited.push(ms),
      () => 0.5,
    );
    expect(calls).toHaveLength(3);
    // The same call each time: the arrival judged at the time it happened, not at the retry.
    expect(calls[2]).toEqual(calls[0]);
    expect(calls[0]!.args).toContain(String(entry.nowMs));
    // Backed off, and spread so one burst's retries do not all return at once.
    expect(waited).toEqual([1_250, 2_500]);
  });

  it("give up after the last retry, within the 30 s a Worker may run past its answer", async () => {
    const { redis, calls } = fullRedis(Number.POSITIVE_INFINITY);
    const waited: number[] = [];
    await expect(
      recordEntrySignals(
        redis,
        entry,
        async (ms) => void waited.push(ms),
        () => 0.999,
      ),
    ).rejects.toThrow(/max requests/);
    expect(calls).toHaveLength(DEFAULTS.botSignals.entryRetryDelaysMs.length + 1);
    expect(waited.reduce((a, b) => a + b, 0)).toBeLessThan(30_000);
  });
});
