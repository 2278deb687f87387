/**
 * The one place where the product's defaults live. Everything that can be tuned per sale
 * is stored with the sale; these are the values used when the admin leaves a field out.
 */
export const DEFAULTS = {
  preQueueMinutes: 5,
  preQueueMode: "fifo" as const,
  admissionRatePerSecond: 10_000,
  expectedShoppers: 10_000,
  safetyBufferPercent: 1,
  perUserLimit: 2,
  paymentDeadlineSeconds: 600,
  admissionTokenSeconds: 60,
  /** Admitted-but-undecided shoppers never exceed this many per unit left (docs/queue.md "Admission follows the stock"). */
  admittedPerUnit: 2,
  /** A turn not used within this window lapses and its room goes to the next in line. */
  admissionWindowSeconds: 180,
  /** Accounts younger than this are refused at the queue's door (docs/api.md "Purchase rules"). */
  minAccountAgeSeconds: 24 * 60 * 60,
  /**
   * Bot signals: counted and flagged for the fraud report, never a refusal (docs/queue.md
   * "Bot signals"). Each threshold is set so the honest crowd stays below it: identical
   * phones behind one carrier NAT, a family sharing a tablet, a shopper who double-taps.
   */
  botSignals: {
    /** A device id entering for this many accounts flags all of them (two is a shared tablet). */
    deviceAccounts: 3,
    /**
     * This many accounts on one fingerprint within the window, whose accounts were also
     * created within the same `accountBucketSeconds`, are a batch: look-alike phones alone
     * are the honest crowd, look-alike phones on accounts made together are a farm.
     */
    lookalikeBatch: { accounts: 10, windowSeconds: 60, accountBucketSeconds: 600 },
    /** A reservation this soon after the shopper's turn came (or the start, if later) is faster than a person clicks. */
    fastPurchaseMs: 200,
    /**
     * Refusals by one rate limiter for one key within one limiter period that make a retry
     * storm. A page honours Retry-After, so an honest shopper or device is refused once; an
     * address is shared by a whole NAT, so it needs ten times its allowance refused.
     */
    retryStorm: { shopper: 5, device: 5, address: 1_000 },
    /**
     * An entry's signals refused by Redis (over its capacity at the opening, or away) are
     * tried again after these delays, each stretched by up to half again at random so the
     * retries of one burst do not arrive together. 22.5 s at most in all: inside the 30 s
     * a Worker's waitUntil may run past its answer.
     */
    entryRetryDelaysMs: [1_000, 2_000, 4_000, 8_000],
  },
  /** The fraud review after a sale (workers/orders/fraud.ts). */
  fraud: {
    /** An account that paid for a SKU's whole per-shopper limit in this many sales (this one included) is listed as a reseller. */
    resellerSales: 3,
  },
  /** Clock tolerance when verifying JWTs minted by other machines. */
  jwtClockToleranceSeconds: 5,
  /** Days a finished sale's state stays in Redis for reconciliation before the cron frees it. */
  redisRetentionDays: 7,
  /** How long the status answer may be served from the edge cache. */
  statusCacheSeconds: 1,
  /** Seconds a refused address is told to wait: the window of wrangler.jsonc's ENTER_QUEUE_LIMITER. */
  enterQueueLimitPeriodSeconds: 10,
  /** A sale's metrics (workers/metrics/): how they are kept, and how much of them the admin reads at once. */
  metrics: {
    /** Each isolate adds its counters to Redis at most this often (one command per sale). */
    flushEveryMs: 1_000,
    /** Per-second buckets live this long: the dashboard's charts, and the last minutes' burn. */
    secondsKeptFor: 15 * 60,
    /** Seconds of per-second figures the metrics answer carries unless asked (`?seconds=`), and at most. */
    seriesSeconds: 60,
    maxSeriesSeconds: 300,
    /** The series ends this many seconds ago: by then every isolate has flushed those seconds. */
    seriesLagSeconds: 2,
    /** Minutes the short burn-rate window spans. */
    burnWindowMinutes: 5,
    /** Counters an isolate keeps while Redis cannot take them, in buckets and in sales. */
    maxPendingBuckets: 600,
    maxPendingSales: 1_000,
  },
  /** Sales the cron maintains at once (each drain holds one of the request's few Postgres connections). */
  maintenanceLanes: 4,
  /** How old a sale's last known status may be when it stands in for one Redis or the queue cannot give now. */
  statusStaleSeconds: 300,
} as const;

/**
 * The service level objectives (the seed's): computed from a sale's metrics over the
 * sale so far, with the error budget's burn over the last minutes (workers/metrics/slo.ts).
 */
export const SLO_TARGETS = {
  /** Shopper requests answered without a 5xx (a 503 shed by a breaker is unavailability too). */
  availability: 0.9995,
  /** Purchase decisions within `purchaseDecisionMs`: p99 under 100 ms. */
  purchaseDecision: 0.99,
  purchaseDecisionMs: 100,
  /** Shopper requests answered without a server error (5xx other than a deliberate 503): under 0.1 % fail. */
  serverErrors: 0.999,
} as const;

/** Latency budgets for dependencies: past these the shopper gets 503 + Retry-After, never a hang. */
export const BUDGETS = {
  redisTimeoutMs: 2_000,
  postgresTimeoutMs: 3_000,
  retryAfterSeconds: 2,
} as const;

/**
 * Circuit breakers in front of Redis and Postgres (workers/clients/breaker.ts): after
 * `failures` consecutive failures or timeouts, none older than `windowMs`, the dependency
 * is treated as down for `openMs` (requests answer 503 + Retry-After at once), then one
 * probe request is let through to find out whether it is back.
 */
export const BREAKER = {
  failures: 5,
  windowMs: 10_000,
  openMs: 2_000,
} as const;

const DEV_SECRETS = new Set(["dev-shopper-secret", "dev-admission-secret", "dev-admin-token", "dev-upstash-token"]);

export function isProduction(env: Pick<Env, "ENVIRONMENT">): boolean {
  return env.ENVIRONMENT !== "development" && env.ENVIRONMENT !== "test";
}

/**
 * Production must never run on the public development secrets or with the captcha
 * switched off; a deploy that forgot `wrangler secret put` fails loudly instead.
 */
export function assertSafeConfig(env: Env): void {
  if (!isProduction(env)) return;
  for (const key of [
    "SHOPPER_JWT_SECRET",
    "ADMISSION_JWT_SECRET",
    "ADMIN_TOKEN",
    "UPSTASH_REDIS_REST_TOKEN",
  ] as const) {
    const value = env[key];
    if (!value || DEV_SECRETS.has(value)) {
      throw new Error(`${key} is unset or a development default; set it with \`wrangler secret put ${key}\``);
    }
  }
  if (env.CAPTCHA_MODE === "off") throw new Error("CAPTCHA_MODE=off is refused in production");
}
