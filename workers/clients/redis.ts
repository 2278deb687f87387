import { Redis } from "@upstash/redis/cloudflare";
import { BUDGETS } from "../config";

export type { Redis };

/**
 * The Upstash REST client the whole edge uses. Responses stay raw strings
 * (`automaticDeserialization: false`) so each caller parses its own shape once, at its
 * boundary. A bounded timeout and a single retry keep a dead Redis from hanging a
 * request: the caller turns the failure into 503 + Retry-After. The retry is safe for
 * the purchase script because it is idempotent on the request id.
 */
export function createRedis(env: Pick<Env, "UPSTASH_REDIS_REST_URL" | "UPSTASH_REDIS_REST_TOKEN">): Redis {
  return new Redis({
    url: env.UPSTASH_REDIS_REST_URL,
    token: env.UPSTASH_REDIS_REST_TOKEN,
    automaticDeserialization: false,
    enableTelemetry: false,
    // A function, not a signal: the client then throws on abort instead of returning
    // the abort reason as if it were a result.
    signal: () => AbortSignal.timeout(BUDGETS.redisTimeoutMs),
    retry: { retries: 1, backoff: () => 50 },
  });
}

/**
 * With automatic deserialization off, HGETALL comes back as Redis sends it: a flat
 * [field, value, ...] list. This turns it into a record; an empty hash is null.
 */
export function hashFromReply(raw: unknown): Record<string, string> | null {
  if (raw === null || raw === undefined) return null;
  if (Array.isArray(raw)) {
    if (raw.length === 0) return null;
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < raw.length; i += 2) out[String(raw[i])] = String(raw[i + 1]);
    return out;
  }
  if (typeof raw === "object") return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, String(v)]));
  return null;
}

/**
 * Every key matching `pattern`, batch by batch (SCAN, so Redis is never blocked). For
 * admin work and the cron only: never on a shopper's path.
 */
export async function* scanKeys(redis: Pick<Redis, "scan">, pattern: string): AsyncGenerator<string[]> {
  let cursor: string | number = "0";
  do {
    const [next, batch] = (await redis.scan(cursor, { match: pattern, count: 500 })) as [string | number, string[]];
    cursor = next;
    if (batch.length > 0) yield batch;
  } while (String(cursor) !== "0");
}
