/**
 * On the local stack a created sale's page appears by itself (docs/page.md "Local
 * stack"): every couple of seconds the stack asks its own admin API for the sales and
 * pre-renders the ones `static-site/dist` has no page for. `wrangler dev` serves pages
 * written after it started, so no deploy and no restart is needed. Production never runs
 * this: there `npm run sale -- deploy` publishes pages with the Worker.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { buildSite, DIST, type SaleForPage } from "../../static-site/build";

export type PublishTarget = { url: string; adminToken: string; dist?: string };

/** One pass: pre-renders every sale without a page yet; returns their ids. */
export async function publishNewSales(target: PublishTarget): Promise<string[]> {
  const res = await fetch(`${target.url}/api/v1/admin/sales`, {
    headers: { authorization: `Bearer ${target.adminToken}` },
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`GET /api/v1/admin/sales answered ${res.status}`);
  const { sales } = (await res.json()) as { sales: SaleForPage[] };
  const dist = target.dist ?? DIST;
  const missing = sales.filter((s) => !existsSync(join(dist, "sales", s.sale_id, "index.html")));
  // The local Worker runs with CAPTCHA_MODE=off (.dev.vars): its pages carry no widget.
  if (missing.length > 0) await buildSite({ apiBase: "", sales: missing, captcha: "off", dist });
  return missing.map((s) => s.sale_id);
}

/** Runs `publishNewSales` every `intervalMs` until stopped; a failed pass is logged and retried. */
export function startPagePublisher(target: PublishTarget & { intervalMs?: number; log: (line: string) => void }): {
  stop(): Promise<void>;
} {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let lastError = "";
  const pass = async () => {
    try {
      for (const id of await publishNewSales(target)) target.log(`published the page of sale ${id}: /sales/${id}/`);
      lastError = "";
    } catch (err) {
      const message = (err as Error).message;
      if (message !== lastError) target.log(`page publisher: ${message} (retrying)`);
      lastError = message;
    }
  };
  const tick = () => {
    running = pass().finally(() => {
      if (!stopped) timer = setTimeout(tick, target.intervalMs ?? 2_000);
    });
  };
  tick();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
