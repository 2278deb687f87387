import { DurableObject } from "cloudflare:workers";
import { mintAdmissionToken } from "../workers/auth/admission";
import { createRedis } from "../workers/clients/redis";
import { DEFAULTS } from "../workers/config";
import { keys } from "../workers/keys";
import type { QueueSaleConfig, QueueStats } from "../workers/queue/client";
import { coordinatorName, shardName, shardOf, shardsFor } from "../workers/queue/shards";
import { mintQueueToken } from "../workers/queue/token";
import { type EnterAnswer, type Outcome, type QueueView, refuse } from "../workers/queue/types";
import { commitmentOf, drawPermutation, newSeed } from "./queue/draw";
import { ArrivalMerge, type Bucket, type Resolution, type ShardReport } from "./queue/merge";
import { advance, type Meter } from "./queue/meter";

/**
 * One per sale: the admission queue and the issuer of admission tokens.
 *
 * Every entrant gets an arrival number (1, 2, 3… in order of arrival) and a queue
 * position: the arrival number itself (fifo, and everyone after the start in random
 * mode), or its rank in the seeded draw (random mode, arrived before the start).
 * Admission is one watermark, `admittedThrough`: every position at or below it is
 * admitted, so admitting a thousand shoppers is one number changing, not a thousand writes.
 *
 * Roles (docs/queue.md): a sale sized for one object is `single` (this object holds
 * everything). A bigger sale has a `coordinator` (named by the sale: config, stock,
 * the watermark, the global arrival order) and N `shard`s (entrants, sockets, tokens).
 * Shards report their arrivals every SHARD_TICK_MS; the coordinator numbers them in
 * one global order by arrival time (queue/merge.ts) and answers with the watermark.
 */

const TICK_MS = 250;
const SOLD_OUT_TICK_MS = 1_000;
/** How often waiting sockets get a position update (docs/queue.md "Live position"). */
const BROADCAST_EVERY_MS = 5_000;
const RATE_WINDOW_MS = 10_000;
const SHARD_TICK_MS = 100;
/** Open sockets one place may hold (tabs, reloads); a new one beyond this closes the oldest. */
const MAX_SOCKETS_PER_PLACE = 3;
/** A socket's messages are answered at most this often. */
const MESSAGE_INTERVAL_MS = 1_000;
/** How long a shard's enter waits for its global number before answering without it. */
const RESOLVE_WAIT_MS = 3_000;

type Role =
  | { kind: "single" }
  | { kind: "coordinator"; shards: number }
  | { kind: "shard"; index: number; shards: number };
type Config = QueueSaleConfig & { cancelled: boolean; role: Role };

/** What the coordinator tells a shard: the global state and the shard's resolved arrivals. */
export type GlobalState = {
  admittedThrough: number;
  /** Every admission at or below this position has lapsed unused (its window passed). */
  lapsedThrough: number;
  soldOut: boolean;
  cancelled: boolean;
  /** Random mode: pre-start arrivals drawn, and the seed, once the draw is fixed. */
  drawnCount: number | null;
  seed: string | null;
  commitment: string;
};
export type ShardReply = GlobalState & { resolutions: Resolution[] };

/** A shard's own bookkeeping of what it has reported and applied. */
type ShardProgress = { sealedMs: number; appliedSeq: number };

const META_FIELDS = ["start_ms", "end_ms", "cancelled", "skus"] as const;
type SaleMeta = Partial<Record<(typeof META_FIELDS)[number], string>>;

/** The prewarm's sale meta (workers/keys.ts); the client returns HMGET raw, in field order. */
async function readMeta(env: Env, saleId: string): Promise<SaleMeta> {
  const raw = (await createRedis(env).hmget(keys.meta(saleId), ...META_FIELDS)) as unknown;
  const values = Array.isArray(raw) ? raw : [];
  const meta: SaleMeta = {};
  META_FIELDS.forEach((field, i) => {
    if (values[i] !== null && values[i] !== undefined) meta[field] = String(values[i]);
  });
  return meta;
}

type Durable = {
  meter: Meter;
  /** Admissions at or below this position lapsed: their window passed (absent in objects from before lapses). */
  lapsedThrough?: number;
  soldOut: boolean;
  /** null: not read yet, or the last read failed. */
  remaining: number | null;
  skus: string[] | null;
  seed: string;
  commitment: string;
  /** Random mode: how many pre-start entrants the draw ordered; null before the draw. */
  drawnCount: number | null;
  closedBroadcast: boolean;
};

type Entrant = {
  seq: number;
  shopper: string;
  /** The device the shopper entered with (the page's own id, else the fingerprint): the admission token carries it to the purchase's device rule. */
  device: string;
  token: string;
  /** null only on a shard, until the coordinator has numbered this arrival. */
  arrival: number | null;
  position: number | null;
  adm_token: string | null;
  adm_expires_ms: number | null;
};

/** What a socket remembers across hibernation. */
type Attachment = { token: string; shopper: string; position: number | null };

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS entrants (
    seq INTEGER PRIMARY KEY,
    shopper TEXT NOT NULL UNIQUE,
    device TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    arrival INTEGER UNIQUE,
    position INTEGER UNIQUE,
    arrived_ms INTEGER NOT NULL,
    adm_token TEXT,
    adm_expires_ms INTEGER
  );
  -- Each tick that raised the watermark: admitted through this position at this time (sale clock).
  -- Rows older than the admission window are folded into the state's lapsedThrough and deleted.
  CREATE TABLE IF NOT EXISTS admissions (through INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL);
`;

/**
 * Objects created before devices stopped being identities hold `device UNIQUE`: look-alike
 * phones would still lock each other out. SQLite cannot drop a column constraint, so the
 * table is rebuilt once, in one transaction.
 */
function dropDeviceUniqueness(sql: SqlStorage): void {
  const table = sql
    .exec<{ sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'entrants'")
    .toArray()[0];
  if (!table || !/device TEXT NOT NULL UNIQUE/.test(table.sql)) return;
  sql.exec("ALTER TABLE entrants RENAME TO entrants_old");
  sql.exec(SCHEMA);
  const columns = "seq, shopper, device, token, arrival, position, arrived_ms, adm_token, adm_expires_ms";
  sql.exec(`INSERT INTO entrants (${columns}) SELECT ${columns} FROM entrants_old`);
  sql.exec("DROP TABLE entrants_old");
  sql.exec("DROP TABLE IF EXISTS devices");
}

export class SaleQueue extends DurableObject<Env> {
  private config: Config | null = null;
  private state!: Durable;
  /** Highest arrival number handed out; positions of later arrivals follow it. */
  private arrivals = 0;
  private clockOverride: number | null = null;
  private stockOverride: number | null = null;
  private lastBroadcastMs = 0;
  private rateSamples: Array<{ ms: number; admitted: number }> = [];
  private startupError: unknown = null;
  /** Shard: local entrants so far (seq), progress, and enters waiting for their number. */
  private localSeq = 0;
  private lastStamp = 0;
  private progress: ShardProgress = { sealedMs: 0, appliedSeq: 0 };
  private waiters: Array<{ seq: number; wake: () => void }> = [];
  private merge: ArrivalMerge | null = null;
  /** When each socket was last answered (memory only: after hibernation the throttle simply restarts). */
  private lastMessageMs = new WeakMap<WebSocket, number>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      try {
        ctx.storage.sql.exec(SCHEMA);
        ctx.storage.transactionSync(() => dropDeviceUniqueness(ctx.storage.sql));
        this.config = this.read<Config>("config");
        this.state = this.read<Durable>("state") ?? this.freshState();
        this.arrivals = Number(
          ctx.storage.sql.exec<{ n: number | null }>("SELECT MAX(arrival) AS n FROM entrants").one().n ?? 0,
        );
        this.localSeq = Number(
          ctx.storage.sql.exec<{ n: number | null }>("SELECT MAX(seq) AS n FROM entrants").one().n ?? 0,
        );
        this.progress = this.read<ShardProgress>("progress") ?? this.progress;
        this.lastStamp = Number(
          ctx.storage.sql.exec<{ n: number | null }>("SELECT MAX(arrived_ms) AS n FROM entrants").one().n ?? 0,
        );
        if (this.config?.role.kind === "coordinator")
          this.merge = new ArrivalMerge(ctx.storage.sql, this.config.role.shards);
      } catch (err) {
        // Kept and rethrown by every call (outside blockConcurrencyWhile), so callers see
        // the cause and the runtime is not left with an object stuck in its constructor.
        this.startupError = err;
      }
    });
  }

  private alive(): void {
    if (this.startupError) throw this.startupError;
  }

  // ---- configuration (the sales engineer's facade calls these) ------------------------

  /**
   * Creates or retunes the sale's queue (rate, times, mode). The shard count is fixed by
   * the first call: a later call keeps it, since shoppers' places live on their shards.
   */
  async configure(config: QueueSaleConfig): Promise<void> {
    this.alive();
    const cancelled = this.config?.cancelled ?? false;
    const shards = this.config ? this.shardCount() : shardsFor(config.expectedShoppers);
    const role: Role = shards === 1 ? { kind: "single" } : { kind: "coordinator", shards };
    this.config = { ...config, cancelled, role };
    this.write("config", this.config);
    if (role.kind === "coordinator") {
      this.merge ??= new ArrivalMerge(this.ctx.storage.sql, shards);
      const { commitment } = this.state;
      await Promise.all(
        this.shardStubs().map((stub, index) => stub.configureShard(config, index, shards, cancelled, commitment)),
      );
    }
    await this.schedule(this.now());
  }

  async cancel(): Promise<void> {
    this.alive();
    if (!this.config) return;
    this.config = { ...this.config, cancelled: true };
    this.write("config", this.config);
    this.broadcastClosed();
    await this.fanOut();
  }

  /** 1 for a single-object queue (or one not configured yet), else the number of shards. */
  shardCount(): number {
    this.alive();
    const role = this.config?.role;
    return role && role.kind !== "single" ? role.shards : 1;
  }

  /** The shard count once the queue is configured (it never changes then); null before. */
  configuredShards(): number | null {
    this.alive();
    return this.config ? this.shardCount() : null;
  }

  stats(): QueueStats {
    this.alive();
    return {
      length: this.merge ? this.merge.resolvedCount + this.merge.pendingCount : this.arrivals,
      admittedThrough: this.state.meter.admittedThrough,
      lapsedThrough: this.state.lapsedThrough ?? 0,
      soldOut: this.state.soldOut,
      closed: this.isClosed(this.now()),
    };
  }

  /** Stock changed (sold out, or units came back): decide now, not at the next tick. */
  async stockChanged(): Promise<void> {
    await this.tick();
  }

  // ---- the door --------------------------------------------------------------------------

  /** `asShard`: the edge routed this entry to shard `asShard` of a sharded queue. */
  async enter(
    saleId: string,
    shopperId: string,
    device: string,
    asShard: number | null = null,
  ): Promise<Outcome<EnterAnswer>> {
    this.alive();
    // A shard whose configuration never arrived asks its coordinator, rather than
    // configuring itself from Redis as a lone queue with an order of its own.
    if (asShard !== null && !this.config) await this.setUpShard(saleId, asShard);
    const config = await this.ensureConfig(saleId);
    if (!config.ok) return config;
    const { value: sale } = config;
    // Entries reach shards directly; one that raced a reconfiguration is passed on.
    if (sale.role.kind === "coordinator") {
      const home = shardOf(shopperId, sale.role.shards);
      return this.shardStub(home).enter(saleId, shopperId, device, home);
    }
    // Minted before anything is read: no await may stand between the checks below and the
    // insert, or a double click could take two places (or two entries one arrival number).
    const fresh = await mintQueueToken(
      this.env.ADMISSION_JWT_SECRET,
      sale.saleId,
      sale.role.kind === "shard" ? sale.role.index : null,
    );
    const now = this.now();

    const existing = this.entrantByShopper(shopperId);
    // Re-entry answers as the first entry did: refreshing gives no advantage and costs no place.
    if (existing)
      return {
        ok: true,
        value: {
          queue_position: existing.position,
          estimated_wait_seconds: this.eta(existing.position, now),
          queue_token: existing.token,
        },
      };

    if (this.isClosed(now))
      return refuse(422, "sale_not_active", "This sale has ended or was cancelled; its queue is closed.");
    const opensAt = sale.startMs - sale.preQueueMinutes * 60_000;
    if (now < opensAt) return refuse(422, "sale_not_active", `The queue opens at ${new Date(opensAt).toISOString()}.`);

    // No device rule here: thousands of honest shoppers share a phone model, so a device is a
    // signal (counted at the edge), never a reason to refuse a place. One purchase per device is kept at purchase.
    if (sale.role.kind === "shard") return this.enterShard(sale, shopperId, device, fresh, now);

    // Random mode: the draw happens at the start, before any post-start arrival takes a position.
    if (sale.preQueueMode === "random" && now >= sale.startMs && this.state.drawnCount === null) this.draw();

    const arrival = this.arrivals + 1;
    const position = sale.preQueueMode === "random" && this.state.drawnCount === null ? null : arrival;
    const token = fresh;
    this.ctx.storage.sql.exec(
      "INSERT INTO entrants (shopper, device, token, arrival, position, arrived_ms) VALUES (?, ?, ?, ?, ?, ?)",
      shopperId,
      device,
      token,
      arrival,
      position,
      now,
    );
    this.arrivals = arrival;
    await this.schedule(now);
    return {
      ok: true,
      value: { queue_position: position, estimated_wait_seconds: this.eta(position, now), queue_token: token },
    };
  }

  async poll(token: string): Promise<Outcome<QueueView>> {
    this.alive();
    const entrant = this.entrantByToken(token);
    if (!entrant) return refuse(404, "not_found", "No place in this queue has that token.");
    return { ok: true, value: await this.viewOf(entrant, this.now()) };
  }

  // ---- live updates ----------------------------------------------------------------------

  override async fetch(request: Request): Promise<Response> {
    this.alive();
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket")
      return new Response("expected a WebSocket upgrade", { status: 426 });
    const token = new URL(request.url).pathname.split("/").pop() ?? "";
    const entrant = this.entrantByToken(decodeURIComponent(token));
    if (!entrant)
      return new Response(JSON.stringify({ error: "not_found", message: "No place in this queue has that token." }), {
        status: 404,
      });
    const pair = new WebSocketPair();
    const server = pair[1];
    // A few tabs per place, no more: the oldest sockets make way (a reload must not be refused),
    // so one token cannot fill the object's socket limit.
    const open = this.ctx.getWebSockets(`s:${entrant.shopper}`);
    for (const old of open.slice(0, Math.max(0, open.length - MAX_SOCKETS_PER_PLACE + 1)))
      try {
        old.close(1008, "too many connections for one place");
      } catch {
        /* already closing */
      }
    // Tagged by shopper so a newly admitted position finds its sockets without a scan.
    this.ctx.acceptWebSocket(server, [`s:${entrant.shopper}`]);
    const attachment: Attachment = { token: entrant.token, shopper: entrant.shopper, position: entrant.position };
    server.serializeAttachment(attachment);
    server.send(JSON.stringify(await this.viewOf(entrant, this.now())));
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  /**
   * Any message is a poll over the socket: the answer is the same view GET returns. At most
   * one answer per socket per MESSAGE_INTERVAL_MS: a chatty client costs no more than a polite one.
   */
  override async webSocketMessage(ws: WebSocket): Promise<void> {
    const now = Date.now();
    if (now - (this.lastMessageMs.get(ws) ?? 0) < MESSAGE_INTERVAL_MS) return;
    this.lastMessageMs.set(ws, now);
    try {
      const { token } = ws.deserializeAttachment() as Attachment;
      const entrant = this.entrantByToken(token);
      if (entrant) ws.send(JSON.stringify(await this.viewOf(entrant, this.now())));
    } catch (err) {
      // A bad message or a closed socket must not take the whole queue object down.
      console.error("queue socket message failed", err);
    }
  }

  /** A socket that failed is closed and forgotten; the object and every other socket carry on. */
  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    console.warn("queue socket error", error instanceof Error ? error.message : error);
    try {
      ws.close(1011, "socket error");
    } catch {
      /* already closed */
    }
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    try {
      ws.close(code === 1005 ? 1000 : code, "bye");
    } catch {
      /* already closed */
    }
  }

  // ---- the tick --------------------------------------------------------------------------

  override async alarm(): Promise<void> {
    await this.tick();
  }

  /**
   * Advances admission and reads stock. Its cost is fixed: one Redis read, O(1)
   * arithmetic, and work only for shoppers admitted by this tick who have a socket open.
   */
  async tick(): Promise<{ admittedThrough: number; soldOut: boolean; closed: boolean }> {
    this.alive();
    const now = this.now();
    const sale = this.config;
    if (!sale) return { admittedThrough: 0, soldOut: false, closed: false };
    if (sale.role.kind === "shard") return this.shardTick(sale, sale.role, now);
    if (this.isClosed(now)) {
      this.broadcastClosed();
      return { admittedThrough: this.state.meter.admittedThrough, soldOut: this.state.soldOut, closed: true };
    }
    if (now < sale.startMs) {
      await this.schedule(now);
      return { admittedThrough: 0, soldOut: false, closed: false };
    }
    // A coordinator's draw is fixed by the merge once every shard has sealed past the start.
    if (sale.preQueueMode === "random" && this.state.drawnCount === null && !this.merge) this.draw();

    const remaining = await this.readRemaining(sale.saleId);
    const wasSoldOut = this.state.soldOut;
    if (remaining !== null) this.state.soldOut = remaining <= 0;
    this.state.remaining = remaining;
    // Unknown stock (Redis not answering) holds the watermark where it is: admitting
    // blind could hand tokens to a crowd with nothing left to buy.
    const admitting = remaining !== null && remaining > 0;
    const before = this.state.meter.admittedThrough;
    // Credit accrues from the start, never from before it (nor from the epoch on a first tick).
    const meter = { ...this.state.meter, lastMs: Math.max(this.state.meter.lastMs, sale.startMs) };
    // Only numbered arrivals can be admitted; on a coordinator that is what the merge has numbered.
    const queued = this.merge ? this.merge.resolvedCount : this.arrivals;
    // Admitted-but-undecided shoppers never exceed a multiple of the units left: with one
    // unit, about two people hold a turn; a turn unused within its window lapses and frees room.
    const live = before - this.lapse(sale, now);
    const room = (remaining ?? 0) * (sale.admittedPerUnit ?? DEFAULTS.admittedPerUnit) - live;
    this.state.meter = advance(meter, now, sale.admissionRatePerSecond, queued, admitting, room);
    if (this.state.meter.admittedThrough > before)
      this.ctx.storage.sql.exec(
        "INSERT INTO admissions (through, at_ms) VALUES (?, ?)",
        this.state.meter.admittedThrough,
        now,
      );
    this.write("state", this.state);
    this.sampleRate(now);
    // Shards hear the watermark on their next report; sold out and resumed they hear at once.
    if (this.merge && this.state.soldOut !== wasSoldOut) await this.fanOut();

    if (this.state.soldOut !== wasSoldOut) await this.broadcastAll(now, true);
    else if (this.state.meter.admittedThrough > before)
      await this.notifyAdmitted(before, this.state.meter.admittedThrough, now);
    if (now - this.lastBroadcastMs >= BROADCAST_EVERY_MS) await this.broadcastAll(now, false);
    await this.schedule(now);
    return { admittedThrough: this.state.meter.admittedThrough, soldOut: this.state.soldOut, closed: false };
  }

  // ---- sharded queue: the coordinator's side ----------------------------------------------

  /** A shard reports its new arrivals and what it has applied; it gets back its numbers and the state. */
  report(report: ShardReport): ShardReply {
    this.alive();
    const sale = this.config;
    if (!sale || !this.merge) throw new Error("report to a queue that is not a coordinator");
    this.merge.accept(report);
    this.merge.resolve(sale.startMs, sale.preQueueMode === "random");
    if (sale.preQueueMode === "random" && this.state.drawnCount === null && this.merge.preStartCount !== null) {
      this.state.drawnCount = this.merge.preStartCount;
      this.write("state", this.state);
    }
    return { ...this.globalState(), resolutions: this.merge.resolutionsFor(report.shard) };
  }

  /** What a shard needs to configure itself, for one whose configureShard call was lost. */
  shardSetup(): { config: QueueSaleConfig; shards: number; cancelled: boolean; commitment: string } | null {
    this.alive();
    if (this.config?.role.kind !== "coordinator") return null;
    const { cancelled, role, ...config } = this.config;
    return { config, shards: role.shards, cancelled, commitment: this.state.commitment };
  }

  private async setUpShard(saleId: string, index: number): Promise<void> {
    const setup = await this.coordinatorStub(saleId).shardSetup();
    if (!setup) throw new Error(`sale ${saleId} has no sharded queue to join`);
    await this.configureShard(setup.config, index, setup.shards, setup.cancelled, setup.commitment);
  }

  private coordinatorStub(saleId: string): DurableObjectStub<SaleQueue> {
    const ns = this.env.SALE_QUEUE;
    return ns.get(ns.idFromName(coordinatorName(saleId)));
  }

  private globalState(): GlobalState {
    const drawn = this.state.drawnCount;
    return {
      admittedThrough: this.state.meter.admittedThrough,
      lapsedThrough: this.state.lapsedThrough ?? 0,
      soldOut: this.state.soldOut,
      cancelled: this.config?.cancelled ?? false,
      drawnCount: drawn,
      seed: drawn === null ? null : this.state.seed,
      commitment: this.state.commitment,
    };
  }

  /** Pushes the state to every shard now (sold out, resumed, cancelled), for their sockets. */
  private async fanOut(): Promise<void> {
    if (!this.merge) return;
    const state = this.globalState();
    const results = await Promise.allSettled(this.shardStubs().map((stub) => stub.pushState(state)));
    for (const r of results) if (r.status === "rejected") console.error("queue shard did not take the state", r.reason);
  }

  private shardStubs(): DurableObjectStub<SaleQueue>[] {
    return Array.from({ length: this.shardCount() }, (_, i) => this.shardStub(i));
  }

  private shardStub(index: number): DurableObjectStub<SaleQueue> {
    const ns = this.env.SALE_QUEUE;
    return ns.get(ns.idFromName(shardName(this.config!.saleId, index)));
  }

  // ---- sharded queue: a shard's side -------------------------------------------------------

  /** `commitment` is the coordinator's: the one draw's hash, the same on every shard's answers. */
  async configureShard(
    config: QueueSaleConfig,
    index: number,
    shards: number,
    cancelled: boolean,
    commitment: string,
  ): Promise<void> {
    this.alive();
    this.state.commitment = commitment;
    this.config = {
      ...config,
      cancelled: cancelled || (this.config?.cancelled ?? false),
      role: { kind: "shard", index, shards },
    };
    this.write("config", this.config);
    await this.schedule(this.now());
  }

  /** The coordinator's state, pushed at once when it matters to every socket. */
  async pushState(state: GlobalState): Promise<void> {
    this.alive();
    await this.applyGlobal(state, [], this.now());
  }

  private async enterShard(
    sale: Config,
    shopperId: string,
    device: string,
    token: string,
    now: number,
  ): Promise<Outcome<EnterAnswer>> {
    // Stamped with the clock read now: stamps never decrease along
    // seq (the merge relies on each shard's buckets being in seq order) and never fall
    // at or below what this shard has already reported as sealed.
    const stamp = Math.max(this.now(), this.progress.sealedMs + 1, this.lastStamp);
    this.lastStamp = stamp;
    const seq = this.localSeq + 1;
    this.ctx.storage.sql.exec(
      "INSERT INTO entrants (seq, shopper, device, token, arrival, position, arrived_ms) VALUES (?, ?, ?, ?, NULL, NULL, ?)",
      seq,
      shopperId,
      device,
      token,
      stamp,
    );
    this.localSeq = seq;
    // Random mode before the start has no position to wait for; otherwise the next reports number it.
    const waitsForDraw = sale.preQueueMode === "random" && this.state.drawnCount === null;
    const numbered = waitsForDraw ? Promise.resolve() : new Promise<void>((wake) => this.waiters.push({ seq, wake }));
    await this.schedule(now);
    await Promise.race([numbered, new Promise<void>((wake) => setTimeout(wake, RESOLVE_WAIT_MS))]);
    const position = this.entrantByToken(token)?.position ?? null;
    return {
      ok: true,
      value: { queue_position: position, estimated_wait_seconds: this.eta(position, this.now()), queue_token: token },
    };
  }

  /** Seals what has arrived, reports it, and applies the coordinator's answer. */
  private async shardTick(
    sale: Config,
    role: Extract<Role, { kind: "shard" }>,
    now: number,
  ): Promise<{ admittedThrough: number; soldOut: boolean; closed: boolean }> {
    if (this.isClosed(now)) {
      this.broadcastClosed();
      return { admittedThrough: this.state.meter.admittedThrough, soldOut: this.state.soldOut, closed: true };
    }
    this.progress.sealedMs = Math.max(this.progress.sealedMs, now, this.lastStamp);
    this.write("progress", this.progress);
    // Everything not yet numbered is (re)sent; the coordinator drops what it already has.
    const buckets = this.ctx.storage.sql
      .exec<{ ms: number; first: number; n: number }>(
        "SELECT arrived_ms AS ms, MIN(seq) AS first, COUNT(*) AS n FROM entrants WHERE seq > ? GROUP BY arrived_ms ORDER BY arrived_ms",
        this.progress.appliedSeq,
      )
      .toArray()
      .map((b): Bucket => [b.ms, b.first, b.n]);
    try {
      const reply = await this.coordinatorStub(sale.saleId).report({
        shard: role.index,
        sealedMs: this.progress.sealedMs,
        buckets,
        ackedSeq: this.progress.appliedSeq,
      });
      await this.applyGlobal(reply, reply.resolutions as Resolution[], now);
    } catch (err) {
      console.error("queue shard could not report", err);
    }
    await this.schedule(now);
    return {
      admittedThrough: this.state.meter.admittedThrough,
      soldOut: this.state.soldOut,
      closed: this.isClosed(now),
    };
  }

  private async applyGlobal(state: GlobalState, resolutions: Resolution[], now: number): Promise<void> {
    const sale = this.config;
    if (!sale) return;
    const sql = this.ctx.storage.sql;
    for (const [first, count, base] of resolutions) {
      if (first + count - 1 <= this.progress.appliedSeq) continue;
      sql.exec(
        "UPDATE entrants SET arrival = ? + seq - ? WHERE seq BETWEEN ? AND ?",
        base,
        first,
        first,
        first + count - 1,
      );
      this.progress.appliedSeq = first + count - 1;
    }
    this.write("progress", this.progress);
    const random = sale.preQueueMode === "random";
    if (random && state.drawnCount !== null && this.state.drawnCount === null && state.seed) {
      // The same draw every shard computes from the published seed: positions for this shard's pre-start arrivals.
      const rank = drawPermutation(state.seed, state.drawnCount);
      const drawn = sql
        .exec<{ seq: number; arrival: number }>(
          "SELECT seq, arrival FROM entrants WHERE arrival <= ?",
          state.drawnCount,
        )
        .toArray();
      for (const e of drawn)
        sql.exec("UPDATE entrants SET position = ? WHERE seq = ?", rank[e.arrival - 1]! + 1, e.seq);
      this.state = { ...this.state, seed: state.seed, drawnCount: state.drawnCount };
    }
    this.state.commitment = state.commitment;
    if (!random) sql.exec("UPDATE entrants SET position = arrival WHERE position IS NULL AND arrival IS NOT NULL");
    else if (this.state.drawnCount !== null)
      sql.exec("UPDATE entrants SET position = arrival WHERE position IS NULL AND arrival > ?", this.state.drawnCount);
    this.refreshAttachments();
    for (const w of this.waiters.filter((w) => w.seq <= this.progress.appliedSeq)) w.wake();
    this.waiters = this.waiters.filter((w) => w.seq > this.progress.appliedSeq);

    const before = this.state.meter.admittedThrough;
    const wasSoldOut = this.state.soldOut;
    this.state.meter = { ...this.state.meter, admittedThrough: Math.max(before, state.admittedThrough), lastMs: now };
    this.state.lapsedThrough = Math.max(this.state.lapsedThrough ?? 0, state.lapsedThrough ?? 0);
    this.state.soldOut = state.soldOut;
    this.write("state", this.state);
    this.sampleRate(now);
    if (state.cancelled && !sale.cancelled) {
      this.config = { ...sale, cancelled: true };
      this.write("config", this.config);
      this.broadcastClosed();
    } else if (this.state.soldOut !== wasSoldOut) await this.broadcastAll(now, true);
    else if (this.state.meter.admittedThrough > before)
      await this.notifyAdmitted(before, this.state.meter.admittedThrough, now);
    if (now - this.lastBroadcastMs >= BROADCAST_EVERY_MS) await this.broadcastAll(now, false);
  }

  // ---- test and bench hooks (refused in production) ----------------------------------------

  /** The sale's clock for tests and the local benchmark: admission is measured against it, not against sleeps. */
  setClockForTest(nowMs: number | null): void {
    this.assertTestEnvironment(true);
    this.clockOverride = nowMs;
  }

  /** Stands in for the Redis stock read when unit tests have no Redis. */
  setStockForTest(units: number | null): void {
    this.assertTestEnvironment(false);
    this.stockOverride = units;
  }

  /** Fills the queue with `count` synthetic entrants in one statement, for the tick benchmark. */
  fillForBench(count: number): number {
    this.assertTestEnvironment(true);
    const from = this.arrivals;
    this.ctx.storage.sql.exec(
      `WITH RECURSIVE n(i) AS (SELECT ? + 1 UNION ALL SELECT i + 1 FROM n WHERE i < ? + ?)
       INSERT INTO entrants (shopper, device, token, arrival, position, arrived_ms)
       SELECT 'bench-' || i, 'bench-dev-' || i, 'bench-token-' || i, i, i, ? FROM n`,
      from,
      from,
      count,
      this.now(),
    );
    this.arrivals = from + count;
    return this.arrivals;
  }

  // ---- internals -------------------------------------------------------------------------

  private now(): number {
    return this.clockOverride ?? Date.now();
  }

  private assertTestEnvironment(allowDevelopment: boolean): void {
    const e = this.env.ENVIRONMENT;
    if (e === "test" || (allowDevelopment && e === "development")) return;
    throw new Error("test hooks are refused outside the test environment");
  }

  private read<T>(key: string): T | null {
    const row = this.ctx.storage.sql.exec<{ v: string }>("SELECT v FROM kv WHERE k = ?", key).toArray()[0];
    return row ? (JSON.parse(row.v) as T) : null;
  }

  private write(key: string, value: unknown): void {
    this.ctx.storage.sql.exec(
      "INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
      key,
      JSON.stringify(value),
    );
  }

  private freshState(): Durable {
    // The seed exists from the object's first moment, so its hash is public before any draw.
    const seed = newSeed();
    const state: Durable = {
      meter: { admittedThrough: 0, credit: 0, lastMs: 0 },
      soldOut: false,
      remaining: null,
      skus: null,
      seed,
      commitment: commitmentOf(seed),
      drawnCount: null,
      closedBroadcast: false,
    };
    this.write("state", state);
    return state;
  }

  /**
   * A sale nobody configured this object for (the facade call was lost, or the object
   * was reset) is read from the Redis meta the prewarm wrote, never from Postgres.
   */
  private async ensureConfig(saleId: string): Promise<Outcome<Config>> {
    if (this.config) return { ok: true, value: this.config };
    let meta: SaleMeta;
    try {
      meta = await readMeta(this.env, saleId);
    } catch (err) {
      console.error("queue could not read sale meta", err);
      return refuse(503, "dependency_unavailable", "The sale's data is not answering; try again shortly.");
    }
    if (!meta.start_ms || !meta.end_ms) return refuse(404, "not_found", "Sale was not found.");
    if (meta.skus) this.state.skus = meta.skus.split(",").filter(Boolean);
    this.config = {
      saleId,
      startMs: Number(meta.start_ms),
      endMs: Number(meta.end_ms),
      preQueueMinutes: DEFAULTS.preQueueMinutes,
      preQueueMode: DEFAULTS.preQueueMode,
      admissionRatePerSecond: DEFAULTS.admissionRatePerSecond,
      expectedShoppers: DEFAULTS.expectedShoppers,
      cancelled: meta.cancelled === "1",
      role: { kind: "single" },
    };
    this.write("config", this.config);
    return { ok: true, value: this.config };
  }

  /**
   * Folds admissions older than the window into `lapsedThrough` and returns it. The log
   * holds one row per admitting tick within the window, so this is a few rows, never a walk.
   */
  private lapse(sale: Config, now: number): number {
    const cutoff = now - (sale.admissionWindowSeconds ?? DEFAULTS.admissionWindowSeconds) * 1000;
    const row = this.ctx.storage.sql
      .exec<{ n: number | null }>("SELECT MAX(through) AS n FROM admissions WHERE at_ms <= ?", cutoff)
      .one();
    const lapsed = Math.max(this.state.lapsedThrough ?? 0, Number(row.n ?? 0));
    if (lapsed > (this.state.lapsedThrough ?? 0)) {
      this.state.lapsedThrough = lapsed;
      this.ctx.storage.sql.exec("DELETE FROM admissions WHERE through <= ?", lapsed);
    }
    return lapsed;
  }

  /** When the turn of `position` lapses; a shard (whose coordinator keeps the log) knows only `lapsedThrough`. */
  private lapseAt(position: number): number {
    const row = this.ctx.storage.sql
      .exec<{ at: number }>("SELECT at_ms AS at FROM admissions WHERE through >= ? ORDER BY through LIMIT 1", position)
      .toArray()[0];
    if (!row) return Number.POSITIVE_INFINITY;
    return row.at + (this.config?.admissionWindowSeconds ?? DEFAULTS.admissionWindowSeconds) * 1000;
  }

  private isClosed(now: number): boolean {
    return !!this.config && (this.config.cancelled || now >= this.config.endMs);
  }

  /** Sum of the sale's SKU stock counters; null when Redis does not answer or was never prewarmed. */
  private async readRemaining(saleId: string): Promise<number | null> {
    if (this.stockOverride !== null) return this.stockOverride;
    try {
      const redis = createRedis(this.env);
      if (!this.state.skus) {
        const { skus } = await readMeta(this.env, saleId);
        if (!skus) return null;
        this.state.skus = skus.split(",").filter(Boolean);
      }
      if (this.state.skus.length === 0) return 0;
      const values = await redis.mget<(string | null)[]>(...this.state.skus.map((sku) => keys.stock(saleId, sku)));
      return values.reduce((sum, v) => sum + Math.max(0, Number(v ?? 0)), 0);
    } catch (err) {
      console.error("queue could not read stock", err);
      return null;
    }
  }

  private draw(): void {
    const count = this.arrivals;
    const rank = drawPermutation(this.state.seed, count);
    this.ctx.storage.transactionSync(() => {
      for (let i = 0; i < count; i++)
        this.ctx.storage.sql.exec("UPDATE entrants SET position = ? WHERE arrival = ?", rank[i]! + 1, i + 1);
    });
    this.state.drawnCount = count;
    this.write("state", this.state);
    this.refreshAttachments();
  }

  /** Sockets opened before their place had a position (random pre-start, or unresolved on a shard) learn it. */
  private refreshAttachments(): void {
    for (const ws of this.ctx.getWebSockets()) {
      const a = ws.deserializeAttachment() as Attachment;
      if (a.position !== null) continue;
      const position = this.entrantByToken(a.token)?.position ?? null;
      if (position !== null) ws.serializeAttachment({ ...a, position });
    }
  }

  private entrantByShopper(shopper: string): Entrant | undefined {
    return this.ctx.storage.sql
      .exec<Entrant>(
        "SELECT seq, shopper, device, token, arrival, position, adm_token, adm_expires_ms FROM entrants WHERE shopper = ?",
        shopper,
      )
      .toArray()[0];
  }

  private entrantByToken(token: string): Entrant | undefined {
    return this.ctx.storage.sql
      .exec<Entrant>(
        "SELECT seq, shopper, device, token, arrival, position, adm_token, adm_expires_ms FROM entrants WHERE token = ?",
        token,
      )
      .toArray()[0];
  }

  /** Admissions per second actually achieved over the last window; the configured rate until measured. */
  private admissionRate(): number {
    const rate = this.config?.admissionRatePerSecond ?? DEFAULTS.admissionRatePerSecond;
    const first = this.rateSamples[0];
    const last = this.rateSamples[this.rateSamples.length - 1];
    if (!first || !last || last.ms - first.ms < 1_000) return rate;
    const measured = ((last.admitted - first.admitted) * 1000) / (last.ms - first.ms);
    return measured > 0 ? measured : rate;
  }

  private sampleRate(now: number): void {
    this.rateSamples.push({ ms: now, admitted: this.state.meter.admittedThrough });
    while (this.rateSamples.length > 2 && now - this.rateSamples[0]!.ms > RATE_WINDOW_MS) this.rateSamples.shift();
  }

  private eta(position: number | null, now: number): number {
    const sale = this.config;
    if (!sale || this.state.soldOut || this.isClosed(now)) return 0;
    const untilStart = Math.max(0, sale.startMs - now) / 1000;
    // Before the draw a random-mode entrant could land anywhere among the pre-start crowd.
    const ahead = (position ?? this.arrivals) - this.state.meter.admittedThrough;
    return Math.max(0, Math.ceil(untilStart + Math.max(0, ahead) / this.admissionRate()));
  }

  private async viewOf(entrant: Entrant, now: number): Promise<QueueView> {
    const { admittedThrough } = this.state.meter;
    const base = { queue_position: entrant.position, admitted_through: admittedThrough };
    const draw = this.config?.preQueueMode === "random" ? this.drawInfo(entrant.arrival) : undefined;
    let view: QueueView;
    // Sold out outranks admitted: with nothing left, a token buys nothing. Returned stock
    // turns the same shopper back to admitted (or waiting) on the next look.
    if (this.isClosed(now)) view = { state: "closed", ...base, estimated_wait_seconds: 0 };
    else if (this.state.soldOut) view = { state: "sold_out", ...base, estimated_wait_seconds: 0 };
    else if (entrant.position !== null && entrant.position <= admittedThrough) {
      const lapseAt = this.lapseAt(entrant.position);
      // A turn not used within its window has lapsed: its room went to the next in line.
      if (entrant.position <= (this.state.lapsedThrough ?? 0) || lapseAt <= now)
        view = {
          state: "admitted",
          ...base,
          estimated_wait_seconds: 0,
          admission_expires_at: new Date(Math.min(lapseAt, now)).toISOString(),
          lapsed: true,
        };
      else
        view = {
          state: "admitted",
          ...base,
          estimated_wait_seconds: 0,
          ...(await this.admissionFor(entrant, now, lapseAt)),
        };
    } else view = { state: "waiting", ...base, estimated_wait_seconds: this.eta(entrant.position, now) };
    return draw ? { ...view, draw } : view;
  }

  private drawInfo(arrival: number | null): QueueView["draw"] {
    const drawn = this.state.drawnCount;
    return {
      commitment: this.state.commitment,
      seed: drawn === null ? null : this.state.seed,
      drawn_count: drawn,
      arrival_number: arrival,
    };
  }

  /**
   * The shopper's admission token: reused while valid, so polling twice does not mint twice.
   * It never outlives the turn's window (`lapseAt`): a lapsed turn cannot buy.
   */
  private async admissionFor(
    entrant: Entrant,
    now: number,
    lapseAt: number,
  ): Promise<{ admission_token: string; admission_expires_at: string }> {
    const lastExp = Math.floor(lapseAt / 1000) * 1000;
    if (
      entrant.adm_token &&
      entrant.adm_expires_ms &&
      (entrant.adm_expires_ms - now > 5_000 || entrant.adm_expires_ms >= lastExp)
    ) {
      return {
        admission_token: entrant.adm_token,
        admission_expires_at: new Date(entrant.adm_expires_ms).toISOString(),
      };
    }
    const ttl = Math.min(DEFAULTS.admissionTokenSeconds, Math.floor(lapseAt / 1000) - Math.floor(now / 1000));
    const { token, expiresAt } = await mintAdmissionToken(
      this.env.ADMISSION_JWT_SECRET,
      { sub: entrant.shopper, saleId: this.config!.saleId, jti: crypto.randomUUID(), device: entrant.device },
      now,
      Math.max(1, ttl),
    );
    this.ctx.storage.sql.exec(
      "UPDATE entrants SET adm_token = ?, adm_expires_ms = ? WHERE seq = ?",
      token,
      expiresAt.getTime(),
      entrant.seq,
    );
    return { admission_token: token, admission_expires_at: expiresAt.toISOString() };
  }

  /**
   * Tells the shoppers admitted by this tick, if they have a socket open. Whichever is
   * smaller is walked: the admitted range (by the position index) or the open sockets.
   */
  private async notifyAdmitted(from: number, through: number, now: number): Promise<void> {
    const sockets = this.ctx.getWebSockets();
    if (sockets.length === 0) return;
    const targets: WebSocket[] = [];
    if (through - from > sockets.length) {
      for (const ws of sockets) {
        const a = ws.deserializeAttachment() as Attachment;
        if (a.position !== null && a.position > from && a.position <= through) targets.push(ws);
      }
    } else {
      const rows = this.ctx.storage.sql.exec<{ shopper: string }>(
        "SELECT shopper FROM entrants WHERE position > ? AND position <= ?",
        from,
        through,
      );
      for (const { shopper } of rows) targets.push(...this.ctx.getWebSockets(`s:${shopper}`));
    }
    for (const ws of targets) {
      const a = ws.deserializeAttachment() as Attachment;
      const entrant = this.entrantByToken(a.token);
      if (entrant) this.send(ws, await this.viewOf(entrant, now));
    }
  }

  /**
   * Sends every open socket its state: at once when the sale sells out or stock comes
   * back (`stateChanged`), and every few seconds as the position update.
   */
  private async broadcastAll(now: number, stateChanged: boolean): Promise<void> {
    this.lastBroadcastMs = now;
    const { admittedThrough } = this.state.meter;
    for (const ws of this.ctx.getWebSockets()) {
      const a = ws.deserializeAttachment() as Attachment;
      const admitted = a.position !== null && a.position <= admittedThrough;
      if (admitted && !this.state.soldOut) {
        // Admitted sockets hold their token already; only a resumed sale sends it again.
        const entrant = stateChanged ? this.entrantByToken(a.token) : undefined;
        if (entrant) this.send(ws, await this.viewOf(entrant, now));
        continue;
      }
      const state = this.state.soldOut ? "sold_out" : "waiting";
      this.send(ws, {
        state,
        queue_position: a.position,
        admitted_through: admittedThrough,
        estimated_wait_seconds: state === "waiting" ? this.eta(a.position, now) : 0,
      });
    }
  }

  private broadcastClosed(): void {
    if (this.state.closedBroadcast) return;
    this.state.closedBroadcast = true;
    this.write("state", this.state);
    for (const ws of this.ctx.getWebSockets()) {
      const a = ws.deserializeAttachment() as Attachment;
      this.send(ws, {
        state: "closed",
        queue_position: a.position,
        admitted_through: this.state.meter.admittedThrough,
        estimated_wait_seconds: 0,
      });
      try {
        ws.close(1000, "queue closed");
      } catch {
        /* already closing */
      }
    }
  }

  private send(ws: WebSocket, view: QueueView): void {
    try {
      ws.send(JSON.stringify(view));
    } catch (err) {
      console.warn("queue socket send failed", err instanceof Error ? err.message : err);
    }
  }

  /**
   * Keeps exactly one alarm: at the start while the sale is in the future, every tick
   * while it runs, slower once sold out (returned stock also wakes it through stockChanged).
   * Alarms run on the real clock; the injectable clock only moves the sale's arithmetic.
   */
  private async schedule(now: number): Promise<void> {
    const sale = this.config;
    if (!sale || this.isClosed(now)) return;
    const real = Date.now();
    let at: number;
    if (sale.role.kind === "shard") {
      // Shards report from the moment the door opens: the global order needs every shard's seal.
      const opensAt = sale.startMs - sale.preQueueMinutes * 60_000;
      at = now < opensAt ? real + Math.min(opensAt - now, 60_000) : real + SHARD_TICK_MS;
    } else {
      at =
        now < sale.startMs
          ? real + Math.min(sale.startMs - now, 60_000)
          : real + (this.state.soldOut ? SOLD_OUT_TICK_MS : TICK_MS);
    }
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }
}
