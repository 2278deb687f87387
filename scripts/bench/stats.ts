/**
 * What every benchmark shares: a bounded closed-loop driver, latency percentiles, a
 * median-and-spread summary over repeated runs, and `INFO commandstats` deltas, so
 * that "one Redis command per decision" is read from Redis rather than asserted.
 */
import type { Redis as IORedis } from "ioredis";

/** One line of the printed table and of bench-results/latest.json. */
export type BenchRow = Record<string, string | number | null>;

export type BenchReport = {
  name: string;
  /** What was measured and under which conditions, in a sentence or two each. */
  notes: string[];
  rows: BenchRow[];
};

export type LoopResult = {
  attempts: number;
  completed: number;
  errors: number;
  /** First few distinct error messages, so a failed run says why. */
  errorSamples: string[];
  wallMs: number;
  /** Per-attempt latency in ms, as the caller saw it. */
  latenciesMs: number[];
};

/**
 * Runs `attempts` calls with at most `concurrency` in flight (each worker starts its next
 * call when its last one answers: a closed loop, so the offered load never outruns the
 * system). Bounded twice: by the count, and by `deadlineMs` of wall time.
 */
export async function closedLoop(
  attempts: number,
  concurrency: number,
  deadlineMs: number,
  call: (i: number) => Promise<unknown>,
): Promise<LoopResult> {
  const latenciesMs: number[] = [];
  const errorSamples = new Set<string>();
  let next = 0;
  let errors = 0;
  const started = performance.now();
  const stopAt = started + deadlineMs;
  const worker = async () => {
    while (next < attempts && performance.now() < stopAt) {
      const i = next++;
      const t0 = performance.now();
      try {
        await call(i);
        latenciesMs.push(performance.now() - t0);
      } catch (err) {
        errors++;
        if (errorSamples.size < 3) errorSamples.add(err instanceof Error ? err.message : String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, attempts) }, worker));
  return {
    attempts: next,
    completed: latenciesMs.length,
    errors,
    errorSamples: [...errorSamples],
    wallMs: performance.now() - started,
    latenciesMs,
  };
}

/** Nearest-rank percentile of an ascending list. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export type LatencySummary = { perSecond: number; p50: number; p95: number; p99: number; max: number };

export function summarize(run: LoopResult): LatencySummary {
  const sorted = [...run.latenciesMs].sort((a, b) => a - b);
  return {
    perSecond: run.completed / (run.wallMs / 1000),
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

export function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** "median (min–max)": the spread is what a shared, noisy machine makes honest. */
export function medianWithSpread(values: number[], digits: number): string {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return "n/a";
  const fmt = (v: number) => v.toFixed(digits);
  if (finite.length === 1) return fmt(finite[0]!);
  return `${fmt(median(finite))} (${fmt(Math.min(...finite))}–${fmt(Math.max(...finite))})`;
}

/**
 * The columns every closed-loop benchmark's table shares: throughput and latency
 * percentiles, each the median (min–max) over the runs.
 */
export function loopColumns(
  runs: { perSecond: number; p50: number; p95: number; p99: number }[],
  rateLabel: string,
  msDigits: number,
  percentiles: readonly ("p50" | "p95" | "p99")[] = ["p50", "p95", "p99"],
): Record<string, string> {
  const columns: Record<string, string> = {
    [rateLabel]: medianWithSpread(
      runs.map((r) => r.perSecond),
      0,
    ),
  };
  for (const p of percentiles)
    columns[`${p} ms`] = medianWithSpread(
      runs.map((r) => r[p]),
      msDigits,
    );
  return columns;
}

export type CommandStats = Map<string, { calls: number; usec: number }>;

/** Parses `INFO commandstats` (cmdstat_<name>:calls=…,usec=…,…). Calls made from scripts count too. */
export async function commandStats(redis: IORedis): Promise<CommandStats> {
  const text = await redis.info("commandstats");
  const stats: CommandStats = new Map();
  for (const line of text.split(/\r?\n/)) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (match) stats.set(match[1]!, { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return stats;
}

export type CommandDelta = { calls: number; usec: number };

/**
 * after − before, per command. `info` is left out: it is this measurement's own reading
 * (the "before" INFO is counted in the "after" snapshot).
 */
export function commandDelta(before: CommandStats, after: CommandStats): Map<string, CommandDelta> {
  const delta = new Map<string, CommandDelta>();
  for (const [name, now] of after) {
    if (name === "info") continue;
    const was = before.get(name) ?? { calls: 0, usec: 0 };
    if (now.calls > was.calls) delta.set(name, { calls: now.calls - was.calls, usec: now.usec - was.usec });
  }
  return delta;
}

export function totalCalls(delta: Map<string, CommandDelta>): number {
  let total = 0;
  for (const { calls } of delta.values()) total += calls;
  return total;
}

/** "evalsha 1.00, get 1.00, …" per decision, most frequent first. */
export function perDecisionBreakdown(delta: Map<string, CommandDelta>, decisions: number): string {
  return [...delta.entries()]
    .sort((a, b) => b[1].calls - a[1].calls)
    .map(([name, { calls }]) => `${name} ${(calls / decisions).toFixed(2)}`)
    .join(", ");
}
