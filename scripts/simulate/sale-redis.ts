/**
 * The sale's Redis: a redis-server of the run's own (scripts/stack/own-servers.ts, memory
 * only), loaded by the real prewarm.lua, and the real purchase.lua and signals.lua sent
 * over one connection. Calls are queued in the order the simulation makes them (simulated
 * time) and sent as one pipeline per simulated millisecond, so Redis decides in simulated
 * order whatever the wall clock does.
 *
 * The capacity: a managed Redis takes so many commands a second (Upstash documents
 * 10,000). A call beyond that in one simulated second is not sent: the Worker's client
 * would time out, and the shopper gets 503 with Retry-After (workers/config.ts BUDGETS).
 */
import { readFileSync } from "node:fs";
import { Redis as IORedis } from "ioredis";
import { keys } from "../../workers/keys";
import { prewarmCall } from "../../workers/sales/prewarm";
import { type CommandStats, commandDelta, commandStats, totalCalls } from "../bench/stats";
import { type OwnRedis, startOwnRedis } from "../stack/own-servers";
import { type SimSale, SKU } from "./sale";

const lua = (path: string) => readFileSync(new URL(`../../workers/${path}`, import.meta.url), "utf8");

export type CallKind = "purchase" | "signals" | "stock";
type Pending = { sha: string; keys: string[]; args: string[]; onReply: (reply: unknown) => void };

/** Servers still running, so an interrupted run can stop what it started. */
const running = new Set<OwnRedis>();

export async function stopAllRedis(): Promise<void> {
  await Promise.all([...running].map((own) => own.remove()));
  running.clear();
}

export class SaleRedis {
  private pending: Pending[] = [];
  /** Queued calls whose replies the simulation waits on (purchases); signals' replies change nothing. */
  private awaited = 0;
  private served = new Map<number, number>();
  private stats: CommandStats = new Map();

  private constructor(
    private readonly own: OwnRedis,
    readonly client: IORedis,
    private readonly sha: { purchase: string; signals: string },
    private readonly sale: SimSale,
    readonly capacity: number,
  ) {}

  static async start(sale: SimSale, capacity: number, nowMs: number): Promise<SaleRedis> {
    const own = await startOwnRedis({ durable: false });
    running.add(own);
    const client = new IORedis(own.url, { maxRetriesPerRequest: 1, lazyConnect: false });
    const load = (text: string) => client.script("LOAD", text) as Promise<string>;
    const sha = { purchase: await load(lua("purchase/purchase.lua")), signals: await load(lua("queue/signals.lua")) };
    const prewarm = prewarmCall(sale.record, [sale.loaded], [sale.loaded], nowMs);
    await client.eval(lua("sales/prewarm.lua"), prewarm.keys.length, ...prewarm.keys, ...prewarm.args);
    const redis = new SaleRedis(own, client, sha, sale, capacity);
    redis.stats = await commandStats(client);
    return redis;
  }

  /** Queues one call (built only if sent) if this simulated second has room; false (nothing sent) when it has not. */
  send(
    kind: Exclude<CallKind, "stock">,
    build: () => { keys: string[]; args: string[] },
    second: number,
    onReply: (reply: unknown) => void,
  ): boolean {
    if (!this.take(second)) return false;
    const call = build();
    this.pending.push({ sha: this.sha[kind], keys: call.keys, args: call.args, onReply });
    if (kind === "purchase") this.awaited++;
    return true;
  }

  /** Calls queued whose replies decide something: these must be flushed before simulated time moves on. */
  get undecided(): number {
    return this.awaited;
  }

  /** Sends what is queued as one pipeline and hands each reply to its caller, in order. */
  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.awaited = 0;
    const pipeline = this.client.pipeline();
    for (const p of batch) pipeline.evalsha(p.sha, p.keys.length, ...p.keys, ...p.args);
    const results = (await pipeline.exec()) ?? [];
    batch.forEach((p, i) => {
      const [err, reply] = results[i] ?? [new Error("no reply"), null];
      if (err) throw err;
      p.onReply(reply);
    });
  }

  /**
   * The queue object's read (durable-objects/queue/redis.ts: one pipeline, MGET of the sale's
   * stock keys and ZCOUNT of the turns that reserved above `lapsedThrough`); null when over capacity.
   */
  async stockLeft(second: number, lapsedThrough: number): Promise<{ units: number; decided: number } | null> {
    if (!this.take(second)) return null;
    await this.flush();
    const saleId = this.sale.record.sale.saleId;
    const [[, value], [, decided]] = (await this.client
      .pipeline()
      .mget(keys.stock(saleId, SKU))
      .zcount(keys.turns(saleId), `(${lapsedThrough}`, "+inf")
      .exec()) as [[unknown, (string | null)[]], [unknown, number]];
    return { units: Math.max(0, Number(value?.[0] ?? 0)), decided: Number(decided) || 0 };
  }

  /**
   * The sale's `flagged` hash (shopper -> rules), as the queue object reads it once at the
   * start for the slow lane; null when over capacity (the object then holds the watermark).
   */
  async flagged(second: number): Promise<string[] | null> {
    if (!this.take(second)) return null;
    await this.flush();
    return this.client.hkeys(keys.flagged(this.sale.record.sale.saleId));
  }

  /** Everyone the signals flagged, read after the run (outside its capacity: the fraud report's read). */
  async flaggedAtEnd(): Promise<string[]> {
    await this.flush();
    return this.client.hkeys(keys.flagged(this.sale.record.sale.saleId));
  }

  /** Commands Redis ran since the last reading, those inside scripts included (INFO commandstats). */
  async commandsSinceLastReading(): Promise<number> {
    const now = await commandStats(this.client);
    const delta = totalCalls(commandDelta(this.stats, now));
    this.stats = now;
    return delta;
  }

  /** Units reserved by the script's own count (the counters hash), for the oversell check. */
  async reservedUnits(): Promise<number> {
    return Number((await this.client.hget(keys.counters(this.sale.record.sale.saleId), "reserved")) ?? 0);
  }

  async stop(): Promise<void> {
    this.client.disconnect();
    running.delete(this.own);
    await this.own.remove();
  }

  private take(second: number): boolean {
    const used = this.served.get(second) ?? 0;
    if (used >= this.capacity) return false;
    this.served.set(second, used + 1);
    return true;
  }
}
