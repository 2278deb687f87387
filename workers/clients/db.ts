import { neonConfig, Pool } from "@neondatabase/serverless";
import { drizzle, type NeonDatabase } from "drizzle-orm/neon-serverless";
import * as schema from "../../schema/schema";
import { BUDGETS } from "../config";

export type Database = NeonDatabase<typeof schema>;

/**
 * Configures the Neon driver for a local WebSocket proxy (scripts/stack/neon-ws-proxy.ts)
 * when one is named; in production the variable is empty and the driver talks to Neon.
 */
export function configureNeon(localWsProxy: string | undefined): void {
  if (!localWsProxy) return;
  neonConfig.wsProxy = () => localWsProxy;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineConnect = false;
  neonConfig.pipelineTLS = false;
}

/**
 * A pool lives for one request: Workers cannot keep sockets across requests. The caller
 * ends it with `ctx.waitUntil(pool.end())`.
 */
export function createDb(env: Pick<Env, "DATABASE_URL" | "NEON_LOCAL_WS_PROXY">): { db: Database; pool: Pool } {
  configureNeon(env.NEON_LOCAL_WS_PROXY);
  const pool = new Pool({
    connectionString: env.DATABASE_URL,
    connectionTimeoutMillis: BUDGETS.postgresTimeoutMs,
    query_timeout: BUDGETS.postgresTimeoutMs,
    max: 4,
  });
  // An idle client's socket error must not become an unhandled rejection.
  pool.on("error", (err: Error) => console.error("postgres pool error", err.message));
  return { db: drizzle(pool, { schema }), pool };
}
