/**
 * The admin dashboard in a real browser on the local stack, while a scripted sale runs:
 * the admin signs in with the token (which never reaches a URL), the charts draw the
 * sale's live figures and move, and each control changes the running sale as the
 * admin API then reports it. Screenshots go to docs/screenshots/ (UPDATE_SCREENSHOTS=1).
 */
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { admin, adminToken, api, shopperToken, uniq, workerUrl } from "../integration/fixtures/api";
import { DESKTOP, launchBrowser } from "./browser";

const SHOTS = join(
  import.meta.dirname,
  process.env.UPDATE_SCREENSHOTS === "1" ? "../../docs/screenshots" : "../../test-results/screenshots",
);
const CHARTS = ["queue", "admission", "sales", "stock", "latency", "errors"];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let browser: Browser;
let page: Page;
let saleId: string;
let running = true;
let shoppers = 0;
let lanes: Promise<void>[] = [];

/** A shopper through the real door: enters the queue (each from an address of their own), returns their place. */
async function enterQueue(): Promise<string> {
  const n = shoppers++;
  const res = await api(`/api/v1/flash-sale/${saleId}/enter-queue`, {
    token: await shopperToken(uniq("dash-shopper")),
    body: { captcha_token: "local", device_fingerprint: uniq("fp"), device_id: uniq("device") },
    headers: { "cf-connecting-ip": `10.90.${Math.floor(n / 250)}.${n % 250}` },
  });
  return res.body.queue_token as string;
}

/** One lane of the scripted sale: a shopper after another enters, waits for their turn, and buys. */
async function shopperLane(lane: number): Promise<void> {
  for (let i = 0; running; i++) {
    const place = await enterQueue().catch(() => null);
    let admission: string | null = null;
    while (running && place && !admission) {
      const view = await api(`/api/v1/flash-sale/${saleId}/queue/${place}`).catch(() => null);
      admission = view?.body?.admission_token ?? null;
      if (view?.body?.state === "closed" || view?.body?.state === "sold_out") return;
      if (!admission) await sleep(200);
    }
    if (!admission) continue;
    await api(`/api/v1/flash-sale/${saleId}/purchase`, {
      token: admission,
      body: { sku_id: (lane + i) % 3 === 0 ? "CASE" : "PHONE", quantity: 1 },
      headers: { "idempotency-key": crypto.randomUUID() },
    }).catch(() => undefined);
  }
}

const text = async (selector: string) => (await page.locator(selector).textContent()) ?? "";
const sale = async () => (await admin(`/sales/${saleId}`)).body;

beforeAll(async () => {
  const startMs = Date.now() + 2_000;
  const created = await admin("/sales", {
    body: {
      name: "Dashboard sale",
      start_time: new Date(startMs).toISOString(),
      end_time: new Date(startMs + 30 * 60_000).toISOString(),
      admission_rate_per_second: 4,
      safety_buffer_percent: 0,
      items: [
        {
          sku_id: "PHONE",
          name: "Phone",
          flash_price: "499.00",
          original_price: "999.00",
          total_stock: 400,
          per_user_limit: 1,
        },
        {
          sku_id: "CASE",
          name: "Case",
          flash_price: "9.00",
          original_price: "19.00",
          total_stock: 200,
          per_user_limit: 1,
        },
      ],
    },
  });
  if (created.status !== 201) throw new Error(`creating the sale: ${created.status} ${JSON.stringify(created.body)}`);
  saleId = created.body.sale_id;
  const warm = await admin(`/sales/${saleId}/prewarm`, { method: "POST" });
  if (warm.status !== 200) throw new Error(`prewarming the sale: ${warm.status}`);
  // A crowd already waiting when the sale opens, then shoppers arriving and buying in three lanes.
  for (let i = 0; i < 30; i++) await enterQueue();
  await sleep(Math.max(0, startMs - Date.now()));
  lanes = [0, 1, 2].map(shopperLane);
  browser = await launchBrowser();
  page = await (await browser.newContext(DESKTOP)).newPage();
  page.on("dialog", (dialog) => void dialog.accept());
});

afterAll(async () => {
  running = false;
  await Promise.all(lanes);
  await browser?.close().catch(() => undefined);
});

describe("the admin dashboard", () => {
  it("asks for the token, keeps it out of the URL, and charts the running sale every second", async () => {
    await page.goto(`${workerUrl()}/admin/?sale=${saleId}`, { waitUntil: "load", timeout: 20_000 });
    await expect(page.locator("body").getAttribute("data-view")).resolves.toBe("sign-in");
    await page.locator("#token").fill(adminToken());
    await page.locator("#sign-in button[type=submit]").click();
    await page.waitForSelector("body[data-view=dashboard][data-live=true]", { timeout: 15_000 });
    expect(page.url()).not.toContain(adminToken());
    expect(page.url()).toContain(`sale=${saleId}`);
    await expect(page.locator("#sale").inputValue()).resolves.toBe(saleId);

    // Each chart is drawn (uPlot's canvas) and fills up with seconds of live figures.
    await page.waitForFunction(
      (names) =>
        names.every((n) => Number(document.querySelector<HTMLElement>(`[data-chart=${n}]`)?.dataset.points) >= 5),
      CHARTS,
      { timeout: 20_000, polling: 250 },
    );
    for (const name of CHARTS) await expect(page.locator(`[data-chart=${name}] canvas`).count()).resolves.toBe(1);

    // The charts move: new seconds arrive while the page is open.
    const points = () => page.locator("[data-chart=sales]").getAttribute("data-points").then(Number);
    const before = await points();
    await expect.poll(points, { timeout: 10_000 }).toBeGreaterThan(before);
    // The figures are the sale's own, and they move as shoppers buy.
    const reservedBefore = Number(await text("#fig-reserved"));
    await page.waitForFunction(
      (n) => Number(document.getElementById("fig-reserved")?.textContent) > n,
      reservedBefore,
      {
        timeout: 15_000,
        polling: 250,
      },
    );
    expect(Number(await text("#fig-queued"))).toBeGreaterThanOrEqual(30);
    await expect(text("#latest-sales")).resolves.toMatch(/reserved\/s \d/);
    await expect(text("#latest-stock")).resolves.toMatch(/CASE \d+ · PHONE \d+/);
    // The latest second's latency: "-" in a second without a purchase, so it is waited for.
    await expect.poll(() => text("#latest-latency"), { timeout: 10_000 }).toMatch(/p50 \d+(\.\d+)? · p99 \d+/);
    await expect(text("#latest-admission")).resolves.toMatch(/admitted\/s \d/);
    const live = await sale();
    expect(Number(await text("#fig-reserved"))).toBeLessThanOrEqual(live.figures.reserved);
    // The SLOs are on the page, judged from the same metrics.
    await expect(page.locator(".slo").count()).resolves.toBe(3);
    await expect(page.locator(".slo[data-slo=availability] .now").textContent()).resolves.toMatch(/target 99\.95%/);
    await page.screenshot({ path: join(SHOTS, "8-admin-dashboard.png"), fullPage: true });
  });

  it("changes the running sale's admission rate", async () => {
    await page.locator("#rate").fill("50");
    await page.locator("#rate-set").click();
    await page.waitForFunction(() => document.getElementById("message")!.textContent!.includes("50/s"), null, {
      timeout: 10_000,
    });
    expect((await sale()).admission_rate_per_second).toBe(50);
    await page.waitForFunction(() => document.getElementById("fig-admission")!.textContent === "50/s", null, {
      timeout: 5_000,
    });
  });

  it("pauses admission (nobody more is admitted) and resumes it", async () => {
    await page.locator("#pause").click();
    await page.waitForFunction(
      () => document.getElementById("fig-admission")!.textContent!.startsWith("paused"),
      null,
      {
        timeout: 10_000,
      },
    );
    expect((await sale()).admission_paused_at).not.toBeNull();
    await new Promise((r) => setTimeout(r, 600));
    const held = (await sale()).figures.admitted;
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await sale()).figures.admitted).toBe(held);
    await expect(page.locator("#pause").textContent()).resolves.toBe("Resume admission");
    await page.screenshot({ path: join(SHOTS, "9-admin-paused.png"), fullPage: true });

    await page.locator("#pause").click();
    await page.waitForFunction(() => document.getElementById("fig-admission")!.textContent === "50/s", null, {
      timeout: 10_000,
    });
    expect((await sale()).admission_paused_at).toBeNull();
    await expect.poll(async () => (await sale()).figures.admitted, { timeout: 5_000 }).toBeGreaterThan(held);
  });

  it("cancels the sale after the admin confirms, and then offers no control that could change it", async () => {
    await page.locator("#cancel").click();
    await page.waitForFunction(() => document.getElementById("fig-status")!.textContent === "cancelled", null, {
      timeout: 10_000,
    });
    expect((await sale()).status).toBe("cancelled");
    for (const id of ["#pause", "#cancel", "#rate-set"])
      await expect(page.locator(id).isDisabled()).resolves.toBe(true);
  });
});
