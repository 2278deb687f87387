/**
 * The Worker as the local stack runs it (`wrangler dev scripts/stack/dev-worker.ts`): the
 * production Worker plus the routes only local tools use. Production deploys
 * workers/index.ts, which never imports this file.
 */
import { createApp } from "../../workers/app";
import worker from "../../workers/index";
import { queueBench } from "./queue-bench-route";

export { SaleQueue } from "../../workers/index";

const app = createApp((routes) => routes.route("/api/v1/flash-sale", queueBench));

export default { ...worker, fetch: app.fetch } satisfies ExportedHandler<Env>;
