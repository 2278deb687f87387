/**
 * What a sale page is built from: a sale as the admin API returns it (docs/api.md "Admin routes", "POST
 * /sales" and "GET /sales"), checked and reduced to the page's config. A sale that
 * would render a broken page (no items, unreadable times) is refused at build time.
 */
import type { PageConfig, PageItem } from "./src/config";

/** A sale definition as the admin API returns it; extra fields are ignored. */
export type SaleForPage = {
  sale_id: string;
  name: string;
  status?: string;
  start_time: string;
  end_time: string;
  pre_queue_minutes?: number;
  items: Array<{
    sku_id: string;
    name: string;
    flash_price: string | number;
    original_price: string | number;
    total_stock: number;
    remaining?: number | null;
    per_user_limit?: number;
  }>;
};

export type PageOptions = {
  apiBase: string;
  currency: string;
  captcha: PageConfig["captcha"];
};

const DEFAULT_PRE_QUEUE_MINUTES = 5;
const DEFAULT_PER_USER_LIMIT = 2;

/** Money as the contract's two-place decimal string, whatever the source gave. */
function money(v: string | number): string {
  return typeof v === "number" ? v.toFixed(2) : v;
}

/** Only characters that are safe in a URL path segment and a directory name. */
export function isSafeSaleId(id: string): boolean {
  return /^[A-Za-z0-9_-]{1,100}$/.test(id);
}

export function pageConfigFor(sale: SaleForPage, options: PageOptions): PageConfig {
  if (!isSafeSaleId(sale.sale_id)) throw new Error(`sale_id ${JSON.stringify(sale.sale_id)} cannot name a page`);
  const start = Date.parse(sale.start_time);
  const end = Date.parse(sale.end_time);
  if (!Number.isFinite(start) || !Number.isFinite(end))
    throw new Error(`sale ${sale.sale_id} has unreadable start_time/end_time`);
  if (!sale.items?.length) throw new Error(`sale ${sale.sale_id} has no items`);
  const items: PageItem[] = sale.items.map((i) => ({
    sku_id: i.sku_id,
    name: i.name,
    flash_price: money(i.flash_price),
    original_price: money(i.original_price),
    total_stock: i.total_stock,
    remaining: i.remaining ?? i.total_stock,
    per_user_limit: i.per_user_limit ?? DEFAULT_PER_USER_LIMIT,
  }));
  return {
    sale_id: sale.sale_id,
    name: sale.name,
    start_ms: start,
    end_ms: end,
    pre_queue_minutes: sale.pre_queue_minutes ?? DEFAULT_PRE_QUEUE_MINUTES,
    status: sale.status ?? "scheduled",
    currency: options.currency,
    api_base: options.apiBase,
    captcha: options.captcha,
    items,
  };
}

/** The sales a running stack knows, from GET /api/v1/admin/sales (a list, or `{ sales: [...] }`). */
export async function fetchSales(from: { url: string; adminToken: string }): Promise<SaleForPage[]> {
  const res = await fetch(`${from.url.replace(/\/$/, "")}/api/v1/admin/sales`, {
    headers: { authorization: `Bearer ${from.adminToken}` },
    signal: AbortSignal.timeout(15_000),
  });
  if (!res.ok) throw new Error(`GET /api/v1/admin/sales answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
  const body = (await res.json()) as unknown;
  const list = Array.isArray(body) ? body : (body as { sales?: unknown }).sales;
  if (!Array.isArray(list)) throw new Error("GET /api/v1/admin/sales did not return a list of sales");
  return list as SaleForPage[];
}
