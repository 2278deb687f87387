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

/** Retries before a start far enough away, with a clock that moves only by what was waited. */
function retryBefore(startInMs: number, random = 0.5) {
  let clock = 0;
  const waited: number[] = [];
  return {
    waited,
    retry: {
      before: startInMs,
      now: () => clock,
      random: () => random,
      wait: async (ms: number) => {
        waited.push(ms);
        clock += ms;
      },
    },
  };
}

describe("an entry's bot signals when Redis is full", () => {
  it("are recorded by a later try before the sale starts, with the entry's own time, instead of being lost", async () => {
    const { redis, calls } = fullRedis(2);
    const { retry, waited } = retryBefore(60_000);
    await recordEntrySignals(redis, entry, retry);
    expect(calls).toHaveLength(3);
    // The same call each time: the arrival judged at the time it happened, not at the retry.
    expect(calls[2]).toEqual(calls[0]);
    expect(calls[0]!.args).toContain(String(entry.nowMs));
    // Backed off, and spread so one burst's retries do not all return at once.
    expect(waited).toEqual([1_250, 2_500]);
  });

  it("are not retried into the sale: from the start on, the crowd's purchases need the capacity", async () => {
    const { redis, calls } = fullRedis(Number.POSITIVE_INFINITY);
    // 1.25 s, then 2.5 s fit before a start 5 s away; the third try's 5 s would not.
    const { retry, waited } = retryBefore(5_000);
    await expect(recordEntrySignals(redis, entry, retry)).rejects.toThrow(/max requests/);
    expect(waited).toEqual([1_250, 2_500]);
    expect(calls).toHaveLength(3);
    // A sale whose start the door does not know is never retried.
    const unknown = fullRedis(1);
    await expect(recordEntrySignals(unknown.redis, entry)).rejects.toThrow(/max requests/);
    expect(unknown.calls).toHaveLength(1);
  });

  it("give up after the last retry, within the 30 s a Worker may run past its answer", async () => {
    const { redis, calls } = fullRedis(Number.POSITIVE_INFINITY);
    const { retry, waited } = retryBefore(3_600_000, 0.999);
    await expect(recordEntrySignals(redis, entry, retry)).rejects.toThrow(/max requests/);
    expect(calls).toHaveLength(DEFAULTS.botSignals.entryRetryDelaysMs.length + 1);
    expect(waited.reduce((a, b) => a + b, 0)).toBeLessThan(30_000);
  });
});
