/**
 * A whole sale in a real browser on the local stack: the pre-rendered page from the
 * CDN, the countdown by the server's clock on devices whose clocks are wrong, joining
 * the queue, Buy at T=0, one reservation from a double click, and sold out for the
 * next shopper. Screenshots of each state go to docs/screenshots/.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page, Request } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BuildResult, DIST } from "../../static-site/build";
import { shopperToken, uniq, workerUrl } from "../integration/fixtures/api";
import { DESKTOP, launchBrowser, PHONE, recordLayoutShifts, skewDeviceClock } from "./browser";
import { publishSale } from "./published-sale";

// Screenshots land in test-results/ on every run; with UPDATE_SCREENSHOTS=1 they replace
// the ones in docs/, so running the tests never dirties the work tree by itself.
const SHOTS = join(
  import.meta.dirname,
  process.env.UPDATE_SCREENSHOTS === "1" ? "../../docs/screenshots" : "../../test-results/screenshots",
);
const HOUR = 3_600_000;
/** Time from creating the sale to its start: enough to load both pages and join the queue. */
const LEAD_MS = 30_000;

type Shopper = { context: BrowserContext; page: Page; apiCalls: string[]; purchases: Request[] };

let browser: Browser;
let saleId: string;
let startMs: number;
let build: BuildResult;
let alice: Shopper; // desktop, device clock an hour fast
let bob: Shopper; // phone, device clock an hour slow

const phaseOf = (page: Page) => page.locator("#panel").getAttribute("data-phase");
const waitForPhase = (page: Page, phases: string[], timeout: number) =>
  page.waitForFunction((want) => want.includes(document.getElementById("panel")?.dataset.phase ?? ""), phases, {
    timeout,
    polling: 50,
  });
const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

async function openShopper(
  options: typeof DESKTOP,
  skewMs: number,
  sub: string,
  via: "link" | "storage",
): Promise<Shopper> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const apiCalls: string[] = [];
  const purchases: Request[] = [];
  page.on("request", (r) => {
    const url = new URL(r.url());
    if (url.pathname.startsWith("/api/")) apiCalls.push(`${r.method()} ${url.pathname}`);
    if (url.pathname.endsWith("/purchase") && r.method() === "POST") purchases.push(r);
  });
  await skewDeviceClock(page, skewMs);
  await recordLayoutShifts(page);
  const session = await shopperToken(sub);
  if (via === "storage") await page.addInitScript((t: string) => localStorage.setItem("flashsale.session", t), session);
  await page.goto(`${workerUrl()}/sales/${saleId}/${via === "link" ? `#session=${encodeURIComponent(session)}` : ""}`, {
    waitUntil: "load",
    timeout: 20_000,
  });
  return { context, page, apiCalls, purchases };
}

beforeAll(async () => {
  startMs = Date.now() + LEAD_MS;
  ({ saleId, build } = await publishSale({
    name: "Pixel 9 Pro at half price",
    start_time: new Date(startMs).toISOString(),
    end_time: new Date(startMs + 15 * 60_000).toISOString(),
    admission_rate_per_second: 1_000,
    safety_buffer_percent: 0,
    items: [
      {
        sku_id: "PIXEL-9-PRO",
        name: "Pixel 9 Pro, 256 GB, Obsidian",
        flash_price: "499.00",
        original_price: "999.00",
        total_stock: 1,
        per_user_limit: 1,
      },
    ],
  }));
  browser = await launchBrowser();
});

afterAll(async () => {
  await alice?.context.close().catch(() => undefined);
  await bob?.context.close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  if (saleId) rmSync(join(DIST, "sales", saleId), { recursive: true, force: true });
});

describe("a whole flash sale in a real browser", () => {
  it("serves the pre-rendered page from static assets: sale in the HTML, short-cached HTML, immutable hashed script under 30 KB gzip", async () => {
    const res = await fetch(`${workerUrl()}/sales/${saleId}/`, { signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("Pixel 9 Pro at half price");
    expect(html).toContain("$499.00");
    expect(res.headers.get("cache-control")).toMatch(/max-age=30\b/);
    const js = await fetch(`${workerUrl()}${build.assets.js}`, {
      headers: { "accept-encoding": "gzip" },
      signal: AbortSignal.timeout(10_000),
    });
    expect(js.status).toBe(200);
    expect(js.headers.get("cache-control")).toContain("immutable");
    expect(build.jsGzipBytes).toBeLessThan(30 * 1024);
  });

  it("counts down to T=0 by the server's clock even when the device's clock is an hour off", async () => {
    alice = await openShopper(DESKTOP, +HOUR, uniq("alice"), "link");
    bob = await openShopper(PHONE, -HOUR, uniq("bob"), "storage");
    for (const { page } of [alice, bob]) {
      await waitForPhase(page, ["open"], 10_000);
      const left = (await page.locator("#countdown").textContent())!.split(":").map(Number);
      const seconds = left[0]! * 3600 + left[1]! * 60 + left[2]!;
      const truth = (startMs - Date.now()) / 1000;
      expect(Math.abs(seconds - truth)).toBeLessThan(2);
      await expect(page.locator("button.buy").first().isDisabled()).resolves.toBe(true);
    }
    // The session link is taken out of the address bar once saved.
    expect(alice.page.url()).not.toContain("session=");
    await shot(bob.page, "1-countdown-phone");
    await shot(alice.page, "1-countdown-desktop");
    // Loading the page reached the origin only for the clock and the cacheable status.
    for (const call of [...alice.apiCalls, ...bob.apiCalls])
      expect(call).toMatch(/^GET \/api\/v1\/(time|flash-sale\/[^/]+\/status)$/);
  });

  it("lets a shopper join the queue with the keyboard and tells them their place", async () => {
    const join = alice.page.locator("#panel-action");
    await join.focus();
    await alice.page.keyboard.press("Enter");
    await waitForPhase(alice.page, ["waiting", "ready", "admitted"], 15_000);
    await bob.page.locator("#panel-action").click();
    await waitForPhase(bob.page, ["waiting", "ready", "admitted"], 15_000);
    expect(Date.now(), "the sale started before both shoppers had joined: raise LEAD_MS").toBeLessThan(startMs - 1_000);
    await expect(alice.page.locator("#panel-detail").textContent()).resolves.toBe("1st in line");
    await expect(bob.page.locator("#panel-detail").textContent()).resolves.toBe("2nd in line");
    // The place is told to screen readers through the polite live region.
    await expect(bob.page.locator("#announcer").getAttribute("aria-live")).resolves.toBe("polite");
    await bob.page.waitForFunction(
      () => document.getElementById("announcer")!.textContent!.includes("2nd in line"),
      null,
      { timeout: 2_000 },
    );
    await shot(bob.page, "2-in-queue-phone");
    expect(Date.now()).toBeLessThan(startMs);
  });

  it("reveals Buy at T=0 by the server's clock, not before, and puts focus on it", async () => {
    // Record, in the page, the real time (not the skewed device clock) at which Buy turns on.
    await alice.page.evaluate(() => {
      const button = document.querySelector<HTMLButtonElement>("button.buy")!;
      const w = window as unknown as { __buyOpenedAt: number | null };
      w.__buyOpenedAt = null;
      new MutationObserver(() => {
        if (!button.disabled && w.__buyOpenedAt === null) w.__buyOpenedAt = performance.timeOrigin + performance.now();
      }).observe(button, { attributes: true });
    });
    await waitForPhase(alice.page, ["admitted"], LEAD_MS + 15_000);
    const openedAt = await alice.page.evaluate(
      () => (window as unknown as { __buyOpenedAt: number | null }).__buyOpenedAt,
    );
    expect(openedAt).not.toBeNull();
    expect(openedAt!).toBeGreaterThanOrEqual(startMs - 50);
    expect(openedAt!).toBeLessThan(startMs + 10_000);
    await expect(alice.page.evaluate(() => document.activeElement?.classList.contains("buy"))).resolves.toBe(true);
    await shot(alice.page, "3-admitted-desktop");
  });

  it("reserves once on a double click and counts down to the payment deadline", async () => {
    await alice.page.locator("button.buy").first().dblclick();
    await waitForPhase(alice.page, ["reserved"], 15_000);
    expect(alice.purchases).toHaveLength(1);
    expect(alice.purchases[0]!.headers()["idempotency-key"]).toMatch(/^[0-9a-f-]{36}$/);
    await expect(alice.page.locator("#panel-detail").textContent()).resolves.toMatch(/^\d+:\d\d left to pay$/);
    await expect(alice.page.locator("#panel-title").textContent()).resolves.toContain("Reserved");
    await expect(alice.page.locator("[data-remaining]").first().textContent()).resolves.toBe("0");
    await shot(alice.page, "4-reserved-desktop");
  });

  it("tells the second shopper the sale is sold out", async () => {
    await waitForPhase(bob.page, ["admitted", "sold_out"], 15_000);
    if ((await phaseOf(bob.page)) === "admitted" && (await bob.page.locator("button.buy").first().isEnabled())) {
      await bob.page.locator("button.buy").first().click();
    }
    await waitForPhase(bob.page, ["sold_out"], 15_000);
    await expect(bob.page.locator("#panel-title").textContent()).resolves.toBe("Sold out");
    await expect(bob.page.locator("[data-remaining]").first().textContent()).resolves.toBe("0");
    await expect(bob.page.locator("#alert").textContent()).resolves.toContain("Sold out");
    await shot(bob.page, "5-sold-out-phone");
  });

  it("tells the second shopper at once when stock reopens, and lets them buy it", async () => {
    await alice.page.locator("#panel-secondary").click(); // Cancel reservation: the unit goes back
    await bob.page.waitForFunction(
      () => document.getElementById("panel-title")!.textContent!.startsWith("Stock reopened"),
      null,
      { timeout: 15_000, polling: 50 },
    );
    await bob.page.waitForFunction(
      () => document.getElementById("announcer")!.textContent!.includes("Stock reopened"),
      null,
      { timeout: 2_000 },
    );
    await shot(bob.page, "6-stock-reopened-phone");
    await waitForPhase(bob.page, ["admitted"], 10_000);
    await bob.page.locator("button.buy").first().click();
    await waitForPhase(bob.page, ["reserved"], 15_000);
    await shot(bob.page, "7-reserved-phone");
  });

  it("never shifts the layout on a phone while the sale runs", async () => {
    const cls = await bob.page.evaluate(() => (window as unknown as { __cls: number }).__cls);
    const shifts = await bob.page.evaluate(() => (window as unknown as { __shifts: unknown[] }).__shifts);
    expect(cls, JSON.stringify(shifts)).toBeLessThan(0.01);
  });
});
