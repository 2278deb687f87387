/**
 * The simulation's only source of chance: sfc32 seeded from SHA-256 of the run's seed.
 * Every draw (who is a bot, when each shopper arrives, each reservation token) comes from
 * here in a fixed order, so the same seed replays the same run.
 */
import { createHash } from "node:crypto";

export type Random = {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, bound). */
  below(bound: number): number;
  chance(p: number): boolean;
  /** Exponential with the given mean. */
  exponential(mean: number): number;
  /** Log-normal with the given median and shape σ (of the underlying normal). */
  logNormal(median: number, sigma: number): number;
  /** `count` random bytes as base64url (reservation tokens, order ids). */
  base64url(count: number): string;
  uuid(): string;
};

export function seededRandom(seed: string): Random {
  const digest = createHash("sha256").update(`simulate:${seed}`, "utf8").digest();
  let a = digest.readUInt32LE(0);
  let b = digest.readUInt32LE(4);
  let c = digest.readUInt32LE(8);
  let d = digest.readUInt32LE(12);
  const u32 = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 16; i++) u32();
  const next = () => u32() / 2 ** 32;
  const bytes = (count: number) => {
    const out = Buffer.alloc(count);
    for (let i = 0; i < count; i++) out[i] = u32() & 0xff;
    return out;
  };
  return {
    next,
    below: (bound) => Math.floor(next() * bound),
    chance: (p) => next() < p,
    exponential: (mean) => -mean * Math.log(1 - next()),
    logNormal(median, sigma) {
      // Box–Muller; 1 − u keeps the logarithm's argument above zero.
      const z = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
      return median * Math.exp(sigma * z);
    },
    base64url: (count) => bytes(count).toString("base64url"),
    uuid() {
      const h = bytes(16);
      h[6] = (h[6]! & 0x0f) | 0x40;
      h[8] = (h[8]! & 0x3f) | 0x80;
      const x = h.toString("hex");
      return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
    },
  };
}
