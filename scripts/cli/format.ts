/** Readable terminal output for the admin CLI (--json prints the API's answers instead). */

import type { SaleMetrics } from "../../workers/metrics/report";
import type { ReconcileReport } from "../../workers/orders/reconcile";

type Item = {
  sku_id: string;
  name: string;
  flash_price: string;
  original_price: string;
  total_stock: number;
  per_user_limit: number;
  loaded?: number | null;
  remaining?: number | null;
};
type Sale = {
  sale_id: string;
  name: string;
  status: string;
  start_time: string;
  end_time: string;
  pre_queue_opens_at: string;
  pre_queue_mode: string;
  admission_rate_per_second: number;
  safety_buffer_percent: number;
  prewarmed_at: string | null;
  items: Item[];
  figures?: Record<string, unknown> & { orders?: Record<string, number> };
};

const dash = (v: unknown) => (v === null || v === undefined ? "-" : String(v));

type DeadLetter = {
  count: number;
  entries: Array<{
    order_id: string | null;
    event_type: string | null;
    error: string;
    dead_lettered_at: string | null;
  }>;
};

/**
 * Order events Postgres refused, in words an operator cannot miss: those orders are not
 * in Postgres until someone corrects and replays them (docs/purchase.md).
 */
export function deadLetterWarning(saleId: string, count: number, entries: DeadLetter["entries"] = []): string[] {
  if (count === 0) return [];
  const lines = [
    `!! ${count} order event(s) were refused by Postgres and set aside in the dead-letter list:`,
    "!! those orders are NOT in Postgres. Nothing was deleted; see docs/purchase.md (dead letters).",
    ...entries.map(
      (e) =>
        `!!   ${e.event_type ?? "unreadable"} ${e.order_id ?? "(no order id)"} at ${e.dead_lettered_at ?? "?"}: ${e.error}`,
    ),
  ];
  if (entries.length < count)
    lines.push(
      `!!   ... and ${count - entries.length} more (npm run sale -- metrics ${saleId} --json lists the newest)`,
    );
  return lines;
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function saleSummary(sale: Sale): string {
  const lines = [
    `${sale.name}  (${sale.sale_id})`,
    `  status      ${sale.status}`,
    `  window      ${sale.start_time} → ${sale.end_time}`,
    `  pre-queue   opens ${sale.pre_queue_opens_at}, ${sale.pre_queue_mode}, ${sale.admission_rate_per_second}/s admitted`,
    `  pre-warmed  ${sale.prewarmed_at ?? "not yet"} (buffer ${sale.safety_buffer_percent}%)`,
    "",
    table([
      ["SKU", "NAME", "PRICE", "WAS", "STOCK", "LOADED", "REMAINING", "LIMIT"],
      ...sale.items.map((i) => [
        i.sku_id,
        i.name,
        i.flash_price,
        i.original_price,
        String(i.total_stock),
        dash(i.loaded),
        dash(i.remaining),
        String(i.per_user_limit),
      ]),
    ]).replace(/^/gm, "  "),
  ];
  const f = sale.figures;
  if (f) {
    lines.push(
      "",
      `  queue       ${dash(f.queued)} queued, admitted through ${dash(f.admitted)}`,
      `  redis       ${dash(f.reserved)} reserved, ${dash(f.paid)} paid, ${dash(f.expired)} expired, ${dash(f.cancelled)} cancelled, ${dash(f.remaining)} remaining`,
      `  orders      ${Object.entries(f.orders ?? {})
        .map(([k, v]) => `${v} ${k}`)
        .join(", ")}`,
      ...deadLetterWarning(sale.sale_id, Number(f.dead_lettered ?? 0)).map((l) => `  ${l}`),
    );
  }
  return lines.join("\n");
}

export function saleList(sales: Sale[]): string {
  if (sales.length === 0)
    return "No sales yet. Create one: npm run sale -- create scripts/cli/examples/phone-sale.yaml";
  return table([
    ["SALE ID", "NAME", "STATUS", "STARTS", "REMAINING", "QUEUED", "PAID"],
    ...sales.map((s) => [
      s.sale_id,
      s.name,
      s.status,
      s.start_time,
      dash(s.figures?.remaining),
      dash(s.figures?.queued),
      dash(s.figures?.paid),
    ]),
  ]);
}

export function prewarmSummary(r: {
  sale_id: string;
  loaded: boolean;
  prewarmed_at: string;
  items: Array<{ sku_id: string; total_stock: number; loaded: number; already_sold: number; stock: number }>;
}): string {
  const head = r.loaded
    ? `Pre-warmed sale ${r.sale_id}:`
    : `Sale ${r.sale_id} was already pre-warmed at ${r.prewarmed_at}; nothing was reloaded:`;
  const line = (i: (typeof r.items)[number]) =>
    `  ${i.sku_id}  ${i.loaded} of ${i.total_stock} units on sale` +
    (r.loaded && i.already_sold > 0 ? ` (${i.already_sold} already sold per Postgres: ${i.stock} loaded)` : "");
  return [head, ...r.items.map(line)].join("\n");
}

export function reconcileSummary(r: ReconcileReport): string {
  const head =
    `Reconciled sale ${r.sale_id} at ${r.checked_at}: ${r.oversold_units} unit(s) found oversold, ` +
    `${r.excess_cancelled} excess order(s) cancelled, ${r.missing_orders_written} missing order(s) written, ` +
    `${r.orphans_restored + r.paid_restored} forgotten order(s) restored to Redis, ${r.orphans_expired} expired, ` +
    `${r.states_repaired} state(s) repaired.`;
  const notes = [
    ...(r.stock_corrected
      ? []
      : ["  Stock NOT corrected: Redis does not hold the sale (pre-warm it, then reconcile again)."]),
    ...(r.cancelled_order_ids.length > 0 ? [`  Cancelled as oversold: ${r.cancelled_order_ids.join(", ")}`] : []),
    ...r.refused.map((x) => `  REFUSED ${x.action} of order ${x.order_id}: ${x.answer}`),
  ];
  const n = (v: number | null) => (v === null ? "-" : String(v));
  return [
    ...deadLetterWarning(r.sale_id, r.dead_letter?.count ?? 0, r.dead_letter?.entries),
    head,
    table([
      [
        "SKU",
        "STOCK",
        "LOADED",
        "REDIS WAS",
        "REDIS NOW",
        "RESERVED",
        "PAID",
        "OVERSOLD",
        "CANCELLED",
        "RESTORED",
        "EXPIRED",
        "WRITTEN",
      ],
      ...r.items.map((i) => [
        i.sku_id,
        String(i.total_stock),
        String(i.loaded),
        n(i.redis_stock_before),
        n(i.redis_remaining),
        String(i.orders_reserved),
        String(i.orders_paid),
        String(i.oversold_units),
        String(i.excess_cancelled),
        String(i.orphans_restored + i.paid_restored),
        String(i.orphans_expired),
        String(i.missing_orders_written),
      ]),
    ]).replace(/^/gm, "  "),
    ...notes,
  ].join("\n");
}

export type { Sale };

/** What the metrics summary reads of the worker's answer (workers/metrics/report.ts): its own type, not a copy. */
export type MetricsView = Pick<
  SaleMetrics,
  "sale_id" | "status" | "generated_at" | "counters" | "outbox_backlog" | "dead_letter" | "purchase_latency"
> &
  Partial<Pick<SaleMetrics, "queue" | "queue_latency" | "bot_signals" | "slo">>;

const percent = (v: number | null, digits = 2) => (v === null ? "-" : `${(v * 100).toFixed(digits)}%`);

/**
 * The SLOs as an operator reads them: the objective, how it stands over the sale, how
 * much of its error budget is spent, and how fast the last minutes spend it.
 */
export function sloLines(slos: SaleMetrics["slo"]): string[] {
  return [
    "service level objectives (sale so far; burn over the last 5 minutes, 1 = exactly on budget):",
    table([
      ["", "OBJECTIVE", "TARGET", "NOW", "BUDGET USED", "BURN"],
      ...slos.map((s) => [
        s.met ? "ok" : "MISSED",
        s.objective,
        percent(s.target),
        s.sli === null ? "no traffic" : percent(s.sli, 3),
        percent(s.budget_used, 0),
        s.burn_rate === null ? "-" : `${s.burn_rate.toFixed(1)}x`,
      ]),
    ]).replace(/^/gm, "  "),
  ];
}

export function metricsSummary(m: MetricsView): string {
  const c = m.counters;
  const l = m.purchase_latency;
  const ms = (v: number | null) => (v === null ? "-" : `≤${v} ms`);
  const q = m.queue;
  const signals = Object.entries(m.bot_signals ?? {});
  return [
    ...deadLetterWarning(m.sale_id, m.dead_letter.count, m.dead_letter.entries),
    `Sale ${m.sale_id}  ${m.status}  at ${m.generated_at}`,
    "",
    table([
      ["QUEUED", "ADMITTED", "RESERVED", "PAID", "EXPIRED", "CANCELLED", "REMAINING", "OUTBOX", "DEAD-LETTER"],
      [
        c.queued,
        c.admitted,
        c.reserved,
        c.paid,
        c.expired,
        c.cancelled,
        c.remaining ?? "-",
        m.outbox_backlog,
        m.dead_letter.count,
      ].map(String),
    ]),
    "",
    `purchase decisions (${l.samples}): p50 ${ms(l.p50_ms)}, p95 ${ms(l.p95_ms)}, p99 ${ms(l.p99_ms)}`,
    ...(m.queue_latency
      ? [
          `queue entries (${m.queue_latency.samples}): p50 ${ms(m.queue_latency.p50_ms)}, p99 ${ms(m.queue_latency.p99_ms)}`,
        ]
      : []),
    ...(q
      ? [
          `admission   ${q.admission_paused_at ? `PAUSED since ${q.admission_paused_at}` : `${q.admission_rate_per_second}/s configured`}` +
            (q.admitted_per_second === null ? "" : `, ${q.admitted_per_second.toFixed(1)}/s measured`),
        ]
      : []),
    ...(signals.length > 0 ? [`bot signals ${signals.map(([k, v]) => `${v} ${k}`).join(", ")}`] : []),
    ...(m.slo ? ["", ...sloLines(m.slo)] : []),
  ].join("\n");
}
