/**
 * The queue's door as the Worker runs it (workers/routes/queue.ts), in its order: the
 * per-address limit, the session, the per-shopper limit, the account-age rule
 * (accountTooNew, the route's own function), the per-device limit, the captcha. The three limits are the
 * wrangler.jsonc bindings, read from that file, counted in fixed windows as the Workers
 * Rate Limiting binding does. Only the captcha's verdict is modelled (a pass rate): it is
 * Cloudflare's service, not this project's code.
 */
import { unstable_readConfig } from "wrangler";
import { accountTooNew } from "../../workers/auth/shopper";

export type DoorVerdict =
  | "address_limit"
  | "shopper_limit"
  | "account_too_new"
  | "device_limit"
  | "captcha_failed"
  | "pass";

export type Limit = { limit: number; periodMs: number };

/** The door's three bindings as wrangler.jsonc declares them. */
export function doorLimits(configPath = "wrangler.jsonc"): { address: Limit; shopper: Limit; device: Limit } {
  const config = unstable_readConfig({ config: configPath });
  const find = (name: string): Limit => {
    const binding = config.ratelimits.find((r: { name: string }) => r.name === name) as
      | { simple: { limit: number; period: number } }
      | undefined;
    if (!binding) throw new Error(`wrangler.jsonc has no ratelimit binding ${name}`);
    return { limit: binding.simple.limit, periodMs: binding.simple.period * 1000 };
  };
  return {
    address: find("ENTER_QUEUE_LIMITER"),
    shopper: find("ENTER_QUEUE_SHOPPER_LIMITER"),
    device: find("ENTER_QUEUE_DEVICE_LIMITER"),
  };
}

/** One binding: a count per key per fixed window (one number per key: window × 2^20 + count). */
export class FixedWindowLimiter {
  private readonly seen = new Map<number, number>();

  constructor(readonly rule: Limit) {}

  /** Counts the request; false when the key is over its limit in this window. */
  allow(key: number, nowMs: number): boolean {
    const window = Math.floor(nowMs / this.rule.periodMs);
    const packed = this.seen.get(key);
    const n = packed !== undefined && Math.floor(packed / 2 ** 20) === window ? (packed % 2 ** 20) + 1 : 1;
    this.seen.set(key, window * 2 ** 20 + Math.min(n, 2 ** 20 - 1));
    return n <= this.rule.limit;
  }
}

export class Door {
  private readonly byAddress: FixedWindowLimiter;
  private readonly byShopper: FixedWindowLimiter;
  private readonly byDevice: FixedWindowLimiter;

  constructor(limits: { address: Limit; shopper: Limit; device: Limit }) {
    this.byAddress = new FixedWindowLimiter(limits.address);
    this.byShopper = new FixedWindowLimiter(limits.shopper);
    this.byDevice = new FixedWindowLimiter(limits.device);
  }

  get retryAfterMs(): number {
    return this.byAddress.rule.periodMs;
  }

  /** `acctCreatedSeconds` is the session's claim; `device` the page's device id (a key); `solvesCaptcha` the modelled Turnstile verdict. */
  check(
    request: {
      address: number;
      shopper: number;
      acctCreatedSeconds: number;
      device: number;
      solvesCaptcha: () => boolean;
    },
    nowMs: number,
  ): DoorVerdict {
    if (!this.byAddress.allow(request.address, nowMs)) return "address_limit";
    if (!this.byShopper.allow(request.shopper, nowMs)) return "shopper_limit";
    if (accountTooNew({ sub: "", acctCreated: request.acctCreatedSeconds }, nowMs)) return "account_too_new";
    if (!this.byDevice.allow(request.device, nowMs)) return "device_limit";
    if (!request.solvesCaptcha()) return "captcha_failed";
    return "pass";
  }
}
