/**
 * The report's charts: Vega-Lite specifications compiled and rendered to SVG by vega in
 * Node (no canvas, no browser). Each chart gets only what it draws: per-second series,
 * binned waits, the winners (at most the stock).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { Figures } from "./analysis";
import { LAYER_LABELS } from "./metrics";
import type { Simulation } from "./simulate";
import type { RunResult } from "./surge";

type Row = Record<string, string | number>;

const RUN_NAMES: Record<RunResult["kind"], string> = { queue: "through the queue", "no-queue": "without a queue" };

async function render(spec: TopLevelSpec, file: string): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  writeFileSync(file, svg);
  return file;
}

/** Seconds from a little before the start to the last second anything happened in. */
function activeSeconds(run: RunResult): number[] {
  const seconds = [...run.metrics.seconds.entries()]
    .filter(([s, row]) => s >= -5 && (row.doorRequests > 0 || row.purchaseRequests > 0 || row.reserved > 0))
    .map(([s]) => s);
  const last = Math.max(5, ...seconds);
  return Array.from({ length: last + 6 }, (_, k) => k - 5);
}

function queueSeries(run: RunResult): Row[] {
  const rows: Row[] = [];
  let reserved = 0;
  let length = 0;
  let admitted = 0;
  const all = [...run.metrics.seconds.entries()].sort((a, b) => a[0] - b[0]);
  const bySecond = new Map(all);
  for (const [s, row] of all) if (s < -5) length = row.queueLength || length;
  for (const s of activeSeconds(run)) {
    const row = bySecond.get(s);
    reserved += row?.reserved ?? 0;
    length = row?.queueLength || length;
    admitted = row?.admittedThrough || admitted;
    rows.push(
      { t: s, series: "places taken (queue length)", value: length },
      { t: s, series: "admitted through (watermark)", value: admitted },
      { t: s, series: "units reserved", value: reserved },
    );
  }
  return rows;
}

function loadSeries(runs: RunResult[]): Row[] {
  const rows: Row[] = [];
  for (const run of runs)
    for (const s of activeSeconds(runs[0]!).filter((x) => x <= 120)) {
      const row = run.metrics.seconds.get(s);
      rows.push(
        { t: s, run: RUN_NAMES[run.kind], metric: "Redis calls sent /s", value: row?.redisCalls ?? 0 },
        {
          t: s,
          run: RUN_NAMES[run.kind],
          metric: "Redis calls refused over capacity /s",
          value: row?.redisRefused ?? 0,
        },
        { t: s, run: RUN_NAMES[run.kind], metric: "commands Redis ran /s", value: row?.redisCommands ?? 0 },
      );
    }
  return rows;
}

function waitBins(run: RunResult, crowd: Simulation["crowd"]): Row[] {
  const bins = new Map<string, number>();
  const edges = [0, 1, 2, 5, 10, 30, 60, 180, 600, 1800, 3600];
  const label = (x: number) => {
    for (let k = edges.length - 1; k >= 0; k--) if (x >= edges[k]!) return k;
    return 0;
  };
  const names = edges.map((e, k) => (k === edges.length - 1 ? `≥ ${e} s` : `${e}–${edges[k + 1]} s`));
  for (let i = 0; i < crowd.size; i++) {
    if (crowd.isBot[i] || !Number.isFinite(run.doneAt[i]!)) continue;
    const wait = Math.max(0, run.doneAt[i]! - Math.max(0, crowd.arrivalMs[i]!)) / 1000;
    const key = `${label(wait)}`;
    bins.set(key, (bins.get(key) ?? 0) + 1);
  }
  return names.map((name, k) => ({ bin: name, order: k, humans: bins.get(String(k)) ?? 0 }));
}

function layerRows(figures: Figures[]): Row[] {
  return figures.flatMap((f) =>
    f.botLayers.map((l) => ({
      run: RUN_NAMES[f.kind],
      layer: LAYER_LABELS[l.layer],
      share: l.share,
      requests: l.requests,
    })),
  );
}

function winnerRows(sim: Simulation): Row[] {
  return sim.runs.flatMap(({ run }) => {
    const order = run.kind === "queue" ? null : arrivalRank(sim);
    return run.metrics.winners.map((w) => ({
      run: RUN_NAMES[run.kind],
      who: w.bot ? "bot" : "human",
      place: run.kind === "queue" ? run.arrivalNumber[w.shopper]! : order![w.shopper]!,
      at: w.atMs / 1000,
    }));
  });
}

function arrivalRank(sim: Simulation): Int32Array {
  const { crowd } = sim;
  const order = Array.from({ length: crowd.size }, (_, i) => i).sort(
    (a, b) => crowd.arrivalMs[a]! - crowd.arrivalMs[b]! || a - b,
  );
  const rank = new Int32Array(crowd.size);
  order.forEach((i, r) => {
    rank[i] = r + 1;
  });
  return rank;
}

/** Step lines per simulated second, one panel per `row` value, each with its own scale. */
function perSecond(title: string, values: Row[], row: string, color?: string): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title,
    data: { values },
    facet: { row: { field: row, type: "nominal", title: null } },
    spec: {
      width: 640,
      height: 120,
      mark: { type: "line", interpolate: "step-after" },
      encoding: {
        x: { field: "t", type: "quantitative", title: "seconds after the start (simulated)" },
        y: { field: "value", type: "quantitative", title: null },
        ...(color ? { color: { field: color, type: "nominal", title: null } } : {}),
      },
    },
    resolve: { scale: { y: "independent" } },
  };
}

export async function writeCharts(sim: Simulation, dir: string): Promise<Record<string, string>> {
  const queued = sim.runs.find((r) => r.run.kind === "queue")!;
  const width = 640;
  const files: Record<string, string> = {};
  files.queue = await render(
    perSecond(
      "Through the queue: places, admissions and units reserved, per second from the start",
      queueSeries(queued.run),
      "series",
    ),
    join(dir, "queue-over-time.svg"),
  );
  files.load = await render(
    perSecond(
      `Redis load per second, queue against no queue (capacity ${sim.options.redisCapacity.toLocaleString("en-US")} calls/s)`,
      loadSeries(sim.runs.map((r) => r.run)),
      "metric",
      "run",
    ),
    join(dir, "redis-load.svg"),
  );
  files.waits = await render(
    {
      $schema: "https://vega.github.io/schema/vega-lite/v5.json",
      title: "Humans through the queue: time from the start (or their arrival) to a final answer",
      data: { values: waitBins(queued.run, sim.crowd) },
      width,
      height: 220,
      mark: "bar",
      encoding: {
        x: { field: "bin", type: "ordinal", sort: { field: "order" }, title: "wait" },
        y: { field: "humans", type: "quantitative", title: "humans" },
      },
    },
    join(dir, "waits.svg"),
  );
  files.layers = await render(
    {
      $schema: "https://vega.github.io/schema/vega-lite/v5.json",
      title: "Where bots' requests ended: share of all bot requests, per layer",
      data: { values: layerRows(sim.runs.map((r) => r.figures)) },
      facet: { row: { field: "run", type: "nominal", title: null } },
      spec: {
        width: 420,
        mark: "bar",
        encoding: {
          y: { field: "layer", type: "nominal", sort: "-x", title: null },
          x: { field: "share", type: "quantitative", axis: { format: "%" }, title: "share of bot requests" },
          tooltip: [{ field: "requests", type: "quantitative" }],
        },
      },
      resolve: { scale: { y: "independent" } },
    },
    join(dir, "bot-layers.svg"),
  );
  files.winners = await render(
    {
      $schema: "https://vega.github.io/schema/vega-lite/v5.json",
      title: "Who won: winners by their place in the order of arrival (powers of ten)",
      data: { values: winnerRows(sim) },
      transform: [{ calculate: "floor(log(datum.place) / LN10)", as: "decade" }],
      facet: { row: { field: "run", type: "nominal", title: null } },
      spec: {
        width: 420,
        height: 160,
        mark: "bar",
        encoding: {
          x: {
            field: "decade",
            type: "ordinal",
            title: "place in the order of arrival: 10^x to 10^(x+1)",
          },
          y: { aggregate: "count", type: "quantitative", title: "winners" },
          color: { field: "who", type: "nominal", title: null, scale: { domain: ["human", "bot"] } },
        },
      },
    },
    join(dir, "winners.svg"),
  );
  return files;
}
