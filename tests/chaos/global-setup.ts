/**
 * The chaos suite's stack: a redis-server of its own (AOF, fsync on every write) and a
 * Postgres cluster of its own (initdb, pg_ctl), both on free ports in temp dirs, with
 * the Upstash bridge, the Neon proxy and the Worker in front of them. Tests break parts
 * of it through a small local control server; everything started here is stopped here,
 * by pid.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { stackConfigFromEnv } from "../../scripts/stack/config";
import { startOwnPostgres, startOwnRedis } from "../../scripts/stack/own-servers";
import { type StackPart, startStack } from "../../scripts/stack/stack";
import { freePort } from "../../scripts/stack/worker-process";

declare module "vitest" {
  export interface ProvidedContext {
    /** POST {faultUrl}/{fault}: see FAULTS below. */
    faultUrl: string;
    postgresPort: number;
  }
}

export default async function setup(project: TestProject) {
  const redis = await startOwnRedis();
  const postgres = await startOwnPostgres();
  const stateDir = mkdtempSync(join(tmpdir(), "flashsale-chaos-"));
  const upstashPort = await freePort();
  const config = {
    ...stackConfigFromEnv({} as NodeJS.ProcessEnv),
    redisUrl: redis.url,
    databaseUrl: postgres.databaseUrl,
    upstashUrl: `http://127.0.0.1:${upstashPort}`,
    neonProxyPort: await freePort(),
    workerPort: await freePort(),
  };
  let stack: Awaited<ReturnType<typeof startStack>>;
  try {
    stack = await startStack({ config, worker: true, stateDir });
  } catch (err) {
    await redis.remove();
    await postgres.remove();
    throw err;
  }

  const part = (p: StackPart, alive: boolean) => () => (alive ? stack.revive(p) : stack.kill(p));
  const FAULTS: Record<string, () => Promise<void> | void> = {
    "redis-crash": () => redis.crash(),
    "redis-start": () => redis.start(),
    "redis-freeze": () => redis.freeze(true),
    "redis-thaw": () => redis.freeze(false),
    "postgres-stop": () => postgres.stop(),
    "postgres-start": () => postgres.start(),
    "bridge-kill": part("bridge", false),
    "bridge-revive": part("bridge", true),
    "proxy-kill": part("proxy", false),
    "proxy-revive": part("proxy", true),
    "worker-kill": part("worker", false),
    "worker-revive": part("worker", true),
  };
  const control = createServer((req, res) => {
    const fault = FAULTS[(req.url ?? "").slice(1)];
    if (req.method !== "POST" || !fault) {
      res.writeHead(404).end();
      return;
    }
    Promise.resolve()
      .then(fault)
      .then(
        () => res.writeHead(204).end(),
        (err) => res.writeHead(500).end(String(err)),
      );
  });
  await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", () => resolve()));
  const address = control.address();

  project.provide("faultUrl", `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`);
  project.provide("workerUrl", stack.workerUrl!);
  project.provide("upstashUrl", config.upstashUrl);
  project.provide("upstashToken", config.upstashToken);
  project.provide("redisUrl", config.redisUrl);
  project.provide("databaseUrl", config.databaseUrl);
  project.provide("neonProxyPort", config.neonProxyPort);
  project.provide("adminToken", config.adminToken);
  project.provide("postgresPort", postgres.port);

  return async () => {
    control.close();
    redis.freeze(false);
    await stack.stop();
    await redis.remove();
    await postgres.remove();
    rmSync(stateDir, { recursive: true, force: true });
  };
}
