import { createApp } from "./app";
import { runOrderMaintenance } from "./orders/maintenance";
import { salesCron } from "./sales/prewarm";

export { SaleQueue } from "../durable-objects/sale-queue";

const app = createApp();

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(salesCron(env));
    ctx.waitUntil(runOrderMaintenance(env));
  },
} satisfies ExportedHandler<Env>;
