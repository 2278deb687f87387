/**
 * The pre-rendered HTML. Everything a shopper needs to read (the sale's name, items,
 * prices, stock at build time, start time) is in the page itself, so the first paint
 * needs no API call; the script then only brings it to life. Every slot that changes
 * later has its size reserved here, so nothing moves when it does.
 */
import { CONFIG_ELEMENT_ID, type PageConfig, type PageItem } from "./src/config";
import { formatCount, formatMoney, formatUtc, percentOff } from "./src/format";

export type Assets = { js: string; css: string };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** JSON that is safe inside <script>: no "</script>" or "<!--" can close or confuse it. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

function head(title: string, description: string, assets: Assets): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<meta name="description" content="${escapeHtml(description)}">
<meta name="color-scheme" content="light">
<link rel="stylesheet" href="${assets.css}">`;
}

function itemHtml(item: PageItem, index: number, currency: string): string {
  const off = percentOff(item.flash_price, item.original_price);
  const options = Array.from(
    { length: Math.max(1, item.per_user_limit) },
    (_, i) => `<option value="${i + 1}">${i + 1}</option>`,
  ).join("");
  const id = `item-${index}`;
  return `<li class="item" data-sku="${escapeHtml(item.sku_id)}" aria-labelledby="${id}-name">
<h3 class="item-name" id="${id}-name">${escapeHtml(item.name)}</h3>
<p class="price"><span class="flash">${escapeHtml(formatMoney(item.flash_price, currency))}</span>
<s class="original"><span class="vh">was </span>${escapeHtml(formatMoney(item.original_price, currency))}</s>${
    off > 0
      ? `
<span class="off">${off}% off</span>`
      : ""
  }</p>
<p class="stock"><span class="remaining" data-remaining>${formatCount(item.remaining)}</span> of ${formatCount(item.total_stock)} left · up to ${item.per_user_limit} per shopper</p>
<div class="buy-row" data-open="false">
<p class="buy-note">Buy opens when it's your turn.</p>
<div class="buy-controls">
<label for="${id}-qty">Quantity</label>
<select id="${id}-qty" class="qty" disabled>${options}</select>
<button type="button" class="buy" data-sku="${escapeHtml(item.sku_id)}" aria-describedby="${id}-name" disabled>Buy now</button>
</div>
</div>
</li>`;
}

export function renderSalePage(config: PageConfig, assets: Assets): string {
  const startIso = new Date(config.start_ms).toISOString();
  const description = `${config.name}: flash sale starting ${formatUtc(config.start_ms)}.`;
  return `${head(`${config.name} · Flash sale`, description, assets)}
<script type="module" src="${assets.js}"></script>
</head>
<body>
<a class="skip" href="#panel">Skip to the queue</a>
<main>
<header class="intro">
<p class="eyebrow">Flash sale</p>
<h1>${escapeHtml(config.name)}</h1>
<p class="when">Starts <time id="start-time" datetime="${startIso}">${escapeHtml(formatUtc(config.start_ms))}</time></p>
</header>
<section class="clock" aria-labelledby="countdown-label">
<h2 class="clock-label" id="countdown-label">Starts in</h2>
<p class="countdown" id="countdown" role="timer" aria-labelledby="countdown-label">--:--:--</p>
<p class="clock-note" id="clock-note">Checking the shop's clock…</p>
</section>
<section class="panel" id="panel" aria-labelledby="panel-title" data-phase="syncing">
<h2 id="panel-title" tabindex="-1">Getting ready</h2>
<p id="panel-message">The queue opens before the sale starts. Keep this page open.</p>
<p id="panel-detail" class="detail"></p>
<div id="captcha" class="captcha"${config.captcha.mode === "off" ? ` data-captcha="off" hidden` : ""}></div>
<div class="actions">
<button type="button" id="panel-action" class="primary" hidden>Join the queue</button>
<button type="button" id="panel-secondary" class="secondary" hidden>Cancel reservation</button>
</div>
</section>
<section class="items" aria-labelledby="items-title">
<h2 id="items-title">In this sale</h2>
<ul>
${config.items.map((item, i) => itemHtml(item, i, config.currency)).join("\n")}
</ul>
</section>
<div id="announcer" class="vh" aria-live="polite" aria-atomic="true"></div>
<div id="alert" class="vh" role="alert"></div>
<noscript><p class="noscript">This sale needs JavaScript to queue and buy.</p></noscript>
</main>
<script type="application/json" id="${CONFIG_ELEMENT_ID}">${jsonForScript(config)}</script>
</body>
</html>
`;
}

/** The site's front page: the sales this build knows about, soonest first. */
export function renderIndex(
  sales: ReadonlyArray<Pick<PageConfig, "sale_id" | "name" | "start_ms">>,
  assets: Assets,
): string {
  const list = [...sales].sort((a, b) => a.start_ms - b.start_ms);
  return `${head("Flash sales", "Flash sales on now and coming up.", assets)}
</head>
<body>
<main>
<header class="intro"><p class="eyebrow">Flash sales</p><h1>On now and coming up</h1></header>
${
  list.length
    ? `<ul class="sales">${list
        .map(
          (s) =>
            `<li><a href="/sales/${encodeURIComponent(s.sale_id)}/">${escapeHtml(s.name)}</a> <span>${escapeHtml(formatUtc(s.start_ms))}</span></li>`,
        )
        .join("")}</ul>`
    : `<p>No sale is published yet. A sale's page lives at /sales/&lt;sale_id&gt;/.</p>`
}
</main>
</body>
</html>
`;
}
