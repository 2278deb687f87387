import { BREAKER } from "../config";
import { CircuitOpenError } from "../errors";

export type BreakerState = "closed" | "open" | "half_open";

export type BreakerOptions = {
  /** Consecutive failures that open the circuit. */
  failures: number;
  /** A failure older than this no longer counts towards opening. */
  windowMs: number;
  /** How long an open circuit refuses calls before letting one probe through. */
  openMs: number;
};

/**
 * A circuit breaker for one dependency: a dependency found down is not waited on by every
 * request in turn.
 *
 *   closed     calls go through; `failures` consecutive failures (each within `windowMs`
 *              of the last) open the circuit. Any success resets the count.
 *   open       calls fail at once with CircuitOpenError (503 + Retry-After) for `openMs`.
 *   half_open  one call, the probe, goes through; the others still fail at once. The
 *              probe's success closes the circuit, its failure opens it for `openMs` again.
 *
 * It only decides whether a new call is tried. It never cancels, retries or drops work in
 * flight, so an order already decided (and its outbox event in Redis) is never touched.
 */
export class CircuitBreaker {
  private state: BreakerState = "closed";
  private consecutive = 0;
  private lastFailureMs = Number.NEGATIVE_INFINITY;
  private openedMs = 0;
  private probeStartedMs: number | null = null;

  constructor(
    readonly dependency: "redis" | "postgres",
    private readonly options: BreakerOptions = BREAKER,
    private readonly now: () => number = Date.now,
  ) {}

  /** The state a call made now would meet (an open circuit past its time is ready to probe). */
  current(): BreakerState {
    if (this.state === "open" && this.now() - this.openedMs >= this.options.openMs) return "half_open";
    return this.state;
  }

  /**
   * Runs `work` unless the circuit is open. `isOutage` tells a dependency that is down (or
   * too slow) from one that answered with an error of the caller's making: only the first
   * counts as a failure; the second proves the dependency is up.
   */
  async run<T>(work: () => Promise<T>, isOutage: (err: unknown) => boolean): Promise<T> {
    const probe = this.admit();
    try {
      const result = await work();
      this.succeeded();
      return result;
    } catch (err) {
      if (isOutage(err)) this.failed();
      else this.succeeded();
      throw err;
    } finally {
      if (probe) this.probeStartedMs = null;
    }
  }

  /** Throws if the call may not go through; true when it is the half-open probe. */
  private admit(): boolean {
    const now = this.now();
    if (this.state === "closed") return false;
    if (this.state === "open") {
      const left = this.openedMs + this.options.openMs - now;
      if (left > 0) throw new CircuitOpenError(this.dependency, Math.max(1, Math.ceil(left / 1000)));
      this.state = "half_open";
    }
    // One probe at a time. A probe is bounded by the client's own timeout; should it
    // somehow never settle, another is allowed after `openMs` so the circuit cannot stick.
    if (this.probeStartedMs !== null && now - this.probeStartedMs < this.options.openMs) {
      throw new CircuitOpenError(this.dependency, Math.max(1, Math.ceil(this.options.openMs / 1000)));
    }
    this.probeStartedMs = now;
    return true;
  }

  private succeeded(): void {
    this.state = "closed";
    this.consecutive = 0;
  }

  private failed(): void {
    const now = this.now();
    if (this.state === "half_open") {
      this.open(now);
      return;
    }
    if (this.state === "open") return;
    this.consecutive = now - this.lastFailureMs <= this.options.windowMs ? this.consecutive + 1 : 1;
    this.lastFailureMs = now;
    if (this.consecutive >= this.options.failures) this.open(now);
  }

  private open(now: number): void {
    this.state = "open";
    this.openedMs = now;
    this.consecutive = 0;
  }
}

/**
 * One breaker per dependency per isolate. Per isolate on purpose: the state must be
 * readable on every call for free, and anything shared (Redis, a Durable Object) would
 * put a network hop, and the very dependency being judged, in front of each request. The
 * cost is that each isolate learns of an outage by itself, after `failures` calls of its
 * own, so at most `failures` requests per isolate wait for a timeout.
 */
export const breakers = {
  redis: new CircuitBreaker("redis"),
  postgres: new CircuitBreaker("postgres"),
};
