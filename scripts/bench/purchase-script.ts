/**
 * The purchase decision in Redis: the project's (createPurchaseScript: purchase.lua, and
 * the crowd's path of plain commands once a SKU is seen sold out) against the seed
 * design's reference script (seed-reference.lua), in one run, on one Redis, through two
 * clients:
 *
 *   upstash-rest  the Worker's own @upstash/redis client (createRedis) through the local
 *                 Upstash REST bridge, started in this process: what the edge pays
 *   ioredis       the same commands straight over RESP on one pipelined connection: their
 *                 cost with (almost) no transport in the way
 *
 * Three scenarios, each a fresh sale: "sellout" (1,000 units, 5,000 buyers once each, so
 * 4,000 take the sold-out path), "all-reserved" (stock larger than the buyers) and
 * "sold-out" (stock 0: every click is the crowd's).
 * Commands per decision come from `INFO commandstats` before and after each run, which
 * counts commands a script makes as well as the EVALSHA itself.
 *
 * Redis: a private `redis-server` on a free port by default, because commandstats are
 * server-wide and other people's tests share 127.0.0.1:6379; BENCH_REDIS_URL points the
 * benchmark at another Redis (counts there include other clients' traffic, and the run
 * says so when it sees more EVALSHAs than it sent).
 *
 * Imports workers/purchase/purchase.ts, which imports purchase.lua as text: run through
 * scripts/bench/run.ts, which teaches Node to load .lua files first.
 */
import { spawn } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { Redis as IORedis } from "ioredis";
import { createRedis, type Redis as UpstashRedis } from "../../workers/clients/redis";
import { keys } from "../../workers/keys";
import {
  createPurchaseScript,
  newReservationToken,
  type PurchaseDecision,
  requestHash,
} from "../../workers/purchase/purchase";
import { redisAnswers } from "../stack/services";
import { startUpstashBridge } from "../stack/upstash-bridge";
import { freePort } from "../stack/worker-process";
import {
  type BenchReport,
  type BenchRow,
  type CommandDelta,
  closedLoop,
  commandDelta,
  commandStats,
  loopColumns,
  median,
  medianWithSpread,
  perDecisionBreakdown,
  summarize,
  totalCalls,
} from "./stats";

const SEED_LUA = readFileSync(new URL("./seed-reference.lua", import.meta.url), "utf8");
const PREWARM_LUA = readFileSync(new URL("../../workers/sales/prewarm.lua", import.meta.url), "utf8");
const PURCHASE_LUA = readFileSync(new URL("../../workers/purchase/purchase.lua", import.meta.url), "utf8");

const SKU = "BENCH-SKU";
const BRIDGE_TOKEN = "bench-upstash-token";
const RUN_DEADLINE_MS = 60_000;

type Scenario = { name: string; stock: number; buyers: number };
export type ScriptName = "purchase.lua" | "seed-reference.lua";
type Transport = "upstash-rest" | "ioredis";

export type PurchaseScriptOptions = {
  repeats?: number;
  buyers?: number;
  concurrency?: number;
  log?: (line: string) => void;
  /** Only these scenarios (by name) and scripts; all by default. Another benchmark runs one row as its reference. */
  scenarios?: string[];
  scripts?: ScriptName[];
};

/** One measured run: one script, one transport, one fresh sale. */
export type Run = {
  scenario: string;
  script: ScriptName;
  transport: Transport;
  decisions: number;
  errors: number;
  errorSamples: string[];
  perSecond: number;
  p50: number;
  p95: number;
  p99: number;
  outcomes: Record<string, number>;
  evalshaPerDecision: number;
  commandsPerDecision: number;
  breakdown: string;
  /** Mean time inside Redis per EVALSHA (commandstats usec / calls). */
  serverUsecPerDecision: number;
  /** Redis's own latency histogram for EVALSHA (private Redis only: it needs CONFIG RESETSTAT). */
  serverP50Usec: number | null;
  serverP99Usec: number | null;
  /** true when commandstats saw EVALSHAs this run did not send (a shared Redis). */
  contaminated: boolean;
};

/** A private redis-server, in memory only, so commandstats hold this benchmark's commands alone. */
export async function startPrivateRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    {
      stdio: "ignore",
    },
  );
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (!(await redisAnswers(url))) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error("private redis-server did not start (is it on PATH?)");
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/** Top-level commands a client sent, by lower-case name: EVALSHA and plain ones alike. */
type SentCommands = Map<string, number>;

function countSent(sent: SentCommands, name: string): void {
  const lower = name.toLowerCase();
  sent.set(lower, (sent.get(lower) ?? 0) + 1);
}

/**
 * createPurchaseScript wants an @upstash/redis client, but only calls `createScript(lua)
 * .exec(keys, args)`, and on the crowd's path `mget`, `hmget` and `set(key, value,
 * { nx, ex })`. This gives it those over ioredis, so the direct runs build
 * keys and parse replies with the project's own code, not a copy.
 */
function ioredisAsPurchaseHost(io: IORedis, sent: SentCommands): UpstashRedis {
  const host = {
    createScript(lua: string) {
      const sha = createHash("sha1").update(lua).digest("hex");
      // EVALSHA, and EVAL once when the script is not cached yet (as @upstash/redis does).
      const exec = (k: string[], a: string[]) => {
        countSent(sent, "evalsha");
        return io.evalsha(sha, k.length, ...k, ...a).catch((err: Error) => {
          if (!/NOSCRIPT/.test(err.message)) throw err;
          countSent(sent, "eval");
          return io.eval(lua, k.length, ...k, ...a);
        });
      };
      return { exec };
    },
    mget(...k: string[]) {
      countSent(sent, "mget");
      return io.mget(...k);
    },
    hmget(key: string, ...fields: string[]) {
      countSent(sent, "hmget");
      return io.hmget(key, ...fields);
    },
    set(key: string, value: string, opts: { nx?: boolean; ex?: number }) {
      countSent(sent, "set");
      const args: (string | number)[] = [key, value];
      if (opts.nx) args.push("NX");
      if (opts.ex !== undefined) args.push("EX", opts.ex);
      return io.call("SET", ...args);
    },
  };
  return host as unknown as UpstashRedis;
}

/** Counts every top-level command the Worker's client sends, single or pipelined, at its HTTP request. */
function countUpstashRequests(upstash: UpstashRedis, sent: SentCommands): void {
  const transport = (upstash as unknown as { client: { request: (req: { body?: unknown }) => Promise<unknown> } })
    .client;
  const request = transport.request.bind(transport);
  transport.request = (req) => {
    const body = req.body;
    if (Array.isArray(body)) {
      if (Array.isArray(body[0])) for (const command of body as unknown[][]) countSent(sent, String(command[0]));
      else countSent(sent, String(body[0]));
    }
    return request(req);
  };
}

/**
 * Redis's own time for this run's top-level commands, µs. A script's EVALSHA time
 * includes the commands it runs, which commandstats also count under their own names, so
 * a command's time is charged only for the share of its calls this client sent itself.
 */
export function topLevelUsec(delta: Map<string, CommandDelta>, sent: SentCommands): number {
  let usec = 0;
  for (const [name, { calls, usec: spent }] of delta) {
    const own = Math.min(calls, sent.get(name) ?? 0);
    if (calls > 0) usec += (spent * own) / calls;
  }
  return usec;
}

/** Loads a sale the way prewarm does (the project's prewarm.lua, same keys): open an hour, started a minute ago; per SKU name, price, original price, total, loaded, limit, stock. */
async function loadSale(io: IORedis, saleId: string, stock: number): Promise<void> {
  const now = Date.now();
  await io.eval(
    PREWARM_LUA,
    3,
    keys.meta(saleId),
    keys.item(saleId, SKU),
    keys.stock(saleId, SKU),
    String(now - 60_000),
    String(now + 3_600_000),
    "0",
    "600",
    SKU,
    String(now),
    "bench sale",
    "bench item",
    "1.00",
    "2.00",
    String(stock),
    String(stock),
    "2",
    String(stock),
  );
}

async function deleteMatching(io: IORedis, pattern: string): Promise<number> {
  let cursor = "0";
  let deleted = 0;
  for (let rounds = 0; rounds < 100_000; rounds++) {
    const [next, found] = await io.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    if (found.length) deleted += await io.unlink(...found);
    cursor = next;
    if (cursor === "0") break;
  }
  return deleted;
}

function decisionKind(script: ScriptName, reply: unknown): string {
  if (script === "purchase.lua") return (reply as PurchaseDecision).kind;
  const [ok, what] = reply as [number, string | number];
  return Number(ok) === 1 ? "reserved" : String(what).toLowerCase();
}

async function serverLatency(io: IORedis): Promise<{ p50: number | null; p99: number | null }> {
  const text = await io.info("latencystats");
  const match = /latency_percentiles_usec_evalsha:p50=([\d.]+),p99=([\d.]+)/.exec(text);
  return match ? { p50: Number(match[1]), p99: Number(match[2]) } : { p50: null, p99: null };
}

async function measure(
  ctx: { io: IORedis; upstash: UpstashRedis; upstashSent: SentCommands; privateRedis: boolean; concurrency: number },
  scenario: Scenario,
  script: ScriptName,
  transport: Transport,
): Promise<Run> {
  const { io } = ctx;
  const saleId = randomUUID();
  const sent: SentCommands = new Map();
  const client = transport === "upstash-rest" ? ctx.upstash : ioredisAsPurchaseHost(io, sent);
  if (transport === "upstash-rest") ctx.upstashSent.clear();
  let call: (i: number) => Promise<unknown>;
  if (script === "purchase.lua") {
    await loadSale(io, saleId, scenario.stock);
    const decide = createPurchaseScript(client);
    const hash = await requestHash(SKU, 1);
    call = (i) =>
      decide({
        saleId,
        userId: `b${i}`,
        skuId: SKU,
        quantity: 1,
        nowMs: Date.now(),
        idempotencyKey: `k${i}`,
        requestHash: hash,
        device: `d${i}`,
        reservationToken: newReservationToken(saleId),
        orderId: randomUUID(),
      });
  } else {
    await io.set(`flash_stock:{${saleId}}:${SKU}`, String(scenario.stock));
    const seed = client.createScript<unknown>(SEED_LUA);
    call = (i) => seed.exec([`flash_stock:{${saleId}}:${SKU}`, `user_limit:{${saleId}}:b${i}`], [`b${i}`, "1"]);
  }

  const outcomes: Record<string, number> = {};
  const counted = async (i: number) => {
    const reply = await call(i);
    const kind = decisionKind(script, reply);
    outcomes[kind] = (outcomes[kind] ?? 0) + 1;
  };

  // Scripts are loaded first, so the upstash client's EVALSHA never falls back to EVAL
  // inside the measured window (that happens once per script per Redis in production).
  await io.script("LOAD", script === "purchase.lua" ? PURCHASE_LUA : SEED_LUA);
  if (ctx.privateRedis) await io.config("RESETSTAT");
  const before = await commandStats(io);
  const counting = transport === "upstash-rest" ? ctx.upstashSent : sent;
  counting.clear();
  const loop = await closedLoop(scenario.buyers, ctx.concurrency, RUN_DEADLINE_MS, counted);
  const sentInRun = new Map(counting);
  const after = await commandStats(io);
  const latency = ctx.privateRedis ? await serverLatency(io) : { p50: null, p99: null };

  await deleteMatching(io, `fs:{${saleId}}:*`);
  await deleteMatching(io, `flash_stock:{${saleId}}:*`);
  await deleteMatching(io, `user_limit:{${saleId}}:*`);

  const delta = commandDelta(before, after);
  const evalsha = delta.get("evalsha") ?? { calls: 0, usec: 0 };
  const decisions = loop.completed;
  const summary = summarize(loop);
  return {
    scenario: scenario.name,
    script,
    transport,
    decisions,
    errors: loop.errors,
    errorSamples: loop.errorSamples,
    perSecond: summary.perSecond,
    p50: summary.p50,
    p95: summary.p95,
    p99: summary.p99,
    outcomes,
    evalshaPerDecision: evalsha.calls / decisions,
    commandsPerDecision: totalCalls(delta) / decisions,
    breakdown: perDecisionBreakdown(delta, decisions),
    serverUsecPerDecision: decisions ? topLevelUsec(delta, sentInRun) / decisions : Number.NaN,
    // Redis's latency histogram is per command: it speaks for a decision only when the
    // decision is one EVALSHA, not for the crowd's path of plain commands.
    serverP50Usec: evalsha.calls >= decisions ? latency.p50 : null,
    serverP99Usec: evalsha.calls >= decisions ? latency.p99 : null,
    contaminated: evalsha.calls > loop.attempts,
  };
}

function aggregate(runs: Run[]): BenchRow[] {
  const groups = new Map<string, Run[]>();
  for (const run of runs) {
    const id = `${run.scenario}|${run.script}|${run.transport}`;
    groups.set(id, [...(groups.get(id) ?? []), run]);
  }
  return [...groups.values()].map((g) => {
    const first = g[0]!;
    const outcomes = Object.entries(first.outcomes)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
    return {
      scenario: first.scenario,
      script: first.script,
      client: first.transport,
      runs: g.length,
      ...loopColumns(g, "decisions/s", 2),
      "evalsha/decision": median(g.map((r) => r.evalshaPerDecision)).toFixed(2),
      "redis cmds/decision": median(g.map((r) => r.commandsPerDecision)).toFixed(2),
      "in-redis µs/decision": medianWithSpread(
        g.map((r) => r.serverUsecPerDecision),
        1,
      ),
      "in-redis p99 µs": g.some((r) => r.serverP99Usec !== null)
        ? medianWithSpread(
            g.map((r) => r.serverP99Usec ?? Number.NaN),
            1,
          )
        : "n/a",
      errors: g.reduce((n, r) => n + r.errors, 0),
      "outcomes (1st run)": outcomes,
      "commands (1st run, per decision)": first.breakdown,
    };
  });
}

/**
 * A sold-out click's time in Redis, purchase.lua against the seed's script, per client:
 * the ratio of the medians of commandstats usec/calls (the goal is at most 2x).
 */
function soldOutRatios(runs: Run[]): string[] {
  return (["upstash-rest", "ioredis"] as const).flatMap((transport) => {
    const usec = (script: ScriptName) =>
      median(
        runs
          .filter((r) => r.scenario === "sold-out" && r.transport === transport && r.script === script)
          .map((r) => r.serverUsecPerDecision),
      );
    const ours = usec("purchase.lua");
    const seed = usec("seed-reference.lua");
    if (!Number.isFinite(ours) || !Number.isFinite(seed)) return [];
    return [
      `sold-out click in Redis via ${transport}: the product's path ${ours.toFixed(1)} µs, seed ${seed.toFixed(1)} µs: ${(ours / seed).toFixed(2)}x (medians).`,
    ];
  });
}

export async function benchPurchaseScript(options: PurchaseScriptOptions = {}): Promise<BenchReport & { runs: Run[] }> {
  const log = options.log ?? (() => undefined);
  const repeats = options.repeats ?? 3;
  const buyers = options.buyers ?? 5_000;
  const concurrency = options.concurrency ?? 64;
  const scenarios: Scenario[] = [
    { name: "sellout", stock: 1_000, buyers },
    { name: "all-reserved", stock: buyers * 10, buyers },
    // The crowd's path alone: every click of a sold-out sale, against the seed's own
    // sold-out path (GET, DECRBY, undo INCRBY).
    { name: "sold-out", stock: 0, buyers },
  ].filter((s) => !options.scenarios || options.scenarios.includes(s.name));
  const scripts = (["purchase.lua", "seed-reference.lua"] as const).filter(
    (s) => !options.scripts || options.scripts.includes(s),
  );

  const shared = process.env.BENCH_REDIS_URL;
  const owned = shared ? null : await startPrivateRedis();
  const redisUrl = shared ?? owned!.url;
  const io = new IORedis(redisUrl, { maxRetriesPerRequest: 1 });
  const bridge = await startUpstashBridge({ redisUrl, token: BRIDGE_TOKEN, port: await freePort() });
  const upstash = createRedis({ UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: BRIDGE_TOKEN });
  const upstashSent: SentCommands = new Map();
  countUpstashRequests(upstash, upstashSent);
  const ctx = { io, upstash, upstashSent, privateRedis: !shared, concurrency };
  const version = /redis_version:(\S+)/.exec(await io.info("server"))?.[1] ?? "?";

  const runs: Run[] = [];
  try {
    // One small untimed pass per combination first: JIT, HTTP keep-alive connections and
    // script loading would otherwise be charged to whichever combination runs first.
    for (const transport of ["upstash-rest", "ioredis"] as const) {
      for (const script of scripts) {
        await measure(ctx, { name: "warm-up", stock: 100, buyers: 500 }, script, transport);
      }
    }
    for (let r = 1; r <= repeats; r++) {
      for (const scenario of scenarios) {
        // Interleaved, so drift in the machine's load falls on every combination alike.
        for (const transport of ["upstash-rest", "ioredis"] as const) {
          for (const script of scripts) {
            const run = await measure(ctx, scenario, script, transport);
            runs.push(run);
            log(
              `  run ${r}/${repeats} ${scenario.name} ${script} via ${transport}: ${run.perSecond.toFixed(0)}/s, ` +
                `p99 ${run.p99.toFixed(2)} ms, ${run.commandsPerDecision.toFixed(2)} cmds/decision`,
            );
          }
        }
      }
    }
  } finally {
    io.disconnect();
    await bridge.close();
    await owned?.stop();
  }

  const notes = [
    `Redis ${version} at ${shared ? `${redisUrl} (shared: command counts may include other clients)` : "a private redis-server on a free port (exact command counts)"}; ` +
      `${buyers} buyers per run, ${concurrency} in flight, each buyer tries once for 1 unit; ${repeats} runs per row, median (min–max).`,
    "sellout: 1,000 units, so after the first 1,000 decisions every decision takes the sold-out path; all-reserved: stock 10x the buyers.",
    "upstash-rest: the Worker's @upstash/redis client (createRedis) -> local REST bridge in this process -> Redis; ioredis: EVALSHA on one pipelined connection.",
    "in-redis µs/decision: Redis's own time (commandstats usec) for the commands the client sent, per decision: an EVALSHA's time includes the commands its script runs; plain commands (the crowd's path) count each. in-redis p99: Redis's latencystats for EVALSHA, where a decision is one EVALSHA.",
    "sold-out: stock 0, so every click takes the sold-out path: the crowd's cost once the units are gone.",
  ];
  notes.push(...soldOutRatios(runs));
  if (runs.some((r) => r.contaminated))
    notes.push("WARNING: Redis saw EVALSHAs this benchmark did not send; command counts include other clients.");
  return { name: "purchase-script", notes, rows: aggregate(runs), runs };
}
