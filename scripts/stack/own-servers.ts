/**
 * A Redis and a Postgres of a test's own, for fault tests that crash and restart them:
 * each on a free port with its data in a temp dir, each stoppable and startable again
 * on the same port and data, and each stopped by its own pid (never by name).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { redisAnswers, tcpAnswers, waitFor } from "./services";
import { freePort } from "./worker-process";

export type OwnRedis = {
  url: string;
  port: number;
  dir: string;
  pid(): number | null;
  /** SIGKILL: a crash, no chance to flush anything not already on disk. */
  crash(): Promise<void>;
  /** Starts it again on the same port and data dir (it replays its AOF). */
  start(): Promise<void>;
  /** SIGSTOP / SIGCONT: Redis hangs (connections stay open, nothing answers), then resumes. */
  freeze(frozen: boolean): void;
  /** Stops it and deletes its data. */
  remove(): Promise<void>;
};

function waitExit(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill(signal);
  });
}

/**
 * A redis-server of the caller's own. Durable (the default): `appendonly yes` and
 * `appendfsync always`, every acknowledged write on disk, for crash tests. Not durable:
 * memory only, as fast as the machine's shared Redis, for a hermetic test stack.
 */
export async function startOwnRedis(options: { durable?: boolean } = {}): Promise<OwnRedis> {
  const durable = options.durable ?? true;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "flashsale-redis-"));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  const start = async () => {
    if (child) return;
    // biome-ignore format: one option and its value per line
    const args = [
      "--port", String(port), "--bind", "127.0.0.1", "--dir", dir,
      "--appendonly", durable ? "yes" : "no", "--appendfsync", "always", "--save", "",
    ];
    const started = spawn("redis-server", args, { stdio: "ignore" });
    child = started;
    started.once("exit", () => {
      if (child === started) child = null;
    });
    await waitFor(() => redisAnswers(url), `redis-server on ${port}`);
  };
  const crash = async () => {
    if (child) await waitExit(child, "SIGKILL");
    child = null;
  };
  await start();
  return {
    url,
    port,
    dir,
    pid: () => child?.pid ?? null,
    crash,
    start,
    freeze(frozen) {
      child?.kill(frozen ? "SIGSTOP" : "SIGCONT");
    },
    async remove() {
      if (child) child.kill("SIGCONT");
      await crash();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type OwnPostgres = {
  /** postgres://postgres@127.0.0.1:<port>/<database> */
  databaseUrl: string;
  port: number;
  dir: string;
  /** The postmaster's pid while it runs. */
  pid(): number | null;
  /** `pg_ctl stop -m immediate`: the server quits without a checkpoint, as a crash would. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and deletes its cluster. */
  remove(): Promise<void>;
};

function postgresBin(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(root, v, "bin", "initdb"))) return join(root, v, "bin");
  const onPath = spawnSync("sh", ["-c", "command -v initdb"], { encoding: "utf8" }).stdout.trim();
  if (onPath) return onPath.replace(/\/initdb$/, "");
  throw new Error("initdb was not found (Debian: apt-get install postgresql)");
}

/** uid and gid of the `postgres` account: initdb refuses to run as root. */
function postgresAccount(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"));
  if (!line) throw new Error("running as root and there is no postgres account to run initdb as");
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * A throw-away Postgres cluster (initdb, trust auth, user `postgres`) on a free port,
 * run with pg_ctl. As root it runs as the `postgres` account (runuser), in a temp dir
 * that account owns.
 */
export async function startOwnPostgres(database = "flashsale"): Promise<OwnPostgres> {
  const bin = postgresBin();
  const account = postgresAccount();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "flashsale-pg-"));
  const data = join(dir, "data");
  const sockets = join(dir, "sockets");
  mkdirSync(sockets);
  if (account) {
    chownSync(dir, account.uid, account.gid);
    chownSync(sockets, account.uid, account.gid);
  }
  const run = (tool: string, args: string[]) => {
    const [command, argv] = account
      ? ["runuser", ["-u", "postgres", "--", join(bin, tool), ...args]]
      : [join(bin, tool), args];
    const result = spawnSync(command, argv, { encoding: "utf8", timeout: 60_000 });
    if (result.status !== 0) throw new Error(`${tool} ${args.join(" ")} failed: ${result.stderr || result.stdout}`);
  };
  run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
  const start = async () => {
    // fsync off: a killed server loses nothing the kernel holds; only a machine crash would.
    const options = `-p ${port} -k ${sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
    run("pg_ctl", ["start", "-D", data, "-w", "-t", "30", "-l", join(dir, "server.log"), "-o", options]);
    await waitFor(() => tcpAnswers("127.0.0.1", port), `postgres on ${port}`);
  };
  const pid = () => {
    const file = join(data, "postmaster.pid");
    if (!existsSync(file)) return null;
    return Number(readFileSync(file, "utf8").split("\n")[0]) || null;
  };
  const stop = async () => {
    if (pid() === null) return;
    run("pg_ctl", ["stop", "-D", data, "-m", "immediate", "-w", "-t", "30"]);
  };
  await start();
  return {
    databaseUrl: `postgres://postgres@127.0.0.1:${port}/${database}`,
    port,
    dir,
    pid,
    stop,
    start,
    async remove() {
      await stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
