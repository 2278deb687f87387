/**
 * Where the local stack lives: the defaults in docs/api.md "Local defaults",
 * each overridable by the environment variable of the same name.
 */
export type StackConfig = {
  redisUrl: string;
  databaseUrl: string;
  upstashUrl: string;
  upstashToken: string;
  neonProxyPort: number;
  workerPort: number;
  adminToken: string;
};

function portOf(url: string, fallback: number): number {
  const port = new URL(url).port;
  return port ? Number(port) : fallback;
}

export function stackConfigFromEnv(env: NodeJS.ProcessEnv = process.env): StackConfig {
  const upstashUrl = env.UPSTASH_REDIS_REST_URL ?? "http://127.0.0.1:8079";
  return {
    redisUrl: env.REDIS_URL ?? "redis://127.0.0.1:6379",
    databaseUrl: env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/flashsale",
    upstashUrl,
    upstashToken: env.UPSTASH_REDIS_REST_TOKEN ?? "dev-upstash-token",
    neonProxyPort: Number(env.NEON_WS_PROXY_PORT ?? 5433),
    workerPort: Number(env.PORT ?? 8787),
    adminToken: env.ADMIN_TOKEN ?? "dev-admin-token",
  };
}

export function upstashPort(config: StackConfig): number {
  return portOf(config.upstashUrl, 8079);
}

export function postgresAddress(databaseUrl: string): { host: string; port: number; database: string; user: string } {
  const url = new URL(databaseUrl);
  return {
    host: url.hostname || "127.0.0.1",
    port: url.port ? Number(url.port) : 5432,
    database: url.pathname.replace(/^\//, "") || "postgres",
    user: decodeURIComponent(url.username || "postgres"),
  };
}
