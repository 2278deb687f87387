import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { below, commitmentOf, drawPermutation } from "../../durable-objects/queue/draw";

/**
 * Pearson's chi-square of observed counts against equal expected counts. The oracle is
 * the uniform distribution, never the draw's own output.
 */
function chiSquare(counts: number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
}

/** A uint32 source independent of the draw's PRNG: SHA-256 in counter mode, deterministic. */
function counterSource(label: string): () => number {
  let block = 0;
  let words: number[] = [];
  return () => {
    if (words.length === 0) {
      const digest = createHash("sha256").update(`${label}:${block++}`).digest();
      words = Array.from({ length: 8 }, (_, i) => digest.readUInt32LE(i * 4));
    }
    return words.pop()!;
  };
}

describe("the random pre-queue draw", () => {
  it("matches the known-answer vector published in docs/queue.md", () => {
    const seed = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    expect(commitmentOf(seed)).toBe("a8ae6e6ee929abea3afcfc5258c8ccd6f85273e0d4626d26c7279f3250f77c8e");
    expect(Array.from(drawPermutation(seed, 10))).toEqual([3, 1, 5, 8, 2, 9, 0, 7, 4, 6]);
    expect(Array.from(drawPermutation("flash-sale", 5))).toEqual([4, 3, 0, 1, 2]);
  });

  it("draws a bounded integer without modulo bias, even for a range near 2^32", () => {
    // Over [0, 3·2^30) an unbiased draw puts a third in each third. Plain `x mod bound`
    // maps [0, 2^30) twice, so the first third would get half of all draws: chi-square
    // about 750 for 6,000 draws. The threshold 30 is passed by a fair draw with
    // probability 1 - 3e-7 (2 degrees of freedom); the source is fixed, so never flaky.
    const bound = 3 * 2 ** 30;
    const third = 2 ** 30;
    for (const label of ["fairness-a", "fairness-b", "fairness-c"]) {
      const next = counterSource(label);
      const bins = [0, 0, 0];
      for (let n = 0; n < 6_000; n++) {
        const x = below(next, bound);
        expect(x).toBeGreaterThanOrEqual(0);
        expect(x).toBeLessThan(bound);
        bins[Math.floor(x / third)]!++;
      }
      expect(chiSquare(bins), `${label}: ${bins}`).toBeLessThan(30);
    }
  });

  it("puts every order of four entrants equally often over 24,000 seeds", () => {
    // 24 orders, 1,000 expected each. Threshold 80 (23 degrees of freedom): a fair
    // shuffle exceeds it with probability 6e-8. A shuffle that never leaves an entrant
    // in place (Sattolo's slip, j < i) reaches only 6 orders and scores about 72,000.
    const counts = new Map<string, number>();
    for (let s = 0; s < 24_000; s++) {
      const key = Array.from(drawPermutation(`seed-${s}`, 4)).join("");
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const all = [];
    for (const a of [0, 1, 2, 3])
      for (const b of [0, 1, 2, 3])
        for (const c of [0, 1, 2, 3])
          for (const d of [0, 1, 2, 3])
            if (new Set([a, b, c, d]).size === 4) all.push(counts.get(`${a}${b}${c}${d}`) ?? 0);
    expect(all).toHaveLength(24);
    expect(chiSquare(all), JSON.stringify(Object.fromEntries(counts))).toBeLessThan(80);
  });
});
