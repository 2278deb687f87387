/**
 * The whole local stack in one call: real Redis and Postgres (found or started), the
 * Upstash REST bridge and the Neon WebSocket proxy in front of them, the database
 * migrated, the sale pages built, and the Worker in workerd. `npm start` and the
 * integration tests both use it, so tests run exactly what a developer runs.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { buildSite } from "../../static-site/build";
import { applyMigrations, ensureDatabase } from "../db/migrate";
import { useLocalNeonProxy } from "../db/neon-node";
import { postgresAddress, type StackConfig, upstashPort } from "./config";
import { startNeonWsProxy } from "./neon-ws-proxy";
import { ensurePostgres, ensureRedis } from "./services";
import { startUpstashBridge } from "./upstash-bridge";
import { PROJECT_ROOT, startWorker } from "./worker-process";

export type RunningStack = {
  config: StackConfig;
  workerUrl: string | null;
  started: string[];
  /** Fault injection for tests: take a dependency away from the Worker, or give it back. */
  setAvailable(dependency: "redis" | "postgres", available: boolean): void;
  stop(): Promise<void>;
};

export type StackOptions = {
  config: StackConfig;
  /** Run the Worker too (false: only services and bridges, for client-level tests). */
  worker: boolean;
  /** Extra Worker variables (tests shorten clocks, switch features). */
  vars?: Record<string, string>;
  echoWorker?: boolean;
  /**
   * Fire the Worker's cron every minute, as Cloudflare would (wrangler dev does not):
   * pre-warming, reservation expiry and the order outbox drain then happen by themselves.
   * Tests leave it off and trigger the cron when they mean to.
   */
  cron?: boolean;
  stateDir?: string;
  log?: (line: string) => void;
};

export async function startStack(options: StackOptions): Promise<RunningStack> {
  const { config } = options;
  const log = options.log ?? (() => undefined);
  const stops: Array<() => Promise<void>> = [];
  const started: string[] = [];
  const stateDir = options.stateDir ?? join(PROJECT_ROOT, ".stack");
  mkdirSync(stateDir, { recursive: true });
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  };

  try {
    log("checking Redis and Postgres");
    const redis = await ensureRedis(config.redisUrl);
    if (redis) {
      stops.push(redis.stop);
      started.push(redis.what);
    }
    const pg = postgresAddress(config.databaseUrl);
    const postgres = await ensurePostgres(pg.host, pg.port, join(stateDir, "pglite"));
    if (postgres) {
      stops.push(postgres.stop);
      started.push(postgres.what);
    }

    const bridge = await startUpstashBridge({
      redisUrl: config.redisUrl,
      token: config.upstashToken,
      port: upstashPort(config),
    });
    stops.push(bridge.close);
    started.push(`Upstash REST bridge on ${bridge.url} -> ${config.redisUrl}`);

    const proxy = await startNeonWsProxy({ port: config.neonProxyPort, postgresHost: pg.host, postgresPort: pg.port });
    stops.push(proxy.close);
    started.push(`Neon WebSocket proxy on 127.0.0.1:${proxy.port} -> ${pg.host}:${pg.port}`);
    useLocalNeonProxy(proxy.port);

    log("applying migrations");
    await ensureDatabase(config.databaseUrl);
    await applyMigrations(config.databaseUrl);

    let workerUrl: string | null = null;
    if (options.worker) {
      log("building sale pages");
      await buildSite({ apiBase: "" });
      log("starting the Worker in workerd (wrangler dev)");
      const worker = await startWorker({
        port: config.workerPort,
        persistTo: join(stateDir, "wrangler"),
        echo: options.echoWorker,
        vars: {
          ENVIRONMENT: "development",
          UPSTASH_REDIS_REST_URL: bridge.url,
          UPSTASH_REDIS_REST_TOKEN: config.upstashToken,
          DATABASE_URL: config.databaseUrl,
          NEON_LOCAL_WS_PROXY: `127.0.0.1:${proxy.port}/v1`,
          ADMIN_TOKEN: config.adminToken,
          ...options.vars,
        },
      });
      stops.push(worker.stop);
      workerUrl = worker.url;
      started.push(`Worker (wrangler dev, pid ${worker.pid}) on ${worker.url}`);
      if (options.cron) {
        const fire = () =>
          fetch(`${worker.url}/cdn-cgi/local/scheduled`)
            .then((r) => r.arrayBuffer())
            .catch(() => undefined);
        const timer = setInterval(fire, 60_000);
        stops.push(async () => clearInterval(timer));
        started.push("the every-minute cron (pre-warm, expiry, order outbox), fired locally");
      }
    }
    const setAvailable = (dependency: "redis" | "postgres", available: boolean) =>
      (dependency === "redis" ? bridge : proxy).setAvailable(available);
    return { config, workerUrl, started, setAvailable, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
