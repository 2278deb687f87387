import { describe, expect, it } from "vitest";
import { CircuitBreaker } from "../../workers/clients/breaker";
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
