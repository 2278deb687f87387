/**
 * The budget every dependency call the edge makes outside its client's own timeout is held
 * to (workers/timeout.ts: the health probes, the purchase's cold sale lookup): a dependency
 * that hangs is answered 503, never waited on.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { within } from "../../workers/timeout";

afterEach(() => vi.useRealTimers());

describe("a dependency call's budget", () => {
  it("gives up on a dependency that never answers once its budget is spent", async () => {
    vi.useFakeTimers();
    const hung = within(2_000, new Promise<never>(() => {}));
    const settled = expect(hung).rejects.toThrow("no answer within 2000 ms");
    await vi.advanceTimersByTimeAsync(2_000);
    await settled;
  });

  it("passes an answer in time through, and leaves no timer behind it", async () => {
    vi.useFakeTimers();
    expect(await within(2_000, Promise.resolve("pong"))).toBe("pong");
    await expect(within(2_000, Promise.reject(new Error("refused")))).rejects.toThrow("refused");
    expect(vi.getTimerCount()).toBe(0);
  });
});
