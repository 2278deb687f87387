import { DurableObject } from "cloudflare:workers";
import { mintAdmissionToken } from "../workers/auth/admission";
import { coordinatorName, shardName, shardOf } from "../workers/queue/shards";
import { mintQueueToken } from "../workers/queue/token";
import {
  type ConfigureReply,
  type EnterAnswer,
  type EnterReply,
  type Outcome,
  type QueueSaleConfig,
  type QueueStats,
  type QueueView,
  refuse,
} from "../workers/queue/types";
import { Coordinator } from "./queue/coordinator";
import type { Resolution, ShardReport } from "./queue/merge";
import { SqliteMergeStore } from "./queue/merge-store";
import { type Config, earlierCounts, type GlobalState, type ShardReply, type ShardSetup } from "./queue/model";
import { readMeta, type SaleMeta, type StockSource, skuList, stockFromRedis } from "./queue/redis";
import { type Clock, QueueRules, systemClock, type TickChange } from "./queue/rules";
import { type CoordinatorPeer, Shard } from "./queue/shard";
import { QueueSockets } from "./queue/sockets";
import { SqliteQueueStore } from "./queue/sqlite-store";
import { arm, nextAlarm } from "./queue/ticker";

type TickResult = { admittedThrough: number; soldOut: boolean; closed: boolean };

/**
 * One per sale: the admission queue and the issuer of admission tokens. A thin shell:
 * the rules live in queue/rules.ts (plain code over queue/store.ts), and this class wires
 * them to SQLite, Redis, the alarm, WebSockets and the other objects of a sharded sale.
 *
 * Roles (docs/queue.md): a sale sized for one object is `single` (this object holds
 * everything). A bigger sale has a `coordinator` (queue/coordinator.ts) and N `shard`s
 * (queue/shard.ts); the edge reaches each through its name (workers/queue/shards.ts).
 *
 * `clock` and `stock` are the sale's time and units left; tests replace them on the
 * instance (runInDurableObject), the local benchmark through its own subclass.
 */
export class SaleQueue extends DurableObject<Env> {
  clock: Clock = systemClock;
  stock: StockSource;
  protected rules!: QueueRules;
  private sockets!: QueueSockets;
  private coordinator: Coordinator | null = null;
  private shard!: Shard;
  private started = false;
  /** The tick in flight: an alarm that fires during it joins it, so ticks never overlap. */
  private ticking: Promise<TickResult> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.stock = stockFromRedis(env);
    void ctx.blockConcurrencyWhile(async () => {
      try {
        this.start();
      } catch (err) {
        // Not rethrown here, where it would reset the object: the next call tries again (alive).
        console.error("queue object did not start; the next call tries again", err);
      }
    });
  }

  /** Builds the modules over the object's storage. Synchronous (SQLite here is), so no event can interleave with it. */
  private start(): void {
    this.rules = new QueueRules({
      store: new SqliteQueueStore(this.ctx.storage),
      clock: { now: () => this.clock.now() },
      mintAdmission: (claims, now, ttl) => mintAdmissionToken(this.env.ADMISSION_JWT_SECRET, claims, now, ttl),
      onPositions: (moved) => this.sockets.refreshAttachments(moved),
    });
    this.sockets = new QueueSockets(this.ctx, this.rules);
    this.shard = new Shard(this.rules, this.sockets, () => this.coordinatorPeer());
    const role = this.rules.config?.role;
    if (role?.kind === "coordinator") this.becomeCoordinator(role.shards);
    this.started = true;
  }

  /**
   * Every call passes here. A start that failed (storage not answering, an unreadable row)
   * is tried again, and its error goes to this caller, outside blockConcurrencyWhile: the
   * partyserver pattern, so a passing fault does not leave the object failing until evicted.
   */
  private alive(): void {
    if (!this.started) this.start();
  }

  // ---- configuration (the sales engineer's facade calls these) ------------------------

  /** Refused only for a shard count the queue cannot take now (rules.ts `configure`). */
  async configure(config: QueueSaleConfig): Promise<ConfigureReply> {
    this.alive();
    const kept = this.rules.configure(config);
    if (!kept.ok) return kept;
    const { role, cancelled } = kept.config;
    try {
      if (role.kind === "coordinator")
        await this.becomeCoordinator(role.shards).configureShards(config, cancelled, kept.before, role.shards);
      else if (this.coordinator) {
        // Lowered to one object before the door opened: every former shard retires.
        await this.coordinator.configureShards(config, cancelled, kept.before, 0);
        this.coordinator = null;
      }
    } finally {
      // A new rate or new times wake the queue, even if a shard missed its configuration.
      await this.schedule(this.rules.now());
    }
    return { ok: true, shards: this.rules.shardCount() };
  }

  async cancel(): Promise<void> {
    this.alive();
    if (!this.rules.cancel()) return;
    this.sockets.broadcastClosed();
    await this.coordinator?.fanOut();
    await this.schedule(this.rules.now());
  }

  /** 1 for a single-object queue (or one not configured yet), else the number of shards. */
  shardCount(): number {
    this.alive();
    return this.rules.shardCount();
  }

  stats(): QueueStats {
    this.alive();
    return this.rules.stats(this.rules.now(), this.coordinator?.length);
  }

  /** Stock changed (sold out, or units came back): decide now, not at the next tick. */
  async stockChanged(): Promise<void> {
    this.alive();
    // A tick in flight may have read the stock before this change: one more after it.
    if (this.ticking) await this.ticking.catch(() => undefined);
    await this.tick();
  }

  // ---- the door --------------------------------------------------------------------------

  /**
   * `asShard`: the edge routed this entry to shard `asShard` of a sharded queue. The reply
   * carries the shard count, which the edge keeps for the next entry.
   */
  async enter(saleId: string, shopperId: string, device: string, asShard: number | null = null): Promise<EnterReply> {
    const outcome = await this.enterHere(saleId, shopperId, device, asShard);
    // Passed on: the home's reply already carries the count in force.
    return "shards" in outcome
      ? (outcome as EnterReply)
      : { ...outcome, shards: this.rules.shardCount(), startMs: this.rules.config?.startMs ?? null };
  }

  /** A place held elsewhere, for a sale whose shard count was raised: the shopper's earlier home asks here. */
  placeOf(shopperId: string): EnterAnswer | null {
    this.alive();
    const entrant = this.rules.store.byShopper(shopperId);
    return entrant ? this.rules.answerFor(entrant.token, this.rules.now()) : null;
  }

  private async enterHere(
    saleId: string,
    shopperId: string,
    device: string,
    asShard: number | null,
  ): Promise<Outcome<EnterAnswer>> {
    this.alive();
    // A shard whose configuration never arrived asks its coordinator, rather than
    // configuring itself from Redis as a lone queue with an order of its own.
    if (asShard !== null && !this.rules.config) await this.setUpShard(saleId, asShard);
    const config = await this.ensureConfig(saleId);
    if (!config.ok) return config;
    const { value: sale } = config;
    // Entries reach their home directly; one sent with an out-of-date count is passed on.
    const home = this.homeElsewhere(sale, shopperId);
    if (home === "coordinator") return this.coordinatorStub().enter(saleId, shopperId, device);
    if (home !== null) return this.shardStub(home).enter(saleId, shopperId, device, home);
    const earlier = await this.earlierPlace(sale, shopperId);
    if (earlier) return { ok: true, value: earlier };
    // Minted before anything is read: no await may stand between the rules' checks and
    // their insert, or a double click could take two places (or two entries one arrival number).
    const token = await mintQueueToken(
      this.env.ADMISSION_JWT_SECRET,
      sale.saleId,
      sale.role.kind === "shard" ? sale.role.index : null,
    );
    const now = this.rules.now();
    const entry = this.rules.enter(shopperId, device, token, now);
    if (!entry.ok) return entry;
    // Waiting before any await, so a report answered meanwhile cannot number it unseen.
    const numbered = entry.placed?.awaitsNumber ? this.shard.numbered(entry.placed.seq) : null;
    // A new place wakes a sleeping queue; a re-entry re-arms one whose alarm was lost.
    await this.schedule(now);
    if (!numbered) return { ok: true, value: entry.value };
    await numbered;
    return { ok: true, value: this.rules.answerFor(token, this.rules.now()) ?? entry.value };
  }

  /**
   * Where this shopper belongs when it is not this object (which answers anyone it already
   * holds): a shard, or the coordinator for a shard retired when the count fell to one.
   */
  private homeElsewhere(sale: Config, shopperId: string): number | "coordinator" | null {
    if (sale.role.kind === "single" || this.rules.store.byShopper(shopperId)) return null;
    if (sale.role.shards < 1) return "coordinator";
    const home = shardOf(shopperId, sale.role.shards);
    return sale.role.kind === "shard" && home === sale.role.index ? null : home;
  }

  /**
   * A shopper new here, of a sale whose count was raised after the door opened: their home
   * under each earlier count (1: the coordinator) may hold their place. One call per earlier
   * count, and only for first entries of a resized sale.
   */
  private async earlierPlace(sale: Config, shopperId: string): Promise<EnterAnswer | null> {
    if (this.rules.store.byShopper(shopperId)) return null;
    const self = sale.role.kind === "shard" ? sale.role.index : null;
    for (const count of earlierCounts(sale.role)) {
      const home = count === 1 ? null : shardOf(shopperId, count);
      if (home === self) continue;
      const stub = home === null ? this.coordinatorStub() : this.shardStub(home);
      const place = await stub.placeOf(shopperId);
      if (place) return place;
    }
    return null;
  }

  async poll(token: string): Promise<Outcome<QueueView>> {
    this.alive();
    const now = this.rules.now();
    const view = await this.rules.poll(token, now);
    // Someone is looking: an alarm the runtime lost is set again (a no-op when one is due).
    if (view.ok) await this.schedule(now);
    return view;
  }

  // ---- live updates ----------------------------------------------------------------------

  override async fetch(request: Request): Promise<Response> {
    this.alive();
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket")
      return new Response("expected a WebSocket upgrade", { status: 426 });
    const token = new URL(request.url).pathname.split("/").pop() ?? "";
    const entrant = this.rules.store.byToken(decodeURIComponent(token));
    if (!entrant)
      return new Response(JSON.stringify({ error: "not_found", message: "No place in this queue has that token." }), {
        status: 404,
      });
    return this.sockets.open(entrant, this.rules.now());
  }

  override async webSocketMessage(ws: WebSocket): Promise<void> {
    this.alive();
    await this.sockets.message(ws);
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    this.alive();
    this.sockets.error(ws, error);
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    this.alive();
    this.sockets.close(ws, code);
  }

  // ---- the tick --------------------------------------------------------------------------

  override async alarm(): Promise<void> {
    try {
      await this.tick();
    } catch (err) {
      // The next alarm is set already (tick re-arms whatever happens); rethrowing would
      // only add the runtime's retries on top of it.
      console.error("queue tick failed; the next alarm is set", err);
    }
  }

  /**
   * Advances admission and reads stock. Its cost is fixed: one Redis read, O(1)
   * arithmetic, and work only for shoppers admitted by this tick who have a socket open.
   * One at a time: a call while a tick is in flight gets that tick's result.
   */
  async tick(): Promise<TickResult> {
    this.alive();
    this.ticking ??= this.tickOnce().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  private async tickOnce(): Promise<TickResult> {
    const now = this.rules.now();
    try {
      const change = await this.advance(now);
      return { admittedThrough: change.admittedThrough, soldOut: change.soldOut, closed: change.closed };
    } finally {
      // Re-armed whatever happened above: a tick that throws must not be the last one.
      await this.schedule(now);
    }
  }

  private async advance(now: number): Promise<TickChange> {
    const sale = this.rules.config;
    const phase = this.rules.prepareTick(now);
    if (phase === "unconfigured" || !sale)
      return { phase, before: 0, admittedThrough: 0, soldOut: false, soldOutChanged: false, closed: false };
    if (sale.role.kind === "shard") return this.shard.tick(sale.role.index, now);
    if (phase === "closed") this.sockets.broadcastClosed();
    if (phase !== "running") {
      const change = this.rules.tick(now, null);
      return phase === "early" ? { ...change, admittedThrough: 0, soldOut: false } : change;
    }
    // At the start, before the first admission, the same read brings the door's flags: the slow lane.
    const slowLane = this.rules.slowLaneDue(now);
    const read = await this.stock(sale.saleId, this.rules.state, this.rules.lapsedAt(now), slowLane);
    // Unread (Redis down), the tick below holds the watermark, so the next tick still finds the lane due.
    if (slowLane && read) this.rules.sortSlowLane(now, read.flagged ?? []);
    // Only numbered arrivals can be admitted; on a coordinator that is what the merge has numbered.
    const change = this.rules.tick(now, read?.units ?? null, this.coordinator?.merge.resolvedCount, read?.decided);
    // Shards hear the watermark on their next report; sold out and resumed they hear at once.
    if (change.soldOutChanged) await this.coordinator?.fanOut();
    await this.sockets.follow(change, now);
    return change;
  }

  private async schedule(now: number): Promise<void> {
    const { config, state } = this.rules;
    // A coordinator counts everyone its shards reported, numbered or not yet. An open socket
    // counts too, and so does a live turn: its shopper is promised sold out within a second,
    // even of a change nobody notified (a purchase does not tell the queue).
    const liveTurns = !state.soldOut && (state.lapsedThrough ?? 0) < state.meter.admittedThrough;
    const waiting =
      (this.coordinator?.length ?? this.rules.arrived) > state.meter.admittedThrough ||
      liveTurns ||
      this.ctx.getWebSockets().length > 0;
    const pending = { closed: this.rules.isClosed(now), soldOut: state.soldOut, waiting };
    const real = Date.now();
    await arm(this.ctx.storage, nextAlarm(config, pending, now, real), real);
  }

  // ---- sharded queue ---------------------------------------------------------------------

  /** Coordinator: a shard reports its new arrivals and what it has applied; it gets back its numbers and the state. */
  async report(report: ShardReport): Promise<ShardReply> {
    this.alive();
    if (!this.coordinator) throw new Error("report to a queue that is not a coordinator");
    const reply = this.coordinator.report(report);
    // New arrivals wake a coordinator that slept while nobody waited.
    await this.schedule(this.rules.now());
    return reply;
  }

  /** Coordinator: what a shard needs to configure itself, for one whose configureShard call was lost. */
  shardSetup(): ShardSetup | null {
    this.alive();
    return this.coordinator?.setup() ?? null;
  }

  /** Shard: `commitment` is the coordinator's, the one draw's hash on every shard's answers. */
  async configureShard(setup: ShardSetup, index: number): Promise<void> {
    this.alive();
    this.rules.configureShard(setup, index);
    await this.schedule(this.rules.now());
  }

  /** Shard: the coordinator's state, pushed at once when it matters to every socket. */
  async pushState(state: GlobalState): Promise<void> {
    this.alive();
    await this.shard.push(state, this.rules.now());
  }

  private becomeCoordinator(shards: number): Coordinator {
    this.coordinator ??= new Coordinator({
      rules: this.rules,
      store: new SqliteMergeStore(this.ctx.storage.sql),
      shards,
      shard: (i) => this.shardStub(i),
      background: (work) => this.ctx.waitUntil(work),
    });
    return this.coordinator;
  }

  private async setUpShard(saleId: string, index: number): Promise<void> {
    const setup = await this.coordinatorStub(saleId).shardSetup();
    if (!setup) throw new Error(`sale ${saleId} has no sharded queue to join`);
    await this.configureShard(setup, index);
  }

  /** The coordinator as a shard's report loop sees it; RPC carries the resolutions' tuples as plain arrays. */
  private coordinatorPeer(): CoordinatorPeer {
    const stub = this.coordinatorStub();
    return {
      report: async (report) => {
        const reply = await stub.report(report);
        return { ...reply, resolutions: reply.resolutions as Resolution[] };
      },
      shardSetup: () => stub.shardSetup(),
    };
  }

  private coordinatorStub(saleId = this.rules.config!.saleId): DurableObjectStub<SaleQueue> {
    const ns = this.env.SALE_QUEUE;
    return ns.get(ns.idFromName(coordinatorName(saleId)));
  }

  private shardStub(index: number): DurableObjectStub<SaleQueue> {
    const ns = this.env.SALE_QUEUE;
    return ns.get(ns.idFromName(shardName(this.rules.config!.saleId, index)));
  }

  /**
   * A sale nobody configured this object for (the facade call was lost, or the object
   * was reset) is read from the Redis meta the prewarm wrote, never from Postgres.
   */
  private async ensureConfig(saleId: string): Promise<Outcome<Config>> {
    if (this.rules.config) return { ok: true, value: this.rules.config };
    let meta: SaleMeta;
    try {
      meta = await readMeta(this.env, saleId);
    } catch (err) {
      console.error("queue could not read sale meta", err);
      return refuse(503, "dependency_unavailable", "The sale's data is not answering; try again shortly.");
    }
    if (!meta.start_ms || !meta.end_ms) return refuse(404, "not_found", "Sale was not found.");
    const value = this.rules.adopt({
      saleId,
      startMs: Number(meta.start_ms),
      endMs: Number(meta.end_ms),
      cancelled: meta.cancelled === "1",
      skus: meta.skus ? skuList(meta.skus) : null,
    });
    return { ok: true, value };
  }
}
