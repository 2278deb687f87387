/**
 * The random pre-queue draw, built to be audited. Before the sale starts the queue
 * commits to a seed by publishing SHA-256(seed); at the start it shuffles everyone who
 * arrived before the start with a PRNG seeded from that seed, and publishes the seed.
 * Anyone holding the seed, the number of pre-start entrants and their own arrival
 * number can recompute `drawPermutation` and check their position; nobody (the operator
 * included) could pick the seed after seeing who arrived, because the hash was public first.
 *
 * PRNG: xoshiro128** whose 128-bit state is the first 16 bytes of SHA-256("draw:" + seed),
 * read as four little-endian uint32. Shuffle: Fisher–Yates from the last index down,
 * with an unbiased bounded draw (rejection sampling on uint32). Documented in docs/queue.md.
 */

import { createHash, randomBytes } from "node:crypto";

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest();

export function newSeed(): string {
  return randomBytes(32).toString("hex");
}

export function commitmentOf(seed: string): string {
  return sha256(seed).toString("hex");
}

function xoshiro128ss(a: number, b: number, c: number, d: number): () => number {
  return () => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Unbiased integer in [0, bound) from a uint32 source (exported for its statistical test). */
export function below(next: () => number, bound: number): number {
  const limit = 2 ** 32 - (2 ** 32 % bound);
  for (;;) {
    const x = next();
    if (x < limit) return x % bound;
  }
}

/**
 * `result[i]` is the 0-based draw rank of the entrant with 0-based arrival index i:
 * the entrant who arrived (i+1)-th gets queue position result[i] + 1.
 */
export function drawPermutation(seed: string, count: number): Uint32Array {
  const digest = sha256(`draw:${seed}`);
  const next = xoshiro128ss(
    digest.readUInt32LE(0),
    digest.readUInt32LE(4),
    digest.readUInt32LE(8),
    digest.readUInt32LE(12),
  );
  // order[k] = arrival index placed at rank k.
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  for (let i = count - 1; i > 0; i--) {
    const j = below(next, i + 1);
    const tmp = order[i]!;
    order[i] = order[j]!;
    order[j] = tmp;
  }
  const rank = new Uint32Array(count);
  for (let k = 0; k < count; k++) rank[order[k]!] = k;
  return rank;
}
