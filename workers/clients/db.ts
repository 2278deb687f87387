import { neonConfig, Pool } from "@neondatabase/serverless";
import { drizzle, type NeonDatabase } from "drizzle-orm/neon-serverless";
import * as schema from "../../schema/schema";
import { BUDGETS } from "../config";
import { CircuitOpenError } from "../errors";
import { breakers, type CircuitBreaker } from "./breaker";

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
 * Passes the pool's queries and checkouts (what drizzle calls: `query` for statements,
 * `connect` for a transaction) through the isolate's Postgres breaker. Callback forms
 * are the pool's own internals and pass untouched.
 */
function guard(pool: Pool, breaker: CircuitBreaker): void {
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  pool.query = ((...args: unknown[]) =>
    typeof args.at(-1) === "function" || typeof (args[0] as { submit?: unknown })?.submit === "function"
      ? query(...args)
      : breaker.run(async () => query(...args), isPostgresOutage)) as Pool["query"];
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => unknown;
  pool.connect = ((...args: unknown[]) =>
    args.length > 0 ? connect(...args) : breaker.run(async () => connect(), isPostgresOutage)) as Pool["connect"];
}

/**
 * A pool lives for one request: Workers cannot keep sockets across requests. The caller
 * ends it with `ctx.waitUntil(pool.end())`.
 */
export function createDb(
  env: Pick<Env, "DATABASE_URL" | "NEON_LOCAL_WS_PROXY">,
  breaker: CircuitBreaker = breakers.postgres,
): { db: Database; pool: Pool } {
  configureNeon(env.NEON_LOCAL_WS_PROXY);
  const pool = new Pool({
    connectionString: env.DATABASE_URL,
    connectionTimeoutMillis: BUDGETS.postgresTimeoutMs,
    query_timeout: BUDGETS.postgresTimeoutMs,
    max: 4,
  });
  // An idle client's socket error must not become an unhandled rejection.
  pool.on("error", (err: Error) => console.error("postgres pool error", err.message));
  guard(pool, breaker);
  return { db: drizzle(pool, { schema }), pool };
}

const POSTGRES_OUTAGE =
  /connect|connection (terminated|refused|closed|lost)|network|websocket|timeout|timed out|too many clients|ECONNREFUSED|ECONNRESET|socket/i;

/**
 * Recognises a Postgres that is unreachable or saturated (as opposed to a query that is
 * wrong) anywhere in an error's cause chain: drizzle wraps driver errors, and the Neon
 * driver reports a dead WebSocket in its own words. SQLSTATE classes 08 (connection),
 * 53 (insufficient resources) and 57P (shutdown) mean the same thing.
 */
export function isPostgresOutage(err: unknown): boolean {
  // A dead WebSocket surfaces as an ErrorEvent (its `error` holds the Error), not an Error.
  const next = (e: unknown) => (e as { cause?: unknown }).cause ?? (e as { error?: unknown }).error;
  for (let e: unknown = err, depth = 0; e && typeof e === "object" && depth < 6; e = next(e), depth++) {
    if (e instanceof CircuitOpenError) return e.dependency === "postgres";
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === "string" && /^(08|53|57P)/.test(code)) return true;
    if (typeof message === "string" && POSTGRES_OUTAGE.test(message)) return true;
  }
  return false;
}
