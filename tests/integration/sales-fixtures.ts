/** Sale definitions for the sales tests: valid unless a test breaks them on purpose. */
import { admin, uniq } from "./helpers";

export const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

export function saleBody(overrides: Record<string, unknown> = {}) {
  return {
    name: uniq("sale"),
    start_time: inSeconds(3600),
    end_time: inSeconds(7200),
    items: [
      { sku_id: "PHONE-1", name: "Phone", flash_price: "499.00", original_price: "999.00", total_stock: 1000 },
      { sku_id: "CASE-1", name: "Case", flash_price: 5, original_price: 20, total_stock: 55, per_user_limit: 1 },
    ],
    ...overrides,
  };
}

/** Creates a sale through the admin API and returns its answer. */
export async function createSale(overrides: Record<string, unknown> = {}) {
  const res = await admin("/sales", { body: saleBody(overrides) });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { sale_id: string; name: string; [k: string]: any };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
