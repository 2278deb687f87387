/** A sale for the end-to-end tests: created and pre-warmed through the admin API, its page published. */
import { type BuildResult, buildSite } from "../../static-site/build";
import { admin } from "../integration/fixtures/api";

export async function publishSale(
  definition: Record<string, unknown>,
): Promise<{ saleId: string; build: BuildResult }> {
  const created = await admin("/sales", { body: definition });
  if (created.status !== 201) throw new Error(`creating the sale: ${created.status} ${JSON.stringify(created.body)}`);
  const saleId: string = created.body.sale_id;
  const warm = await admin(`/sales/${saleId}/prewarm`, { method: "POST" });
  if (warm.status !== 200) throw new Error(`prewarming the sale: ${warm.status} ${JSON.stringify(warm.body)}`);
  const sale = await admin(`/sales/${saleId}`);
  // The page is published while the stack runs, as `npm run sale -- deploy` does.
  const build = await buildSite({ apiBase: "", sales: [sale.body], captcha: "off" });
  return { saleId, build };
}
