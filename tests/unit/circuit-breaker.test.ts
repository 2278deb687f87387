import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { CircuitBreaker } from "../../workers/clients/breaker";
import { createDb, isPostgresOutage } from "../../workers/clients/db";
import { createRedis, isRedisOutage } from "../../workers/clients/redis";
import { CircuitOpenError, DependencyError } from "../../workers/errors";

const OPTIONS = { failures: 3, windowMs: 10_000, openMs: 2_000 };
const outage = () => Promise.reject(new Error("connection refused"));
const isOutage = (err: unknown) => (err as Error).message === "connection refused";

function breakerWithClock(start = 1_000_000) {
  const clock = { now: start };
  const breaker = new CircuitBreaker("redis", OPTIONS, () => clock.now);
  let calls = 0;
  const call = (work: () => Promise<string> = async () => "ok") =>
    breaker.run(() => {
      calls++;
      return work();
    }, isOutage);
  return { clock, breaker, call, calls: () => calls };
}

async function failTimes(call: (work: () => Promise<string>) => Promise<string>, n: number) {
  for (let i = 0; i < n; i++) await expect(call(outage)).rejects.toThrow("connection refused");
}

describe("the circuit breaker in front of a dependency", () => {
  it("stops calling a dependency after consecutive failures and answers at once with a Retry-After", async () => {
    const { breaker, call, calls } = breakerWithClock();
    await failTimes(call, 3);
    expect(breaker.current()).toBe("open");
    const refused = await call().catch((e) => e);
    expect(refused).toBeInstanceOf(CircuitOpenError);
    expect(refused).toBeInstanceOf(DependencyError);
    expect(refused.retryAfterSeconds).toBe(2);
    expect(calls()).toBe(3);
  });

  it("does not open on failures that a success interrupts", async () => {
    const { breaker, call } = breakerWithClock();
    await failTimes(call, 2);
    await call();
    await failTimes(call, 2);
    expect(breaker.current()).toBe("closed");
  });

  it("forgets failures spread wider apart than the window", async () => {
    const { breaker, call, clock } = breakerWithClock();
    for (let i = 0; i < 5; i++) {
      await failTimes(call, 1);
      clock.now += OPTIONS.windowMs + 1;
    }
    expect(breaker.current()).toBe("closed");
  });

  it("counts an error of the caller's making (the dependency answered) as a sign of life", async () => {
    const { breaker, call } = breakerWithClock();
    await failTimes(call, 2);
    await expect(call(() => Promise.reject(new Error("NOSCRIPT")))).rejects.toThrow("NOSCRIPT");
    await failTimes(call, 2);
    expect(breaker.current()).toBe("closed");
  });

  it("lets exactly one probe through once the open time is over, and closes when it succeeds", async () => {
    const { breaker, call, clock, calls } = breakerWithClock();
    await failTimes(call, 3);
    clock.now += 1_999;
    await expect(call()).rejects.toBeInstanceOf(CircuitOpenError);
    expect(calls()).toBe(3);
    clock.now += 1;
    expect(breaker.current()).toBe("half_open");
    let release!: (v: string) => void;
    const probe = call(() => new Promise<string>((r) => (release = r)));
    // While the probe is out, everyone else is still refused without a call.
    await expect(call()).rejects.toBeInstanceOf(CircuitOpenError);
    expect(calls()).toBe(4);
    release("ok");
    await expect(probe).resolves.toBe("ok");
    expect(breaker.current()).toBe("closed");
    await expect(call()).resolves.toBe("ok");
  });

  it("opens again for the full time when the probe fails", async () => {
    const { breaker, call, clock } = breakerWithClock();
    await failTimes(call, 3);
    clock.now += 2_000;
    await failTimes(call, 1);
    expect(breaker.current()).toBe("open");
    clock.now += 1_000;
    const refused = await call().catch((e) => e);
    expect(refused).toBeInstanceOf(CircuitOpenError);
    expect(refused.retryAfterSeconds).toBe(1);
  });

  it("cannot stick half-open behind a probe that never settles", async () => {
    const { call, clock, calls } = breakerWithClock();
    await failTimes(call, 3);
    clock.now += 2_000;
    void call(() => new Promise<string>(() => undefined));
    clock.now += 2_000;
    await expect(call()).resolves.toBe("ok");
    expect(calls()).toBe(5);
  });

  it("never cancels a call already in flight when it opens", async () => {
    const { breaker, call } = breakerWithClock();
    let finish!: (v: string) => void;
    const inFlight = call(() => new Promise<string>((r) => (finish = r)));
    await failTimes(call, 3);
    expect(breaker.current()).toBe("open");
    finish("order written");
    await expect(inFlight).resolves.toBe("order written");
  });
});

describe("the clients the edge uses", () => {
  const unreachable = {
    UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9",
    UPSTASH_REDIS_REST_TOKEN: "t",
    DATABASE_URL: "postgres://postgres@127.0.0.1:9/none",
    NEON_LOCAL_WS_PROXY: "127.0.0.1:9/v1",
  };

  it("send every Redis command through the Redis breaker", async () => {
    const breaker = new CircuitBreaker("redis", { failures: 2, windowMs: 10_000, openMs: 60_000 });
    const redis = createRedis(unreachable, breaker);
    for (let i = 0; i < 2; i++) await expect(redis.get("k")).rejects.not.toBeInstanceOf(CircuitOpenError);
    await expect(redis.get("k")).rejects.toBeInstanceOf(CircuitOpenError);
    await expect(redis.createScript("return 1").exec([], [])).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it("send every Postgres query through the Postgres breaker", async () => {
    const breaker = new CircuitBreaker("postgres", { failures: 2, windowMs: 10_000, openMs: 60_000 });
    const { db, pool } = createDb(unreachable, breaker);
    try {
      // drizzle wraps what the pool threw; the breaker's refusal is its cause.
      const refusal = (work: Promise<unknown>) =>
        work.then(
          () => null,
          (e) => (e instanceof CircuitOpenError ? e : (e.cause ?? e)),
        );
      for (let i = 0; i < 2; i++) expect(await refusal(db.execute(sql`select 1`))).not.toBeInstanceOf(CircuitOpenError);
      const refused = await db.execute(sql`select 1`).catch((e) => e);
      expect(refused.cause).toBeInstanceOf(CircuitOpenError);
      // ...and it is answered as the dependency outage it is, with the breaker's Retry-After.
      expect(isPostgresOutage(refused)).toBe(true);
      expect(new DependencyError("postgres", refused).retryAfterSeconds).toBe(60);
      expect(await refusal(db.transaction(async () => undefined))).toBeInstanceOf(CircuitOpenError);
    } finally {
      await pool.end().catch(() => undefined);
    }
  });

  it("tell a Redis that is down from a command Redis refused", () => {
    const upstash = (message: string) => Object.assign(new Error(message), { name: "UpstashError" });
    expect(isRedisOutage(new TypeError("fetch failed"))).toBe(true);
    expect(isRedisOutage(new DOMException("timed out", "TimeoutError"))).toBe(true);
    expect(isRedisOutage(upstash('LOADING Redis is loading the dataset in memory, command was: ["get"]'))).toBe(true);
    expect(isRedisOutage(upstash('Connection is closed., command was: ["get"]'))).toBe(true);
    expect(isRedisOutage(upstash('NOSCRIPT No matching script, command was: ["evalsha"]'))).toBe(false);
    // The echoed command is the caller's data, never read as a symptom.
    expect(isRedisOutage(upstash('WRONGTYPE Operation, command was: ["get","connection is closed"]'))).toBe(false);
  });
});
