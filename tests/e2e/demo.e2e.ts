/**
 * `npm run sale -- demo`, as a newcomer runs it: the command creates a sale on the stack
 * and prints sign-in links; one link, opened in a real browser, signs a shopper in, joins
 * the queue, and buys once the sale starts.
 */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Demo } from "../../scripts/cli/demo";
import { DIST } from "../../static-site/build";
import { adminToken, workerUrl } from "../integration/fixtures/api";
import { launchBrowser, PHONE } from "./browser";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** Long enough for the page to load and join before the start, short enough for a test. */
const STARTS_IN_S = 20;

function runDemo(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      join(ROOT, "node_modules/.bin/tsx"),
      ["scripts/cli/sale.ts", "demo", "--url", workerUrl(), "--starts-in", String(STARTS_IN_S), "--json"],
      { cwd: ROOT, env: { ...process.env, ADMIN_TOKEN: adminToken() } },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

let browser: Browser;
let context: BrowserContext;
let demo: Demo;

beforeAll(async () => {
  const run = await runDemo();
  expect(run.code, run.stderr).toBe(0);
  demo = JSON.parse(run.stdout);
  browser = await launchBrowser();
});

afterAll(async () => {
  await context?.close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  if (demo?.sale_id) rmSync(join(DIST, "sales", demo.sale_id), { recursive: true, force: true });
});

const waitForPhase = (page: import("playwright-core").Page, phases: string[], timeout: number) =>
  page.waitForFunction((want) => want.includes(document.getElementById("panel")?.dataset.phase ?? ""), phases, {
    timeout,
    polling: 100,
  });

describe("the one-command demo", () => {
  it("prints a sign-in link per test shopper with the session in the fragment, and the dashboard's address", () => {
    expect(demo.shoppers).toHaveLength(3);
    expect(new Set(demo.shoppers.map((s) => s.user_id)).size).toBe(3);
    for (const { link } of demo.shoppers) {
      const url = new URL(link);
      expect(url.origin + url.pathname).toBe(`${workerUrl()}/sales/${demo.sale_id}/`);
      expect(url.search).toBe("");
      expect(url.hash).toMatch(/^#session=[\w-]+\.[\w-]+\.[\w-]+$/);
    }
    expect(demo.dashboard_url).toBe(`${workerUrl()}/admin/`);
  });

  it("signs a shopper in from the link, joins the queue, and buys once the sale starts", async () => {
    context = await browser.newContext(PHONE);
    const page = await context.newPage();
    const sessionSent: string[] = [];
    page.on("request", (r) => {
      if (r.url().includes("session=")) sessionSent.push(r.url());
    });
    await page.goto(demo.shoppers[0]!.link, { waitUntil: "load", timeout: 20_000 });
    await waitForPhase(page, ["open"], 15_000);
    // Saved, then taken out of the address bar; never sent to the server.
    expect(page.url()).toBe(demo.page_url);
    expect(await page.evaluate(() => localStorage.getItem("flashsale.session"))).toBe(
      demo.shoppers[0]!.link.split("#session=")[1],
    );
    await page.locator("#panel-action").click();
    await waitForPhase(page, ["waiting", "ready", "admitted"], 15_000);
    expect(Date.now(), "the sale started before the shopper joined: raise STARTS_IN_S").toBeLessThan(
      Date.parse(demo.starts_at),
    );
    await waitForPhase(page, ["admitted"], STARTS_IN_S * 1000 + 15_000);
    await page.locator("button.buy").first().click();
    await waitForPhase(page, ["reserved"], 15_000);
    expect(sessionSent).toEqual([]);
  });
});
