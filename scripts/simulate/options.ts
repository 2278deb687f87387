/**
 * What a simulated sale is: the crowd, how its bots behave, and the sale's own settings.
 * Defaults come from workers/config.ts (the sale's) and from the seed design where it
 * gives a figure; the rest are stated assumptions, each printed in the report beside the
 * result it drives (docs/simulation/README.md "Assumptions").
 */
import { parseArgs } from "node:util";
import { DEFAULTS } from "../../workers/config";

export type Mode = "fifo" | "random";

export type BotBehaviour = {
  /** Tabs each bot opens at once: every tab enters the queue and, once admitted, clicks Buy. */
  tabs: number;
  /** Re-entries per tab after it holds a place (refreshing for a better one), one a second. */
  refreshes: number;
  /** Retries after a refusal at the door (honouring Retry-After on a 429, at once otherwise). */
  retries: number;
  /** Purchase attempts each tab sends at T=0 before its turn (no admission token yet). */
  blindBuys: number;
  /** How long after the queue opens a bot enters (uniform), ms: bots race the opening. */
  raceMs: number;
  /** Share of bot accounts older than the door's minimum age (DEFAULTS.minAccountAgeSeconds). */
  agedAccounts: number;
  /** Share of captchas a bot passes (solver services, headless browsers). */
  captchaPass: number;
  /** Addresses the bots spread over (a proxy pool). */
  addresses: number;
  /** Device ids in the bots' farm, per bot: 0.01 is one device id shared by 100 bot accounts. */
  devicesPerBot: number;
  /** Browser fingerprints the whole bot crowd shows (one headless profile per farm). */
  fingerprints: number;
  /** From admission to Buy, ms. */
  reactionMs: number;
};

export type HumanBehaviour = {
  /** Share of humans who join during the pre-queue (uniformly); the rest arrive after T=0. */
  early: number;
  /** Mean delay of the T=0 surge's arrivals after the start, seconds (exponential). */
  surgeMeanSeconds: number;
  /** Median time from "your turn" to Buy, seconds (log-normal, σ 0.6). */
  reactionMedianSeconds: number;
  /** Share of admitted humans who never click Buy (their turn lapses). */
  walkAway: number;
  captchaPass: number;
  agedAccounts: number;
  /** Share of humans behind a carrier-NAT address, and how many share one such address. */
  natShare: number;
  natSize: number;
  /** Distinct fingerprints among humans' phones (popular models share one). */
  fingerprints: number;
};

export type SimOptions = {
  shoppers: number;
  botShare: number;
  /** Units of the sale's one SKU (total_stock; the safety buffer holds some back). */
  stock: number;
  /** Admissions per second (admission_rate_per_second). */
  rate: number;
  mode: Mode;
  seed: string;
  /** Also send the same crowd straight to purchase, without the queue. */
  compare: boolean;
  /** Redis commands per second the database takes (Upstash's documented 10,000). */
  redisCapacity: number;
  /** Where the report and charts go; null writes nothing. */
  out: string | null;
  progress: boolean;
  bots: BotBehaviour;
  humans: HumanBehaviour;
};

export const DEFAULT_OPTIONS: SimOptions = {
  shoppers: 1_000_000,
  // The seed: "Bot traffic ratio 30-50% of requests".
  botShare: 0.4,
  stock: 1_000,
  rate: DEFAULTS.admissionRatePerSecond,
  mode: DEFAULTS.preQueueMode,
  seed: "flash-sale",
  compare: true,
  redisCapacity: 10_000,
  out: "docs/simulation",
  progress: true,
  bots: {
    tabs: 4,
    refreshes: 5,
    retries: 3,
    blindBuys: 2,
    raceMs: 1_000,
    agedAccounts: 0.2,
    captchaPass: 0.3,
    addresses: 5_000,
    devicesPerBot: 0.01,
    fingerprints: 20,
    reactionMs: 20,
  },
  humans: {
    early: 0.5,
    surgeMeanSeconds: 5,
    reactionMedianSeconds: 4,
    walkAway: 0.05,
    captchaPass: 0.98,
    agedAccounts: 0.97,
    natShare: 0.1,
    natSize: 200,
    fingerprints: 2_000,
  },
};

const USAGE = `npm run simulate -- [options]
  --shoppers N         crowd size (default 1000000)
  --bots SHARE         share of the crowd that is bots, 0..1 (default 0.4)
  --stock N            units of the sale's SKU (default 1000)
  --rate N             admissions per second (default: the sale default, ${DEFAULTS.admissionRatePerSecond})
  --mode fifo|random   pre-queue mode (default: the sale default, ${DEFAULTS.preQueueMode})
  --seed TEXT          same seed, same run (default flash-sale)
  --no-compare         skip the run without the queue
  --redis-capacity N   Redis commands/s before requests fail (default 10000, Upstash's figure)
  --bot-tabs N --bot-refreshes N --bot-retries N --bot-blind-buys N
  --bot-aged SHARE --bot-captcha SHARE --bot-addresses N --bot-devices-per-bot SHARE
  --out DIR            report and charts (default docs/simulation); --no-out writes nothing
  --quiet              no progress bar`;

/** Parses `npm run simulate -- …`; throws with the usage text on anything it does not know. */
export function parseOptions(argv: string[]): SimOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      shoppers: { type: "string" },
      bots: { type: "string" },
      stock: { type: "string" },
      rate: { type: "string" },
      mode: { type: "string" },
      seed: { type: "string" },
      "no-compare": { type: "boolean" },
      "redis-capacity": { type: "string" },
      "bot-tabs": { type: "string" },
      "bot-refreshes": { type: "string" },
      "bot-retries": { type: "string" },
      "bot-blind-buys": { type: "string" },
      "bot-aged": { type: "string" },
      "bot-captcha": { type: "string" },
      "bot-addresses": { type: "string" },
      "bot-devices-per-bot": { type: "string" },
      out: { type: "string" },
      "no-out": { type: "boolean" },
      quiet: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) throw new Error(USAGE);
  const d = DEFAULT_OPTIONS;
  const num = (v: string | undefined, fallback: number, name: string, max = Number.POSITIVE_INFINITY) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0 || n > max)
      throw new Error(`--${name} must be a number from 0 to ${max}\n${USAGE}`);
    return n;
  };
  const mode = values.mode ?? d.mode;
  if (mode !== "fifo" && mode !== "random") throw new Error(`--mode must be fifo or random\n${USAGE}`);
  return {
    ...d,
    shoppers: Math.max(1, Math.round(num(values.shoppers, d.shoppers, "shoppers", 5_000_000))),
    botShare: num(values.bots, d.botShare, "bots", 1),
    stock: Math.max(1, Math.round(num(values.stock, d.stock, "stock", 1_000_000))),
    rate: Math.max(1, num(values.rate, d.rate, "rate", 1_000_000)),
    mode,
    seed: values.seed ?? d.seed,
    compare: !values["no-compare"],
    redisCapacity: Math.max(1, num(values["redis-capacity"], d.redisCapacity, "redis-capacity")),
    out: values["no-out"] ? null : (values.out ?? d.out),
    progress: !values.quiet,
    bots: {
      ...d.bots,
      tabs: Math.max(1, Math.round(num(values["bot-tabs"], d.bots.tabs, "bot-tabs", 100))),
      refreshes: Math.round(num(values["bot-refreshes"], d.bots.refreshes, "bot-refreshes", 100)),
      retries: Math.round(num(values["bot-retries"], d.bots.retries, "bot-retries", 100)),
      blindBuys: Math.round(num(values["bot-blind-buys"], d.bots.blindBuys, "bot-blind-buys", 100)),
      agedAccounts: num(values["bot-aged"], d.bots.agedAccounts, "bot-aged", 1),
      captchaPass: num(values["bot-captcha"], d.bots.captchaPass, "bot-captcha", 1),
      addresses: Math.max(1, Math.round(num(values["bot-addresses"], d.bots.addresses, "bot-addresses"))),
      devicesPerBot: num(values["bot-devices-per-bot"], d.bots.devicesPerBot, "bot-devices-per-bot", 1),
    },
  };
}
