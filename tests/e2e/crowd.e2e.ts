/**
 * The crowd bug, in a real browser: three shoppers on identical phones (same model,
 * OS, language, time zone, so the same fingerprint) open a one-unit sale. All three get
 * a place; the first buys and the other two hear "sold out" within a second; when the
 * first cancels, the unit goes to the second in line, never the third.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIST } from "../../static-site/build";
import { shopperToken, uniq, workerUrl } from "../integration/fixtures/api";
import { launchBrowser, PHONE } from "./browser";
import { publishSale } from "./published-sale";

/** Time from creating the sale to its start: enough for three pages to load and join. */
const LEAD_MS = 30_000;

type Shopper = { context: BrowserContext; page: Page; name: string };

let browser: Browser;
let saleId: string;
let startMs: number;
const shoppers: Shopper[] = [];

const waitForPhase = (page: Page, phases: string[], timeout: number) =>
  page.waitForFunction((want) => want.includes(document.getElementById("panel")?.dataset.phase ?? ""), phases, {
    timeout,
    polling: 50,
  });

/** Every phase the panel shows, with the real time it appeared (not the device's clock). */
const phasesSeen = (page: Page) =>
  page.evaluate(() => (window as unknown as { __phases: Array<[string, number]> }).__phases);

async function openShopper(name: string): Promise<Shopper> {
  // Identical phones: the same context options give every page the same traits, so the same fingerprint.
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  const session = await shopperToken(uniq(name));
  await page.addInitScript((t: string) => localStorage.setItem("flashsale.session", t), session);
  await page.addInitScript(() => {
    const w = window as unknown as { __phases: Array<[string, number]> };
    w.__phases = [];
    document.addEventListener("DOMContentLoaded", () => {
      const panel = document.getElementById("panel")!;
      const note = () => {
        const phase = panel.dataset.phase ?? "";
        if (w.__phases.at(-1)?.[0] !== phase) w.__phases.push([phase, performance.timeOrigin + performance.now()]);
      };
      note();
      new MutationObserver(note).observe(panel, { attributes: true, attributeFilter: ["data-phase"] });
    });
  });
  await page.goto(`${workerUrl()}/sales/${saleId}/`, { waitUntil: "load", timeout: 20_000 });
  return { context, page, name };
}

beforeAll(async () => {
  startMs = Date.now() + LEAD_MS;
  // The defaults: admission rate and the outstanding-admission cap are the product's own.
  ({ saleId } = await publishSale({
    name: "One phone for a crowd",
    start_time: new Date(startMs).toISOString(),
    end_time: new Date(startMs + 15 * 60_000).toISOString(),
    safety_buffer_percent: 0,
    items: [
      {
        sku_id: "ONE-PHONE",
        name: "The last phone",
        flash_price: "199.00",
        original_price: "799.00",
        total_stock: 1,
        per_user_limit: 1,
      },
    ],
  }));
  browser = await launchBrowser();
});

afterAll(async () => {
  for (const s of shoppers) await s.context.close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  if (saleId) rmSync(join(DIST, "sales", saleId), { recursive: true, force: true });
});

describe("three shoppers on identical phones, one unit", () => {
  it("lets all three join the queue, in the order they pressed Join", async () => {
    for (const name of ["first", "second", "third"]) shoppers.push(await openShopper(name));
    for (const { page } of shoppers) {
      await waitForPhase(page, ["open"], 10_000);
      await page.locator("#panel-action").click();
      await waitForPhase(page, ["waiting", "ready", "admitted"], 15_000);
    }
    expect(Date.now(), "the sale started before all three had joined: raise LEAD_MS").toBeLessThan(startMs - 1_000);
    const places = await Promise.all(shoppers.map(({ page }) => page.locator("#panel-detail").textContent()));
    expect(places).toEqual(["1st in line", "2nd in line", "3rd in line"]);
    // Same phone, same fingerprint, yet each browser has its own device id.
    const ids = await Promise.all(
      shoppers.map(({ page }) => page.evaluate(() => localStorage.getItem("flashsale.device"))),
    );
    expect(new Set(ids).size).toBe(3);
  });

  it("lets the first buy, and tells the other two it is sold out within 1 s", async () => {
    const [first, second, third] = shoppers as [Shopper, Shopper, Shopper];
    await waitForPhase(first.page, ["admitted"], LEAD_MS + 15_000);
    await first.page.locator("button.buy").first().click();
    await waitForPhase(first.page, ["reserved"], 15_000);
    const reservedAt = (await phasesSeen(first.page)).find(([p]) => p === "reserved")![1];
    for (const other of [second, third]) {
      await waitForPhase(other.page, ["sold_out"], 5_000);
      const soldOutAt = (await phasesSeen(other.page)).findLast(([p]) => p === "sold_out")![1];
      expect(soldOutAt - reservedAt, `${other.name} heard sold out late`).toBeLessThan(1_000);
    }
    // Two turns for one unit: the third was never admitted.
    expect((await phasesSeen(third.page)).map(([p]) => p)).not.toContain("admitted");
  });

  it("gives the unit back to the second in line when the first cancels, and never to the third", async () => {
    const [first, second, third] = shoppers as [Shopper, Shopper, Shopper];
    await first.page.locator("#panel-secondary").click(); // Cancel reservation: the unit goes back
    await waitForPhase(second.page, ["admitted"], 10_000);
    await second.page.locator("button.buy").first().click();
    await waitForPhase(second.page, ["reserved"], 15_000);
    await waitForPhase(third.page, ["sold_out"], 5_000);
    expect((await phasesSeen(third.page)).map(([p]) => p)).not.toContain("admitted");
  });
});
