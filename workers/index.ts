import { createApp } from "./app";
import { prewarmDueSales } from "./sales/prewarm";

export { SaleQueue } from "../durable-objects/sale-queue";

const app = createApp();

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(prewarmDueSales(env));
  },
} satisfies ExportedHandler<Env>;
