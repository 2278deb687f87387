/**
 * The dashboard's data, free of the DOM: what it reads of the metrics answer, how
 * successive answers become chart columns, and how the SLOs read. The answer's type is
 * the worker's (workers/metrics/report.ts); this is the part of it the page uses, and a
 * unit test checks that the worker's answer still fits it.
 */

export type DashboardSlo = {
  name: string;
  objective: string;
  target: number;
  sli: number | null;
  budget_used: number | null;
  burn_rate: number | null;
  met: boolean;
};

export type DashboardSecond = {
  t: number;
  requests: number;
  client_errors: number;
  rate_limited: number;
  shed: number;
  server_errors: number;
  reserved_units: number;
  purchase_p50_ms: number | null;
  purchase_p99_ms: number | null;
  queue_length: number | null;
  admitted_per_second: number | null;
};

export type DashboardMetrics = {
  sale_id: string;
  status: string;
  generated_at: string;
  counters: { reserved: number; paid: number; expired: number; remaining: number | null; dead_lettered: number };
  items: Array<{ sku_id: string; total_stock: number; remaining: number | null }>;
  queue: {
    length: number;
    admitted_through: number;
    admission_rate_per_second: number;
    admission_paused_at: string | null;
    admitted_per_second: number | null;
  };
  outbox_backlog: number;
  bot_signals: Record<string, number>;
  purchase_latency: { samples: number; p50_ms: number | null; p99_ms: number | null };
  slo: DashboardSlo[];
  series: DashboardSecond[];
};

/** What the dashboard keeps between answers: seconds by time, and stock per SKU as each answer saw it. */
export type History = { seconds: Map<number, DashboardSecond>; stock: Map<number, Record<string, number | null>> };

export const emptyHistory = (): History => ({ seconds: new Map(), stock: new Map() });

/**
 * Adds an answer to the history and forgets what is older than `keepSeconds`. A second
 * read again replaces what was read of it before: isolates flush a second's counts up to
 * a second late, so its figure only grows; a queue sample is kept if the new read lacks one.
 */
export function remember(history: History, m: DashboardMetrics, keepSeconds: number): History {
  for (const point of m.series) {
    const before = history.seconds.get(point.t);
    history.seconds.set(point.t, {
      ...point,
      queue_length: point.queue_length ?? before?.queue_length ?? null,
      admitted_per_second: point.admitted_per_second ?? before?.admitted_per_second ?? null,
    });
  }
  const now = Math.floor(Date.parse(m.generated_at) / 1000);
  history.stock.set(now, Object.fromEntries(m.items.map((i) => [i.sku_id, i.remaining])));
  for (const map of [history.seconds, history.stock] as Map<number, unknown>[])
    for (const t of map.keys()) if (t <= now - keepSeconds) map.delete(t);
  return history;
}

type Column = Array<number | null>;
export type ChartColumns = [number[], ...Column[]];

const sorted = <T>(map: Map<number, T>): Array<[number, T]> => [...map.entries()].sort((a, b) => a[0] - b[0]);

function columns(history: History, pick: Array<(p: DashboardSecond) => number | null>): ChartColumns {
  const rows = sorted(history.seconds);
  return [rows.map(([t]) => t), ...pick.map((f) => rows.map(([, p]) => f(p)))];
}

/** The six charts' data, x in unix seconds. */
export function chartData(history: History, skus: string[]) {
  const stockRows = sorted(history.stock);
  return {
    queue: columns(history, [(p) => p.queue_length]),
    admission: columns(history, [(p) => p.admitted_per_second]),
    sales: columns(history, [(p) => p.reserved_units]),
    stock: [stockRows.map(([t]) => t), ...skus.map((sku) => stockRows.map(([, s]) => s[sku] ?? null))] as ChartColumns,
    latency: columns(history, [(p) => p.purchase_p50_ms, (p) => p.purchase_p99_ms]),
    errors: columns(history, [(p) => p.server_errors, (p) => p.shed, (p) => p.rate_limited, (p) => p.client_errors]),
  };
}

const percent = (v: number, digits: number) => `${(v * 100).toFixed(digits)}%`;

/** One SLO as its card reads: status, figure against target, budget spent, burn. */
export function sloText(s: DashboardSlo): {
  state: "ok" | "missed" | "idle";
  now: string;
  budget: string;
  burn: string;
} {
  return {
    state: s.sli === null ? "idle" : s.met ? "ok" : "missed",
    now: s.sli === null ? "no traffic yet" : `${percent(s.sli, 3)} (target ${percent(s.target, 2)})`,
    budget: s.budget_used === null ? "-" : `${percent(s.budget_used, 0)} of the error budget used`,
    burn: s.burn_rate === null ? "no traffic in 5 min" : `burning ${s.burn_rate.toFixed(1)}× the sustainable rate`,
  };
}
