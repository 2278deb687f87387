/**
 * Headless Chromium for the end-to-end tests: the system's own browser (Debian's
 * `chromium`), never one downloaded by a tool. Each launch gets a fresh profile.
 */
import { execFileSync } from "node:child_process";
import { type Browser, type BrowserContextOptions, chromium, type Page } from "playwright-core";

export function chromiumPath(): string | null {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  try {
    return (
      execFileSync("sh", ["-c", "command -v chromium || command -v chromium-browser"], { encoding: "utf8" }).trim() ||
      null
    );
  } catch {
    return null;
  }
}

export async function launchBrowser(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath)
    throw new Error("No Chromium on PATH: install it with `apt-get install -y chromium` (or set CHROMIUM_PATH).");
  return chromium.launch({
    executablePath,
    // Playwright gives every launch a fresh temporary --user-data-dir of its own.
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
    timeout: 30_000,
  });
}

export const PHONE: BrowserContextOptions = {
  viewport: { width: 360, height: 740 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
  userAgent:
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Mobile Safari/537.36",
};

export const DESKTOP: BrowserContextOptions = { viewport: { width: 1024, height: 900 }, deviceScaleFactor: 1 };

/**
 * Makes the device's wall clock wrong by `skewMs` (Date.now and new Date()), as a phone
 * set to the wrong time would be. The monotonic clock is left alone, as a device's is.
 */
export async function skewDeviceClock(page: Page, skewMs: number): Promise<void> {
  await page.addInitScript((skew: number) => {
    const RealDate = Date;
    class SkewedDate extends RealDate {
      constructor(...args: unknown[]) {
        if (args.length === 0) super(RealDate.now() + skew);
        else super(...(args as [string]));
      }
      static override now() {
        return RealDate.now() + skew;
      }
    }
    (globalThis as { Date: DateConstructor }).Date = SkewedDate as DateConstructor;
  }, skewMs);
}

/** Sums layout shifts not caused by input, as Core Web Vitals' CLS does. */
export async function recordLayoutShifts(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __cls: number; __shifts: unknown[] };
    w.__cls = 0;
    w.__shifts = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries() as Array<
        PerformanceEntry & { value: number; hadRecentInput: boolean; sources?: Array<{ node?: Node }> }
      >) {
        if (e.hadRecentInput) continue;
        w.__cls += e.value;
        w.__shifts.push({
          value: e.value,
          at: e.startTime,
          nodes: (e.sources ?? []).map((s) => (s.node as Element | undefined)?.outerHTML?.slice(0, 80)),
        });
      }
    }).observe({ type: "layout-shift", buffered: true });
  });
}
