import { Redis as IORedis } from "ioredis";
import { describe, expect, inject, it } from "vitest";
import { uniq, upstash } from "./fixtures";

describe("the local Upstash bridge, through @upstash/redis", () => {
  const redis = upstash();

  it("round-trips strings that are not safe as plain JSON or look like base64", async () => {
    const key = uniq("bridge:str");
    const values = ['{"half": ', '"quoted"', "line\nbreak", "naïve ☕ 🚀", "abcd", "QUJD", "123", "OK", ""];
    for (const value of values) {
      await redis.set(key, value);
      expect(await redis.get(key)).toBe(value);
    }
    await redis.del(key);
  });

  it("answers base64-encoded results on the wire when the client asks for them", async () => {
    const key = uniq("bridge:wire");
    await redis.set(key, "hello");
    const res = await fetch(inject("upstashUrl"), {
      method: "POST",
      headers: { authorization: `Bearer ${inject("upstashToken")}`, "upstash-encoding": "base64" },
      body: JSON.stringify(["GET", key]),
    });
    expect(await res.json()).toEqual({ result: Buffer.from("hello").toString("base64") });
    await redis.del(key);
  });

  it("answers with an upstash-sync-token, as Upstash does, that the client sends back (read your writes)", async () => {
    const client = upstash();
    const key = uniq("bridge:ryw");
    await client.set(key, "1");
    const token = client.readYourWritesSyncToken;
    expect(token).toMatch(/^\d+$/);
    expect(await client.get(key)).toBe("1");
    expect(Number(client.readYourWritesSyncToken)).toBeGreaterThan(Number(token));
    const echoed = await fetch(inject("upstashUrl"), {
      method: "POST",
      headers: { authorization: `Bearer ${inject("upstashToken")}`, "upstash-sync-token": token! },
      body: JSON.stringify(["GET", key]),
    });
    expect(await echoed.json()).toEqual({ result: "1" });
    await client.del(key);
  });

  it("answers hashes in Redis's own reply shape, which the client turns into an object", async () => {
    const key = uniq("bridge:hash");
    await redis.hset(key, { a: "1", b: "two" });
    expect(await upstash({ automaticDeserialization: true }).hgetall(key)).toEqual({ a: 1, b: "two" });
    expect(await redis.hgetall(key)).toEqual(["a", "1", "b", "two"]);
    await redis.del(key);
  });

  it("refuses a wrong token with 401", async () => {
    const res = await fetch(inject("upstashUrl"), {
      method: "POST",
      headers: { authorization: "Bearer wrong" },
      body: JSON.stringify(["PING"]),
    });
    expect(res.status).toBe(401);
  });

  it("runs a pipeline and answers each command in order", async () => {
    const key = uniq("bridge:pipe");
    const p = redis.pipeline();
    p.set(key, "1");
    p.incrby(key, 41);
    p.get(key);
    expect(await p.exec()).toEqual(["OK", 42, "42"]);
    await redis.del(key);
  });

  it("runs multi-exec atomically: a writer on another connection never lands inside a transaction", async () => {
    const key = uniq("bridge:atomic");
    await redis.set(key, "0");
    // The interloper has its own connection to Redis, as another Worker isolate's bridge
    // would: only MULTI/EXEC keeps its INCRs out from between a transaction's commands.
    const direct = new IORedis(inject("redisUrl"));
    const execs = async () => Number(/cmdstat_exec:calls=(\d+)/.exec(await direct.info("commandstats"))?.[1] ?? 0);
    const execsBefore = await execs();
    let interloping = true;
    let interloped = 0;
    const interloper = (async () => {
      while (interloping) {
        const p = direct.pipeline();
        for (let i = 0; i < 50; i++) p.incr(key);
        await p.exec();
        interloped += 50;
      }
    })();
    const results = await Promise.all(
      Array.from({ length: 300 }, async () => {
        const tx = redis.multi();
        tx.incr(key);
        tx.incr(key);
        tx.get(key);
        return (await tx.exec()) as [number, number, string];
      }),
    );
    interloping = false;
    await interloper;
    // Redis itself says every transaction ran as MULTI/EXEC (interleaving alone is only
    // caught when TCP happens to split a transaction's commands).
    expect((await execs()) - execsBefore).toBeGreaterThanOrEqual(300);
    direct.disconnect();
    for (const [first, second, read] of results) {
      expect(second).toBe(first + 1);
      expect(Number(read)).toBe(second);
    }
    expect(Number(await redis.get(key))).toBe(600 + interloped);
    await redis.del(key);
  });

  it("runs nothing of a transaction that Redis refuses while queueing", async () => {
    const key = uniq("bridge:abort");
    const res = await fetch(`${inject("upstashUrl")}/multi-exec`, {
      method: "POST",
      headers: { authorization: `Bearer ${inject("upstashToken")}` },
      body: JSON.stringify([["SET", key, "x"], ["NOSUCHCOMMAND"]]),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/EXECABORT/);
    expect(await redis.get(key)).toBeNull();
  });

  it("runs scripts by EVALSHA and falls back to EVAL after SCRIPT FLUSH", async () => {
    const key = uniq("bridge:script");
    const script = redis.createScript<number>("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    expect(await script.exec([key], ["5"])).toBe(5);
    await redis.scriptFlush();
    expect(await script.exec([key], ["6"])).toBe(11);
    expect(await redis.scriptExists(script.sha1)).toEqual([1]);
    await redis.del(key);
  });

  it('keeps every string inside an array reply intact, "OK" included', async () => {
    const script = redis.createScript<string[]>("return {'OK', 'paid', ARGV[1]}");
    expect(await script.exec([], ["QUJD"])).toEqual(["OK", "paid", "QUJD"]);
  });

  it("propagates Redis errors to the caller with Redis's message", async () => {
    const key = uniq("bridge:err");
    await redis.set(key, "not a number");
    await expect(redis.incr(key)).rejects.toThrow(/not an integer/);
    await redis.del(key);
  });
});
