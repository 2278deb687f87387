/**
 * The admin dashboard's HTML (/admin/): a sign-in form, then the sale's figures, its
 * SLOs, the operator's controls and six charts, filled by static-site/src/admin/main.ts.
 * Nothing about any sale is in the page: it is the same file for every sale and admin.
 */
import type { Assets } from "./render";

const CHARTS = [
  ["queue", "Queue length"],
  ["admission", "Admission rate"],
  ["sales", "Sales per second"],
  ["stock", "Stock per SKU"],
  ["latency", "Purchase decision latency (p50, p99)"],
  ["errors", "Errors and shed load per second"],
] as const;

const FIGURES = [
  ["status", "status"],
  ["queued", "queued"],
  ["admitted", "admitted through"],
  ["admission", "admission"],
  ["reserved", "reserved"],
  ["paid", "paid"],
  ["remaining", "remaining"],
  ["outbox", "outbox backlog"],
  ["dead", "dead-lettered orders"],
  ["bots", "bot signals"],
] as const;

export function renderAdminPage(assets: Assets): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Flash sale operations</title>
<link rel="stylesheet" href="${assets.css}">
<script type="module" src="${assets.js}"></script>
</head>
<body data-view="sign-in">
<header>
<h1>Flash sale operations</h1>
<label class="dashboard-only">Sale <select id="sale"></select></label>
<span class="spacer"></span>
<span id="updated" class="dashboard-only" role="status"></span>
<button type="button" id="sign-out" class="dashboard-only">Sign out</button>
</header>
<form id="sign-in">
<h2>Sign in</h2>
<label for="token">Admin token</label>
<input id="token" type="password" autocomplete="current-password" required>
<button class="primary" type="submit">Open the dashboard</button>
<p id="sign-in-error" role="alert"></p>
</form>
<p id="no-sales">No sales yet: create one with <code>npm run sale -- create</code>.</p>
<main class="dashboard-only">
<section aria-labelledby="h-figures">
<h2 id="h-figures">Now</h2>
<dl id="figures">
${FIGURES.map(([id, label]) => `<div><dt>${label}</dt><dd id="fig-${id}">-</dd></div>`).join("\n")}
</dl>
</section>
<section id="controls" aria-labelledby="h-controls">
<h2 id="h-controls">Controls</h2>
<form id="rate-form">
<label for="rate">Admission rate (shoppers/s)</label>
<input id="rate" type="number" min="1" max="1000000" step="1" required>
<button type="submit" id="rate-set">Set rate</button>
</form>
<button type="button" id="pause">Pause admission</button>
<button type="button" id="cancel" class="danger">Cancel sale</button>
<p id="message" role="status"></p>
</section>
<section aria-labelledby="h-slos">
<h2 id="h-slos">Service level objectives</h2>
<ul id="slos"></ul>
</section>
<section id="charts" aria-label="Charts, updated every second">
${CHARTS.map(
  ([id, title]) =>
    `<figure data-chart="${id}"><figcaption>${title}<output id="latest-${id}"></output></figcaption><div id="chart-${id}"></div></figure>`,
).join("\n")}
</section>
</main>
</body>
</html>
`;
}
