/**
 * The Worker as the local stack runs it (`wrangler dev scripts/stack/dev-worker.ts`): the
 * production Worker plus the routes (and the queue object's drive) only local tools use.
 * Production deploys workers/index.ts, which never imports this file.
 */
import { createApp } from "../../workers/app";
import worker from "../../workers/index";
import { queueBench } from "./queue-bench-route";

// The queue object with the benchmark's drive (bench-queue.ts), under the class name wrangler.jsonc binds.
export { BenchSaleQueue as SaleQueue } from "./bench-queue";

const app = createApp((routes) => routes.route("/api/v1/flash-sale", queueBench));

export default { ...worker, fetch: app.fetch } satisfies ExportedHandler<Env>;
