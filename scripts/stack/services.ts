/**
 * Finds Redis and Postgres where the stack expects them, or starts them where it can:
 * `redis-server` from PATH, and an embedded PGlite (Postgres compiled to WebAssembly)
 * speaking the wire protocol when no Postgres answers. Anything it starts, it stops.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { connect } from "node:net";
import { Redis as IORedis } from "ioredis";

export type Started = { what: string; stop(): Promise<void> };

export function tcpAnswers(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export async function redisAnswers(redisUrl: string): Promise<boolean> {
  const client = new IORedis(redisUrl, {
    lazyConnect: true,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not come up within ${timeoutMs / 1000} s`);
}

function onPath(binary: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${binary}`], { stdio: "ignore" }).status === 0;
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
  });
}

/** Uses the Redis at `redisUrl`, or starts `redis-server` there (in memory only). */
export async function ensureRedis(redisUrl: string): Promise<Started | null> {
  if (await redisAnswers(redisUrl)) return null;
  const url = new URL(redisUrl);
  if (!["127.0.0.1", "localhost"].includes(url.hostname) || !onPath("redis-server")) {
    throw new Error(
      `No Redis answers at ${redisUrl}; start one there (Debian: apt-get install redis-server) or set REDIS_URL.`,
    );
  }
  const port = url.port || "6379";
  const child = spawn("redis-server", ["--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  await waitFor(() => redisAnswers(redisUrl), "redis-server");
  return { what: `redis-server (pid ${child.pid}) on 127.0.0.1:${port}`, stop: () => stopChild(child) };
}

/** Uses the Postgres at host:port, or serves an embedded PGlite there. */
export async function ensurePostgres(host: string, port: number, dataDir: string): Promise<Started | null> {
  if (await tcpAnswers(host, port)) return null;
  if (!["127.0.0.1", "localhost"].includes(host)) {
    throw new Error(`No Postgres answers at ${host}:${port}; start it or set DATABASE_URL.`);
  }
  try {
    const { PGlite } = await import("@electric-sql/pglite");
    const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
    mkdirSync(dataDir, { recursive: true });
    const db = await PGlite.create(dataDir);
    // The Worker opens several connections at once (one pool per request); PGlite runs
    // their queries one at a time, which is fine for one developer.
    const server = new PGLiteSocketServer({ db, port, host: "127.0.0.1", maxConnections: 64 });
    await server.start();
    return {
      what: `embedded PGlite on 127.0.0.1:${port} (data in ${dataDir})`,
      async stop() {
        await server.stop();
        await db.close();
      },
    };
  } catch (err) {
    throw new Error(
      `No Postgres answers at ${host}:${port} and PGlite could not start (${(err as Error).message}); ` +
        `start PostgreSQL there (Debian: apt-get install postgresql) or set DATABASE_URL.`,
    );
  }
}
