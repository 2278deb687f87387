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

/** The parts of the stack a fault test can kill and start again, on the same port. */
export type StackPart = "bridge" | "proxy" | "worker";

export type RunningStack = {
  config: StackConfig;
  workerUrl: string | null;
  started: string[];
  /** Fault injection for tests: take a dependency away from the Worker, or give it back. */
  setAvailable(dependency: "redis" | "postgres", available: boolean): void;
  /**
   * Fault injection for tests: stop a part at once (open connections are cut, the port
   * refuses), as a crash would. The Worker's whole process group is killed, so its
   * isolates and Durable Objects are evicted; their storage stays in `stateDir`.
   */
  kill(part: StackPart): Promise<void>;
  /** Starts a killed part again on its old port, with its old settings. */
  revive(part: StackPart): Promise<void>;
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

    const startBridge = (port: number) =>
      startUpstashBridge({ redisUrl: config.redisUrl, token: config.upstashToken, port });
    let bridge: Awaited<ReturnType<typeof startBridge>> | null = await startBridge(upstashPort(config));
    const bridgePort = bridge.port;
    stops.push(async () => bridge?.close());
    started.push(`Upstash REST bridge on ${bridge.url} -> ${config.redisUrl}`);

    const startProxy = (port: number) => startNeonWsProxy({ port, postgresHost: pg.host, postgresPort: pg.port });
    let proxy: Awaited<ReturnType<typeof startProxy>> | null = await startProxy(config.neonProxyPort);
    const proxyPort = proxy.port;
    stops.push(async () => proxy?.close());
    started.push(`Neon WebSocket proxy on 127.0.0.1:${proxy.port} -> ${pg.host}:${pg.port}`);
    useLocalNeonProxy(proxy.port);

    log("applying migrations");
    await ensureDatabase(config.databaseUrl);
    await applyMigrations(config.databaseUrl);

    let workerUrl: string | null = null;
    let worker: Awaited<ReturnType<typeof startWorker>> | null = null;
    const workerOptions = {
      port: config.workerPort,
      url: `http://127.0.0.1:${config.workerPort}`,
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
    };
    if (options.worker) {
      log("building sale pages");
      await buildSite({ apiBase: "" });
      log("starting the Worker in workerd (wrangler dev)");
      worker = await startWorker(workerOptions);
      stops.push(async () => worker?.stop());
      workerUrl = worker.url;
      started.push(`Worker (wrangler dev, pid ${worker.pid}) on ${worker.url}`);
      if (options.cron) {
        const fire = () =>
          fetch(`${workerOptions.url}/cdn-cgi/local/scheduled`)
            .then((r) => r.arrayBuffer())
            .catch(() => undefined);
        const timer = setInterval(fire, 60_000);
        stops.push(async () => clearInterval(timer));
        started.push("the every-minute cron (pre-warm, expiry, order outbox), fired locally");
      }
    }
    const setAvailable = (dependency: "redis" | "postgres", available: boolean) =>
      (dependency === "redis" ? bridge : proxy)?.setAvailable(available);
    const kill = async (part: StackPart) => {
      if (part === "bridge") await bridge?.close();
      if (part === "proxy") await proxy?.close();
      if (part === "worker") await worker?.stop();
      if (part === "bridge") bridge = null;
      if (part === "proxy") proxy = null;
      if (part === "worker") worker = null;
    };
    const revive = async (part: StackPart) => {
      if (part === "bridge") bridge ??= await startBridge(bridgePort);
      if (part === "proxy") proxy ??= await startProxy(proxyPort);
      if (part === "worker" && options.worker) worker ??= await startWorker(workerOptions);
    };
    return { config, workerUrl, started, setAvailable, kill, revive, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
