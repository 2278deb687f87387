/**
 * The live admin dashboard (/admin/): a sale's metrics charted every second, its SLOs,
 * and the operator's controls (rate, pause and resume, cancel), all through the admin
 * API. The token is typed in, kept in this tab's sessionStorage, and sent only in the
 * Authorization header: never in a URL, where logs and history would keep it.
 */
import uPlot from "uplot";
import { chartData, type DashboardMetrics, emptyHistory, type History, remember, sloText } from "./model";

const TOKEN_KEY = "flashsale.admin-token";
const POLL_MS = 1_000;
const KEEP_SECONDS = 300;
const FIRST_READ_SECONDS = 120;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

class AdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(method: "GET" | "PATCH" | "POST", path: string, body?: unknown): Promise<T> {
  const token = sessionStorage.getItem(TOKEN_KEY) ?? "";
  const res = await fetch(`/api/v1/admin${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
  const parsed = await res.json().catch(() => null);
  if (!res.ok) throw new AdminError(res.status, parsed?.message ?? `${method} ${path} answered ${res.status}`);
  return parsed as T;
}

// ---- charts -------------------------------------------------------------------------

type ChartName = keyof ReturnType<typeof chartData>;
const PALETTE = ["#1f6feb", "#d1242f", "#9a6700", "#8250df", "#1a7f37", "#bc4c00"];

const CHARTS: Record<ChartName, { unit: string; series: string[] }> = {
  queue: { unit: "shoppers", series: ["queued"] },
  admission: { unit: "per second", series: ["admitted/s"] },
  sales: { unit: "units per second", series: ["reserved/s"] },
  stock: { unit: "units left", series: [] },
  latency: { unit: "ms", series: ["p50", "p99"] },
  errors: { unit: "per second", series: ["5xx", "503 shed", "429 limited", "4xx"] },
};

const charts = new Map<ChartName, uPlot>();

function chartWidth(el: HTMLElement): number {
  return Math.max(240, el.clientWidth - 16);
}

function makeChart(name: ChartName, labels: string[]): uPlot {
  const host = $(`chart-${name}`);
  host.replaceChildren();
  return new uPlot(
    {
      width: chartWidth(host),
      height: 170,
      legend: { show: true },
      cursor: { show: true, drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min ?? 0), Math.max(1, max ?? 1)] } },
      axes: [{}, { label: CHARTS[name].unit, size: 56 }],
      series: [
        {},
        ...labels.map((label, i) => ({
          label,
          stroke: PALETTE[i % PALETTE.length],
          width: 2,
          spanGaps: name === "queue" || name === "admission" || name === "stock",
        })),
      ],
    },
    [[]],
    host,
  );
}

function draw(history: History, m: DashboardMetrics): void {
  const skus = m.items.map((i) => i.sku_id);
  const data = chartData(history, skus);
  for (const name of Object.keys(CHARTS) as ChartName[]) {
    const labels = name === "stock" ? skus : CHARTS[name].series;
    let chart = charts.get(name);
    if (!chart || chart.series.length !== labels.length + 1) {
      chart?.destroy();
      chart = makeChart(name, labels);
      charts.set(name, chart);
    }
    chart.setData(data[name] as uPlot.AlignedData);
    // The newest figure of each series, in words, for screen readers and tests.
    const columns = data[name].slice(1) as Array<Array<number | null>>;
    const latest = columns.map((col, i) => {
      const value = col.findLast((v) => v !== null && v !== undefined);
      return `${labels[i]} ${value === undefined ? "-" : Math.round(value * 10) / 10}`;
    });
    const card = $(`chart-${name}`).closest("figure") as HTMLElement;
    card.dataset.points = String(data[name][0].length);
    $(`latest-${name}`).textContent = latest.join(" · ");
  }
}

window.addEventListener("resize", () => {
  for (const [name, chart] of charts) chart.setSize({ width: chartWidth($(`chart-${name}`)), height: 170 });
});

// ---- figures, SLOs, controls ------------------------------------------------------------

function showFigures(m: DashboardMetrics): void {
  const q = m.queue;
  const paused = q.admission_paused_at !== null;
  const figures: Record<string, string> = {
    status: m.status,
    queued: String(q.length),
    admitted: String(q.admitted_through),
    admission: paused ? `paused since ${q.admission_paused_at}` : `${q.admission_rate_per_second}/s`,
    reserved: String(m.counters.reserved),
    paid: String(m.counters.paid),
    remaining: m.counters.remaining === null ? "not loaded" : String(m.counters.remaining),
    outbox: String(m.outbox_backlog),
    dead: String(m.counters.dead_lettered),
    bots:
      Object.entries(m.bot_signals)
        .map(([k, v]) => `${v} ${k.replace(/_/g, " ")}`)
        .join(", ") || "none",
  };
  for (const [id, text] of Object.entries(figures)) $(`fig-${id}`).textContent = text;
  $("figures").dataset.status = m.status;
  $("fig-dead")
    .closest("div")!
    .classList.toggle("alarm", m.counters.dead_lettered > 0);

  const pause = $<HTMLButtonElement>("pause");
  pause.textContent = paused ? "Resume admission" : "Pause admission";
  pause.dataset.paused = String(paused);
  const over = m.status === "cancelled" || m.status === "ended";
  for (const id of ["pause", "cancel", "rate-set"]) $<HTMLButtonElement>(id).disabled = over;
  const rate = $<HTMLInputElement>("rate");
  if (document.activeElement !== rate) rate.value = String(q.admission_rate_per_second);

  $("slos").replaceChildren(
    ...m.slo.map((s) => {
      const text = sloText(s);
      const li = document.createElement("li");
      li.className = `slo ${text.state}`;
      li.dataset.slo = s.name;
      const used = Math.min(1, Math.max(0, s.budget_used ?? 0));
      li.innerHTML = `<h3></h3><p class="now"></p><div class="budget" role="meter" aria-valuemin="0" aria-valuemax="100"><span></span></div><p class="spent"></p><p class="burn"></p>`;
      li.querySelector("h3")!.textContent = s.objective;
      li.querySelector(".now")!.textContent = text.now;
      const meter = li.querySelector<HTMLElement>(".budget")!;
      meter.setAttribute("aria-valuenow", String(Math.round(used * 100)));
      meter.setAttribute("aria-label", "error budget used");
      meter.querySelector("span")!.style.width = `${used * 100}%`;
      li.querySelector(".spent")!.textContent = text.budget;
      li.querySelector(".burn")!.textContent = text.burn;
      return li;
    }),
  );
}

function say(message: string, kind: "ok" | "error" = "ok"): void {
  const el = $("message");
  el.textContent = message;
  el.dataset.kind = kind;
}

let saleId = "";
let history = emptyHistory();
let timer: number | undefined;

async function poll(first: boolean): Promise<void> {
  try {
    const m = await call<DashboardMetrics>("GET", `/sales/${saleId}/metrics?seconds=${first ? FIRST_READ_SECONDS : 5}`);
    history = remember(history, m, KEEP_SECONDS);
    showFigures(m);
    draw(history, m);
    $("updated").textContent = `updated ${new Date(m.generated_at).toLocaleTimeString()}`;
    document.body.dataset.live = "true";
  } catch (err) {
    document.body.dataset.live = "false";
    if (err instanceof AdminError && err.status === 401) return signOut("The token was refused; enter it again.");
    $("updated").textContent = `not updated: ${(err as Error).message}`;
  }
  timer = window.setTimeout(() => void poll(false), POLL_MS);
}

async function control(what: string, work: () => Promise<{ queue_notified?: boolean }>): Promise<void> {
  try {
    const answer = await work();
    say(answer.queue_notified === false ? `${what}; the queue has not heard yet: try again.` : `${what}.`);
  } catch (err) {
    say(`${what} failed: ${(err as Error).message}`, "error");
  }
}

$("rate-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const rate = Number($<HTMLInputElement>("rate").value);
  void control(`Admission rate set to ${rate}/s`, () =>
    call("PATCH", `/sales/${saleId}`, { admission_rate_per_second: rate }),
  );
});

$("pause").addEventListener("click", () => {
  const paused = $("pause").dataset.paused === "true";
  void control(paused ? "Admission resumed" : "Admission paused", () =>
    call("PATCH", `/sales/${saleId}`, { admission_paused: !paused }),
  );
});

$("cancel").addEventListener("click", () => {
  if (!window.confirm("Cancel this sale? Purchases stop at once and queued shoppers are told. This cannot be undone."))
    return;
  void control("Sale cancelled", () => call("POST", `/sales/${saleId}/cancel`));
});

// ---- signing in and choosing the sale -------------------------------------------------------

function signOut(reason = ""): void {
  window.clearTimeout(timer);
  sessionStorage.removeItem(TOKEN_KEY);
  document.body.dataset.view = "sign-in";
  $("sign-in-error").textContent = reason;
}

async function open(id: string): Promise<void> {
  saleId = id;
  history = emptyHistory();
  for (const chart of charts.values()) chart.destroy();
  charts.clear();
  const url = new URL(location.href);
  url.searchParams.set("sale", id);
  window.history.replaceState(null, "", url);
  document.body.dataset.view = "dashboard";
  window.clearTimeout(timer);
  await poll(true);
}

async function start(): Promise<void> {
  const sales = await call<{ sales: Array<{ sale_id: string; name: string; status: string; start_time: string }> }>(
    "GET",
    "/sales",
  );
  const select = $<HTMLSelectElement>("sale");
  select.replaceChildren(...sales.sales.map((s) => new Option(`${s.name} · ${s.status} · ${s.start_time}`, s.sale_id)));
  const wanted = new URL(location.href).searchParams.get("sale");
  const chosen = sales.sales.find((s) => s.sale_id === wanted) ?? sales.sales[0];
  if (!chosen) {
    document.body.dataset.view = "no-sales";
    return;
  }
  select.value = chosen.sale_id;
  await open(chosen.sale_id);
}

$("sign-in").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = $<HTMLInputElement>("token");
  sessionStorage.setItem(TOKEN_KEY, input.value);
  input.value = "";
  start().catch((err) =>
    signOut(err instanceof AdminError && err.status === 401 ? "That token was refused." : (err as Error).message),
  );
});

$("sale").addEventListener("change", () => void open($<HTMLSelectElement>("sale").value));
$("sign-out").addEventListener("click", () => signOut());

if (sessionStorage.getItem(TOKEN_KEY)) start().catch(() => signOut("Sign in again."));
else signOut();
