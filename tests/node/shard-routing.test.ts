/**
 * Where a shopper's place lives on a sharded queue: the home shard is a hash of their id that
 * must never change under a running sale (a deploy mid-sale must find every place where it
 * was), the token names its object for any count up to the cap, and the count stays under
 * what one coordinator can hear.
 */
import { describe, expect, it } from "vitest";
import { MAX_SHARDS, shardOf, shardOfToken, shardsFor, tokenPrefix } from "../../workers/queue/shards";

describe("a shopper's home shard", () => {
  it("is FNV-1a of their id (the published 32-bit test vectors), so every isolate and release agrees", () => {
    // A modulus of 2^32 leaves the hash itself.
    expect(shardOf("", 2 ** 32)).toBe(0x811c9dc5);
    expect(shardOf("a", 2 ** 32)).toBe(0xe40c292c);
    expect(shardOf("foobar", 2 ** 32)).toBe(0xbf9cf968);
  });

  it("is one of the sale's shards for every id", () => {
    for (let i = 0; i < 2_000; i++) {
      const home = shardOf(`shopper-${i}-${"x".repeat(i % 40)}`, 7);
      expect(Number.isInteger(home) && home >= 0 && home < 7).toBe(true);
    }
  });
});

describe("a queue token", () => {
  it("names the object holding the place, for every shard up to the cap and for the single object", () => {
    for (let shard = 0; shard < MAX_SHARDS; shard++) {
      expect(shardOfToken(`${tokenPrefix(shard)}.0f8d2c1e-7a64-4b0e-9a51-3c2d1e0f9a8b.mac`)).toBe(shard);
    }
    expect(shardOfToken(`${tokenPrefix(null)}.0f8d2c1e-7a64-4b0e-9a51-3c2d1e0f9a8b.mac`)).toBeNull();
  });
});

describe("the shard count sized from the expected crowd", () => {
  it("gives 25,000 shoppers a shard, one object at least, and never more than one coordinator can hear", () => {
    expect(shardsFor(1)).toBe(1);
    expect(shardsFor(25_000)).toBe(1);
    expect(shardsFor(25_001)).toBe(2);
    expect(shardsFor(1_000_000)).toBe(40);
    expect(shardsFor(10_000_000)).toBe(MAX_SHARDS);
  });
});
