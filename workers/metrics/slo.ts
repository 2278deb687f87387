/**
 * The sale's service level objectives, from its metrics. Each is a ratio of good events
 * to all events over the sale so far, against a target; what the target allows to go
 * wrong is the error budget, and how much of it is spent is `budget_used` (1 = all of
 * it). `burn_rate` is how fast the last minutes spend it: 1 spends exactly the budget
 * over any window, 14 would spend a month's in about two days (the usual paging line).
 *
 * 429s are not failures: they refuse a client over its limit, as designed. A 503 is:
 * the shopper could not be served (a breaker open, a dependency down), even though the
 * system failed closed by design; that is why availability and server errors differ.
 */
import { SLO_TARGETS } from "../config";
import type { BucketFigures } from "./fields";
import { LATENCY_BUCKETS_MS } from "./latency";

export type SloName = "availability" | "purchase_decision_latency" | "server_errors";

export type Slo = {
  name: SloName;
  objective: string;
  target: number;
  good: number;
  total: number;
  /** good / total over the sale so far; null before any event. */
  sli: number | null;
  /** Share of the error budget spent: bad / ((1 - target) × total); null before any event. */
  budget_used: number | null;
  /** Bad share over the last minutes divided by the allowed bad share; null when they saw no event. */
  burn_rate: number | null;
  met: boolean;
};

type Count = { good: number; total: number };

function requestsWhere(figures: BucketFigures, bad: (status: number) => boolean): Count {
  let total = 0;
  let failed = 0;
  for (const r of figures.requests) {
    total += r.count;
    if (bad(r.status)) failed += r.count;
  }
  return { good: total - failed, total };
}

function decisionsWithin(figures: BucketFigures, ms: number): Count {
  let total = 0;
  let good = 0;
  for (const [bucket, n] of Object.entries(figures.latency.purchase)) {
    total += n;
    const bound = bucket === "le_inf" ? Number.POSITIVE_INFINITY : Number(bucket.slice(3));
    if (bound <= ms) good += n;
  }
  return { good, total };
}

// The latency objective is read from histogram buckets, so its threshold must be a bucket's bound.
if (!(LATENCY_BUCKETS_MS as readonly number[]).includes(SLO_TARGETS.purchaseDecisionMs))
  throw new Error("SLO_TARGETS.purchaseDecisionMs must be one of LATENCY_BUCKETS_MS");

const serverFailure = (status: number) => status >= 500;
const serverError = (status: number) => status >= 500 && status !== 503;

function slo(name: SloName, objective: string, target: number, sale: Count, recent: Count): Slo {
  const allowed = 1 - target;
  const bad = sale.total - sale.good;
  const sli = sale.total === 0 ? null : sale.good / sale.total;
  return {
    name,
    objective,
    target,
    good: sale.good,
    total: sale.total,
    sli,
    budget_used: sale.total === 0 ? null : bad / (allowed * sale.total),
    burn_rate: recent.total === 0 ? null : (recent.total - recent.good) / recent.total / allowed,
    met: sli === null || sli >= target,
  };
}

/** The three SLOs from the sale's totals (`sale`) and its last minutes (`recent`). */
export function computeSlos(sale: BucketFigures, recent: BucketFigures): Slo[] {
  const ms = SLO_TARGETS.purchaseDecisionMs;
  return [
    slo(
      "availability",
      "shopper requests answered without a 5xx",
      SLO_TARGETS.availability,
      requestsWhere(sale, serverFailure),
      requestsWhere(recent, serverFailure),
    ),
    slo(
      "purchase_decision_latency",
      `purchase decisions within ${ms} ms (p99 < ${ms} ms)`,
      SLO_TARGETS.purchaseDecision,
      decisionsWithin(sale, ms),
      decisionsWithin(recent, ms),
    ),
    slo(
      "server_errors",
      "shopper requests answered without a server error (5xx other than 503)",
      SLO_TARGETS.serverErrors,
      requestsWhere(sale, serverError),
      requestsWhere(recent, serverError),
    ),
  ];
}
