import { Redis } from "@upstash/redis/cloudflare";
import { BUDGETS } from "../config";
import { breakers, type CircuitBreaker } from "./breaker";

export type { Redis };

/**
 * Redis replies that mean "not serving right now" rather than "your command is wrong":
 * a Redis loading its AOF, a replica, a busy script, or the REST gateway's own link to
 * Redis gone. Only the reply's text is read, never the command it echoes back.
 */
const REDIS_DOWN =
  /^(LOADING|MASTERDOWN|READONLY|BUSY|TRYAGAIN|CLUSTERDOWN)\b|connection is closed|ECONNREFUSED|ECONNRESET|max retries|stream isn't writeable|timed? ?out/i;

/**
 * Whether a failed Redis call means Redis is down or too slow. A command error (WRONGTYPE,
 * NOSCRIPT, a script's own error) proves Redis answered; a network error, a timeout or a
 * gateway page that is not Upstash's JSON does not.
 */
export function isRedisOutage(err: unknown): boolean {
  if (!(err instanceof Error)) return true;
  if (err.name === "UpstashJSONParseError") return true;
  if (err.name !== "UpstashError") return true;
  const reply = err.message.split(", command was:")[0] ?? "";
  return REDIS_DOWN.test(reply);
}

/**
 * The Upstash client with every request (single commands, pipelines, the auto-pipeline's
 * batches, EVALSHA and its EVAL fallback) passed through a circuit breaker.
 */
class GuardedRedis extends Redis {
  constructor(config: ConstructorParameters<typeof Redis>[0], breaker: CircuitBreaker) {
    super(config);
    // `client` is read on every command and every new pipeline, so replacing its request
    // here covers all of them, the auto-pipeline included.
    const transport = this.client;
    const request = transport.request.bind(transport);
    transport.request = (req) => breaker.run(() => request(req), isRedisOutage);
  }
}

/**
 * The Upstash REST client the whole edge uses. Responses stay raw strings
 * (`automaticDeserialization: false`) so each caller parses its own shape once, at its
 * boundary. A bounded timeout and a single retry keep a dead Redis from hanging a
 * request, and the isolate's breaker stops waiting on a Redis found down: the caller
 * turns either failure into 503 + Retry-After. The retry is safe for the purchase
 * script because it is idempotent on the request id.
 */
export function createRedis(
  env: Pick<Env, "UPSTASH_REDIS_REST_URL" | "UPSTASH_REDIS_REST_TOKEN">,
  breaker: CircuitBreaker = breakers.redis,
): Redis {
  return new GuardedRedis(
    {
      url: env.UPSTASH_REDIS_REST_URL,
      token: env.UPSTASH_REDIS_REST_TOKEN,
      automaticDeserialization: false,
      enableTelemetry: false,
      // A function, not a signal: the client then throws on abort instead of returning
      // the abort reason as if it were a result.
      signal: () => AbortSignal.timeout(BUDGETS.redisTimeoutMs),
      retry: { retries: 1, backoff: () => 50 },
    },
    breaker,
  );
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
 * With automatic deserialization off, HMGET comes back as Redis sends it: the values in the
 * order the fields were asked for, null where a field is missing. Always `count` long.
 */
export function fieldsFromReply(raw: unknown, count: number): (string | null)[] {
  const values = Array.isArray(raw) ? raw : [];
  return Array.from({ length: count }, (_, i) => (values[i] == null ? null : String(values[i])));
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
