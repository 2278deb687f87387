/**
 * Brings up the real local stack once for the integration tests: real Redis and
 * Postgres behind the Upstash and Neon bridges, and the Worker in workerd, on free
 * ports, with a redis-server and a Postgres database of its own (both gone afterwards),
 * so a developer's running `npm start` and its data are left alone, and no run sees
 * (or has its cron sweep) the sales an earlier run left behind.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { dropDatabase } from "../../scripts/db/migrate";
import { stackConfigFromEnv } from "../../scripts/stack/config";
import { startOwnRedis } from "../../scripts/stack/own-servers";
import { startStack } from "../../scripts/stack/stack";
import { freePort } from "../../scripts/stack/worker-process";

declare module "vitest" {
  export interface ProvidedContext {
    workerUrl: string;
    upstashUrl: string;
    upstashToken: string;
    redisUrl: string;
    databaseUrl: string;
    neonProxyPort: number;
    adminToken: string;
    /** POST {controlUrl}/{redis|postgres}/{down|up}: fault injection between Worker and dependency. */
    controlUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const base = stackConfigFromEnv();
  const database = `flashsale_test_${process.pid}_${Date.now().toString(36)}`;
  const databaseUrl = new URL(base.databaseUrl);
  databaseUrl.pathname = `/${database}`;
  const upstashPort = await freePort();
  const redis = await startOwnRedis({ durable: false });
  const config = {
    ...base,
    redisUrl: redis.url,
    databaseUrl: databaseUrl.toString(),
    upstashUrl: `http://127.0.0.1:${upstashPort}`,
    neonProxyPort: await freePort(),
    workerPort: await freePort(),
  };
  const stateDir = mkdtempSync(join(tmpdir(), "flashsale-test-"));
  let stack: Awaited<ReturnType<typeof startStack>>;
  try {
    stack = await startStack({
      config,
      worker: true,
      stateDir,
      vars: JSON.parse(process.env.FLASHSALE_TEST_VARS ?? "{}"),
    });
  } catch (err) {
    // A stack that never came up must not leave its Redis behind.
    await redis.remove();
    throw err;
  }

  // Tests run in other processes; this tiny local server lets them cut a dependency
  // off from the Worker (and restore it) to prove the 503 and no-lost-order promises.
  const control = createServer((req, res) => {
    const match = /^\/(redis|postgres)\/(down|up)$/.exec(req.url ?? "");
    if (req.method !== "POST" || !match) {
      res.writeHead(404).end();
      return;
    }
    stack.setAvailable(match[1] as "redis" | "postgres", match[2] === "up");
    res.writeHead(204).end();
  });
  await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", () => resolve()));
  const controlAddress = control.address();
  project.provide(
    "controlUrl",
    `http://127.0.0.1:${typeof controlAddress === "object" && controlAddress ? controlAddress.port : 0}`,
  );

  project.provide("workerUrl", stack.workerUrl!);
  project.provide("upstashUrl", config.upstashUrl);
  project.provide("upstashToken", config.upstashToken);
  project.provide("redisUrl", config.redisUrl);
  project.provide("databaseUrl", config.databaseUrl);
  project.provide("neonProxyPort", config.neonProxyPort);
  project.provide("adminToken", config.adminToken);

  return async () => {
    control.close();
    await stack.stop();
    const { useLocalNeonProxy } = await import("../../scripts/db/neon-node");
    // The proxy is gone with the stack; a short-lived one lets the driver drop the database.
    const { startNeonWsProxy } = await import("../../scripts/stack/neon-ws-proxy");
    const { postgresAddress } = await import("../../scripts/stack/config");
    const pg = postgresAddress(config.databaseUrl);
    const proxy = await startNeonWsProxy({ port: 0, postgresHost: pg.host, postgresPort: pg.port });
    useLocalNeonProxy(proxy.port);
    await dropDatabase(config.databaseUrl).catch((err) => console.warn(`could not drop ${database}: ${err.message}`));
    await proxy.close();
    await redis.remove();
    rmSync(stateDir, { recursive: true, force: true });
  };
}
