import { createApp } from "./app";

export { SaleQueue } from "../durable-objects/sale-queue";

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
