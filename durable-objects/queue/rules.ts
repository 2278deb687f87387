/**
 * The queue's rules, as plain code over a store (store.ts) and a clock: no Durable Object,
 * no Redis, no sockets. The object (durable-objects/sale-queue.ts) runs them on its SQLite
 * store; a unit test or a simulation runs the very same rules on MemoryQueueStore.
 *
 * Driving them (every method takes the sale's time `now` explicitly; `now()` reads the clock):
 *
 *   const rules = new QueueRules({ store: new MemoryQueueStore(), clock: fixedClock(t), mintAdmission });
 *   rules.configure(config);                        // a QueueSaleConfig; a big expectedShoppers makes a coordinator
 *   rules.enter(shopper, device, queueToken, now);  // a place (or the same place again), or a refusal
 *   rules.tick(now, stockLeft, queued?, decided?);  // admits by rate, capped by admittedPerUnit × stockLeft
 *   rules.stockChanged(now, stockLeft);             // a unit sold or came back: the same as a tick now
 *   await rules.poll(queueToken, now);              // what the shopper is told: waiting, admitted (or lapsed), sold_out, closed
 *
 * The rules (docs/queue.md): every entrant gets an arrival number (1, 2, 3… in order of
 * arrival) and a position: the arrival number (fifo, and everyone after the start in
 * random mode) or its rank in the seeded draw (random mode, arrived before the start).
 * Admission is one watermark, `admittedThrough`: every position at or below it is admitted,
 * so admitting a thousand shoppers is one number changing, not a thousand writes.
 * Admitted-but-undecided shoppers never exceed `admittedPerUnit` × units left; a turn that
 * reserved is decided and frees its room at once, and a turn not used within
 * `admissionWindowSeconds` lapses and its room goes to the next in line.
 *
 * A shard (the sharded roles: docs/queue.md "Roles") keeps its entrants unnumbered until
 * its coordinator numbers them: `sealReport` says what it has, `applyGlobal` takes the answer.
 */
import { DEFAULTS } from "../../workers/config";
import { shardsFor } from "../../workers/queue/shards";
import type { EnterAnswer, QueueSaleConfig, QueueStats, QueueView, Refusal } from "../../workers/queue/types";
import { type Outcome, refuse } from "../../workers/queue/types";
import { commitmentOf, drawPermutation, newSeed } from "./draw";
import type { Resolution, ShardReport } from "./merge";
import { advance } from "./meter";
import {
  type Config,
  type Entrant,
  earlierCounts,
  type GlobalState,
  type Role,
  type SaleState,
  type ShardProgress,
  type ShardSetup,
} from "./model";
import type { QueueStore } from "./store";
import { type AdmissionMinter, AdmissionRate, estimateWait, type ViewSource, viewOf } from "./views";

export type { AdmissionMinter } from "./views";

/** A configuration kept (`before`: the shard count it replaced), or why its shard count was refused. */
export type Configured = { ok: true; config: Config; before: number } | { ok: false; problem: string };

/** The sale's clock. Alarms run on real time; this clock moves only the sale's arithmetic. */
export type Clock = { now(): number };
export const systemClock: Clock = { now: () => Date.now() };
/** A clock that stands still at `ms` (tests, the local benchmark, simulations). */
export const fixedClock = (ms: number): Clock => ({ now: () => ms });

export type QueueRulesDeps = {
  store: QueueStore;
  clock: Clock;
  mintAdmission: AdmissionMinter;
  /**
   * Called when entrants gained positions (the draw, a shard numbered): open sockets learn theirs.
   * `moved`: places already held changed too (the slow lane), so every socket's place is read again.
   */
  onPositions?: (moved?: boolean) => void;
};

/**
 * A place taken (`placed`: its local seq; `awaitsNumber`: a shard's entrant the coordinator
 * has yet to number) or kept (`placed: null`, re-entry), or a refusal.
 */
export type Entry = { ok: true; value: EnterAnswer; placed: { seq: number; awaitsNumber: boolean } | null } | Refusal;

/** What a tick does, decided before stock is read: nothing yet, a shard's report, the close, the wait for the start, admitting. */
export type TickPhase = "unconfigured" | "shard" | "closed" | "early" | "running";

/** What a tick (or a coordinator's answer on a shard) changed: the caller tells sockets and shards. */
export type TickChange = {
  phase: TickPhase;
  /** The watermark before and after: positions in (before, admittedThrough] were just admitted. */
  before: number;
  admittedThrough: number;
  soldOut: boolean;
  soldOutChanged: boolean;
  closed: boolean;
};

/** What a shard applied from its coordinator's answer. */
export type GlobalChange = TickChange & { appliedSeq: number; cancelledNow: boolean };

export class QueueRules implements ViewSource {
  readonly store: QueueStore;
  readonly mintAdmission: AdmissionMinter;
  private readonly clock: Clock;
  private readonly onPositions: (moved?: boolean) => void;
  private sale: Config | null;
  private kept: SaleState;
  /** Highest arrival number handed out; positions of later arrivals follow it. */
  private arrivals: number;
  private readonly rate = new AdmissionRate();
  /** Shard: local entrants so far (seq), the latest stamp, and what has been reported and applied. */
  private localSeq: number;
  private lastStamp: number;
  private progress: ShardProgress;

  constructor(deps: QueueRulesDeps) {
    this.store = deps.store;
    this.clock = deps.clock;
    this.mintAdmission = deps.mintAdmission;
    this.onPositions = deps.onPositions ?? (() => {});
    this.sale = this.store.read("config");
    this.kept = this.store.read("state") ?? this.freshState();
    this.arrivals = this.store.maxArrival();
    this.localSeq = this.store.maxSeq();
    this.lastStamp = this.store.maxArrivedMs();
    this.progress = this.store.read("progress") ?? { sealedMs: 0, appliedSeq: 0 };
  }

  now(): number {
    return this.clock.now();
  }

  get config(): Config | null {
    return this.sale;
  }

  get state(): SaleState {
    return this.kept;
  }

  /** Arrivals numbered so far (on a shard: the highest number this shard has applied). */
  get arrived(): number {
    return this.arrivals;
  }

  /** Re-reads the arrival count after places were added behind the rules' back (the local benchmark's fill). */
  recount(): number {
    this.arrivals = this.store.maxArrival();
    return this.arrivals;
  }

  // ---- configuration ---------------------------------------------------------------------

  /**
   * Creates or retunes the sale's queue (rate, times, mode, shard count). The count is the
   * admin's (`config.shards`), else the one in force, else sized from expectedShoppers. A
   * shopper's place lives on the object where they entered, so the count may rise until
   * the start (earlier counts are kept: a new entrant's home asks their earlier homes), and
   * may fall only before the door opens, when nobody can hold a place anywhere.
   */
  configure(config: QueueSaleConfig, now: number = this.now()): Configured {
    const sale = this.sale;
    const current = sale ? this.shardCount() : null;
    const shards = config.shards ?? current ?? shardsFor(config.expectedShoppers);
    let earlier = sale ? earlierCounts(sale.role) : [];
    if (sale && current !== null && shards !== current) {
      const opensAt = sale.startMs - sale.preQueueMinutes * 60_000;
      if (shards < current && now >= opensAt)
        return {
          ok: false,
          problem: `cannot be lowered from ${current} once the queue is open: places stay where shoppers entered`,
        };
      if (shards > current && now >= sale.startMs)
        return { ok: false, problem: `can be raised only before the sale starts (it has ${current})` };
      // Before the door opens nobody holds a place, so no earlier home needs asking.
      earlier = now < opensAt ? [] : [...new Set([...earlier, current])];
    }
    const cancelled = sale?.cancelled ?? false;
    const role: Role = shards === 1 ? { kind: "single" } : { kind: "coordinator", shards, earlier };
    return { ok: true, config: this.keepConfig({ ...config, cancelled, role }), before: current ?? shards };
  }

  /** This object is shard `index`; `commitment` is the coordinator's, the one draw's hash on every shard. */
  configureShard({ config, shards, cancelled, commitment, earlier }: ShardSetup, index: number): void {
    this.kept.commitment = commitment;
    this.keepConfig({
      ...config,
      cancelled: cancelled || (this.sale?.cancelled ?? false),
      role: { kind: "shard", index, shards, earlier },
    });
  }

  /** A sale nobody configured this object for, taken from what the prewarm wrote (a lone queue with defaults). */
  adopt(sale: { saleId: string; startMs: number; endMs: number; cancelled: boolean; skus: string[] | null }): Config {
    if (sale.skus) this.kept.skus = sale.skus;
    return this.keepConfig({
      saleId: sale.saleId,
      startMs: sale.startMs,
      endMs: sale.endMs,
      preQueueMinutes: DEFAULTS.preQueueMinutes,
      preQueueMode: DEFAULTS.preQueueMode,
      admissionRatePerSecond: DEFAULTS.admissionRatePerSecond,
      expectedShoppers: DEFAULTS.expectedShoppers,
      cancelled: sale.cancelled,
      role: { kind: "single" },
    });
  }

  /** Closes the queue for good; false when there is no queue to close. */
  cancel(): boolean {
    if (!this.sale) return false;
    this.keepConfig({ ...this.sale, cancelled: true });
    return true;
  }

  /** 1 for a single-object queue (or one not configured yet), else the number of shards. */
  shardCount(): number {
    const role = this.sale?.role;
    return role && role.kind !== "single" ? role.shards : 1;
  }

  isClosed(now: number): boolean {
    return !!this.sale && (this.sale.cancelled || now >= this.sale.endMs);
  }

  /** `length`: shoppers who entered; a coordinator passes its merge's count. */
  stats(now: number, length: number = this.arrivals): QueueStats {
    return {
      length,
      admittedThrough: this.kept.meter.admittedThrough,
      lapsedThrough: this.kept.lapsedThrough ?? 0,
      soldOut: this.kept.soldOut,
      closed: this.isClosed(now),
    };
  }

  // ---- the door --------------------------------------------------------------------------

  /**
   * Takes a place for the shopper, or answers with the one they have. Synchronous from the
   * checks to the insert: a double click cannot take two places (or two entries one number).
   */
  enter(shopperId: string, device: string, token: string, now: number): Entry {
    const sale = this.sale;
    if (!sale) return refuse(404, "not_found", "Sale was not found.");
    // Closed before anything else: a shopper who already holds a place is told so too, not handed it again.
    if (this.isClosed(now)) {
      const why = sale.cancelled ? "cancelled" : "ended";
      return refuse(
        422,
        "sale_not_active",
        `This sale ${why === "cancelled" ? "was cancelled" : "has ended"}; its queue is closed.`,
        [{ field: "sale", problem: why }],
      );
    }
    const existing = this.store.byShopper(shopperId);
    // Re-entry answers as the first entry did: refreshing gives no advantage and costs no place.
    if (existing) return { ok: true, value: this.answer(existing, now), placed: null };

    const opensAt = sale.startMs - sale.preQueueMinutes * 60_000;
    if (now < opensAt)
      return refuse(422, "sale_not_active", `The queue opens at ${new Date(opensAt).toISOString()}.`, [
        { field: "sale", problem: "not_started" },
      ]);

    // No device rule here: thousands of honest shoppers share a phone model, so a device is a
    // signal (counted at the edge), never a reason to refuse a place. One purchase per device is kept at purchase.
    if (sale.role.kind === "shard") return this.enterShard(sale, shopperId, device, token, now);

    // Random mode: the draw happens at the start, before any post-start arrival takes a position.
    if (sale.preQueueMode === "random" && now >= sale.startMs && this.kept.drawnCount === null) this.draw();

    const arrival = this.arrivals + 1;
    const position = sale.preQueueMode === "random" && this.kept.drawnCount === null ? null : arrival;
    const seq = this.store.insert({ shopper: shopperId, device, token, arrival, position, arrivedMs: now });
    this.arrivals = arrival;
    return { ok: true, value: this.answer({ token, position }, now), placed: { seq, awaitsNumber: false } };
  }

  /** The enter answer for a place, as it stands now. */
  answerFor(token: string, now: number): EnterAnswer | null {
    const entrant = this.store.byToken(token);
    return entrant ? this.answer(entrant, now) : null;
  }

  async poll(token: string, now: number): Promise<Outcome<QueueView>> {
    const entrant = this.store.byToken(token);
    if (!entrant) return refuse(404, "not_found", "No place in this queue has that token.");
    return { ok: true, value: await this.view(entrant, now) };
  }

  view(entrant: Entrant, now: number): Promise<QueueView> {
    return viewOf(this, entrant, now);
  }

  eta(position: number | null, now: number): number {
    const sale = this.sale;
    if (!sale || this.kept.soldOut || this.isClosed(now)) return 0;
    const rate = this.rate.perSecond(sale.admissionRatePerSecond ?? DEFAULTS.admissionRatePerSecond);
    return estimateWait(sale, this.kept.meter.admittedThrough, position, this.arrivals, now, rate);
  }

  /** When the turn of `position` lapses; a shard (whose coordinator keeps the log) knows only `lapsedThrough`. */
  lapseAt(position: number): number {
    const at = this.store.admittedAt(position);
    if (at === null) return Number.POSITIVE_INFINITY;
    return at + (this.sale?.admissionWindowSeconds ?? DEFAULTS.admissionWindowSeconds) * 1000;
  }

  // ---- the tick --------------------------------------------------------------------------

  /** Decides what a tick does now; at the start of a random-mode sale it fixes the draw first. */
  prepareTick(now: number): TickPhase {
    const sale = this.sale;
    if (!sale) return "unconfigured";
    if (sale.role.kind === "shard") return "shard";
    if (this.isClosed(now)) return "closed";
    if (now < sale.startMs) return "early";
    // A coordinator's draw is fixed by the merge once every shard has sealed past the start.
    if (sale.preQueueMode === "random" && this.kept.drawnCount === null && sale.role.kind !== "coordinator")
      this.draw();
    return "running";
  }

  /**
   * Advances admission against the units left (null: unknown, which holds the watermark).
   * O(1): arithmetic on the watermark and a lookup in the admissions log, never a walk.
   * `queued`: arrivals that can be admitted (a coordinator passes what its merge numbered).
   * `decided`: live turns (positions past `lapsedAt(now)`) that have reserved, as Redis counts them.
   */
  tick(now: number, stockLeft: number | null, queued: number = this.arrivals, decided = 0): TickChange {
    const phase = this.prepareTick(now);
    const before = this.kept.meter.admittedThrough;
    const wasSoldOut = this.kept.soldOut;
    const sale = this.sale;
    if (phase !== "running" || !sale) return this.change(phase, before, wasSoldOut, now);
    if (stockLeft !== null) this.kept.soldOut = stockLeft <= 0;
    this.kept.remaining = stockLeft;
    // Unknown stock (Redis not answering) holds the watermark where it is: admitting
    // blind could hand tokens to a crowd with nothing left to buy.
    const admitting = stockLeft !== null && stockLeft > 0;
    // Credit accrues from the start, never from before it (nor from the epoch on a first tick).
    const meter = { ...this.kept.meter, lastMs: Math.max(this.kept.meter.lastMs, sale.startMs) };
    // Admitted-but-undecided shoppers never exceed a multiple of the units left: with one
    // unit, about two people hold a turn. A turn that reserved is decided and holds no room
    // (else a crowd that bought at once would stall the queue for a whole window); a turn
    // unused within its window lapses and frees its room too.
    const live = before - this.lapse(sale, now);
    const undecided = live - Math.min(live, Math.max(0, decided));
    const room = (stockLeft ?? 0) * (sale.admittedPerUnit ?? DEFAULTS.admittedPerUnit) - undecided;
    this.state.meter = advance(meter, now, sale.admissionRatePerSecond, queued, admitting, room);
    if (this.kept.meter.admittedThrough > before) this.store.logAdmission(this.kept.meter.admittedThrough, now);
    this.store.write("state", this.kept);
    this.rate.sample(now, this.kept.meter.admittedThrough);
    return this.change(phase, before, wasSoldOut, now);
  }

  // ---- the slow lane ---------------------------------------------------------------------

  /**
   * True while a queue on one object (fifo or random) can still send the shoppers the door's
   * bot signals flagged to the slow lane: from the start until the first admission, once. Its
   * owner then reads the flags (the sale's `flagged` hash in Redis) and calls sortSlowLane
   * before the tick. A sharded queue has no slow lane yet (docs/queue.md).
   */
  slowLaneDue(now: number): boolean {
    const sale = this.sale;
    if (sale?.role.kind !== "single") return false;
    if (now < sale.startMs || this.isClosed(now) || this.kept.slowLane) return false;
    return this.kept.meter.admittedThrough === 0;
  }

  /**
   * The slow lane (docs/queue.md "The slow lane"): everyone who took a place before the first
   * admission keeps their order, but the flagged go behind all the unflagged. The order is the
   * places as they stand: arrival in fifo; in random mode the draw's (done first here if it is
   * due, as enter and the tick do it), then arrival for those who came after the start. Nobody
   * has been admitted yet, so this is a new order of the same places 1..n: places stay unique,
   * an unflagged shopper's place can only come forward, and re-entry answers the sorted place.
   * The draw itself is unchanged, so the published seed still checks it; the sort is a fixed
   * step after it. Once, at the start: by then the signals have seen the whole pre-queue, so a
   * farm's first accounts, flagged only when the third on their device arrived, are flagged too.
   * One walk over the entrants, as the random draw is; the tick stays O(1). Returns how many were flagged.
   */
  sortSlowLane(now: number, flagged: Iterable<string>): number {
    if (!this.slowLaneDue(now)) return 0;
    const count = this.arrivals;
    // The places as they stand, by arrival: a drawn entrant's is its draw rank + 1, anyone
    // else's its arrival. A draw that is due is computed here and placed once, already
    // sorted, instead of writing every place for the draw and again for the lane.
    const random = this.sale?.preQueueMode === "random";
    const drawDue = random && this.kept.drawnCount === null;
    const drawn = drawDue ? count : random ? (this.kept.drawnCount ?? 0) : 0;
    const rank = drawn > 0 ? drawPermutation(this.kept.seed, drawn) : new Uint32Array(0);
    const placeOf = (arrival: number) => (arrival <= drawn ? rank[arrival - 1]! + 1 : arrival);
    const slow: number[] = [];
    for (const shopper of flagged) {
      const arrival = this.store.byShopper(shopper)?.arrival;
      if (arrival != null && arrival <= count) slow.push(placeOf(arrival));
    }
    slow.sort((a, b) => a - b);
    if (drawDue) this.kept.drawnCount = count;
    if (slow.length > 0 || drawDue) {
      // moved[p - 1]: the 0-based new place of the one at place p.
      const moved = new Uint32Array(count);
      const fast = count - slow.length;
      let passed = 0;
      for (let place = 1; place <= count; place++) {
        if (slow[passed] === place) moved[place - 1] = fast + passed++;
        else moved[place - 1] = place - 1 - passed;
      }
      const byArrival = new Uint32Array(count);
      for (let arrival = 1; arrival <= count; arrival++) byArrival[arrival - 1] = moved[placeOf(arrival) - 1]!;
      this.store.placeDrawn(byArrival, count);
      this.onPositions(slow.length > 0);
    }
    this.kept.slowLane = { sorted: count, flagged: slow.length };
    this.store.write("state", this.kept);
    return slow.length;
  }

  /** Stock changed (sold out, or units came back): decided now, not at the next tick. */
  stockChanged(now: number, stockLeft: number | null, queued?: number, decided?: number): TickChange {
    return this.tick(now, stockLeft, queued, decided);
  }

  /** Every position at or below this has lapsed by `now`: a turn decided above it still counts as decided. */
  lapsedAt(now: number): number {
    return this.sale ? this.lapse(this.sale, now) : (this.kept.lapsedThrough ?? 0);
  }

  /** Records that every socket was told the queue closed; false when that was done already. */
  markClosedBroadcast(): boolean {
    if (this.kept.closedBroadcast) return false;
    this.kept.closedBroadcast = true;
    this.store.write("state", this.kept);
    return true;
  }

  // ---- the sharded roles -----------------------------------------------------------------

  /** The coordinator's state as its shards see it. */
  globalState(): GlobalState {
    const drawn = this.kept.drawnCount;
    return {
      admittedThrough: this.kept.meter.admittedThrough,
      lapsedThrough: this.kept.lapsedThrough ?? 0,
      soldOut: this.kept.soldOut,
      cancelled: this.sale?.cancelled ?? false,
      drawnCount: drawn,
      seed: drawn === null ? null : this.kept.seed,
      commitment: this.kept.commitment,
    };
  }

  /** Coordinator: the merge fixed how many arrived before the start; that is the draw. */
  fixDraw(preStartCount: number | null): void {
    if (this.sale?.preQueueMode !== "random" || this.kept.drawnCount !== null || preStartCount === null) return;
    this.kept.drawnCount = preStartCount;
    this.store.write("state", this.kept);
    // A coordinator that was a single object before its count was raised holds the first
    // arrivals itself: they are drawn like everyone else's.
    if (this.arrivals > 0) {
      this.store.placeDrawn(drawPermutation(this.kept.seed, preStartCount), preStartCount);
      this.store.placeByArrival(preStartCount);
      this.onPositions();
    }
  }

  /** Shard: seals what has arrived through `now` and says what to report (everything not yet applied is resent). */
  sealReport(now: number): Omit<ShardReport, "shard"> {
    this.progress.sealedMs = Math.max(this.progress.sealedMs, now, this.lastStamp);
    this.store.write("progress", this.progress);
    return {
      sealedMs: this.progress.sealedMs,
      buckets: this.store.bucketsAfter(this.progress.appliedSeq),
      ackedSeq: this.progress.appliedSeq,
    };
  }

  /** Shard: takes the coordinator's numbers for its arrivals, the draw, and the watermark. */
  applyGlobal(state: GlobalState, resolutions: Resolution[], now: number): GlobalChange {
    const before = this.kept.meter.admittedThrough;
    const wasSoldOut = this.kept.soldOut;
    const sale = this.sale;
    if (!sale) return { ...this.change("unconfigured", before, wasSoldOut, now), appliedSeq: 0, cancelledNow: false };
    for (const [first, count, base] of resolutions) {
      if (first + count - 1 <= this.progress.appliedSeq) continue;
      this.store.number(first, count, base);
      this.progress.appliedSeq = first + count - 1;
    }
    this.store.write("progress", this.progress);
    const random = sale.preQueueMode === "random";
    if (random && state.drawnCount !== null && this.kept.drawnCount === null && state.seed) {
      // The same draw every shard computes from the published seed: positions for this shard's pre-start arrivals.
      this.store.placeDrawn(drawPermutation(state.seed, state.drawnCount), state.drawnCount);
      this.kept = { ...this.kept, seed: state.seed, drawnCount: state.drawnCount };
    }
    this.kept.commitment = state.commitment;
    if (!random) this.store.placeByArrival(0);
    else if (this.kept.drawnCount !== null) this.store.placeByArrival(this.kept.drawnCount);
    this.onPositions();

    this.kept.meter = { ...this.kept.meter, admittedThrough: Math.max(before, state.admittedThrough), lastMs: now };
    this.kept.lapsedThrough = Math.max(this.kept.lapsedThrough ?? 0, state.lapsedThrough ?? 0);
    this.kept.soldOut = state.soldOut;
    this.store.write("state", this.kept);
    this.rate.sample(now, this.kept.meter.admittedThrough);
    const cancelledNow = state.cancelled && !sale.cancelled;
    if (cancelledNow) this.keepConfig({ ...sale, cancelled: true });
    return {
      ...this.change("shard", before, wasSoldOut, now),
      appliedSeq: this.progress.appliedSeq,
      cancelledNow,
    };
  }

  // ---- internals -------------------------------------------------------------------------

  private answer(place: { token: string; position: number | null }, now: number): EnterAnswer {
    return {
      queue_position: place.position,
      estimated_wait_seconds: this.eta(place.position, now),
      queue_token: place.token,
    };
  }

  /**
   * A shard's entrant: stamped with the clock read now. Stamps never decrease along seq (the
   * merge relies on each shard's buckets being in seq order) and never fall at or below
   * what this shard has already reported as sealed.
   */
  private enterShard(sale: Config, shopperId: string, device: string, token: string, now: number): Entry {
    const stamp = Math.max(now, this.progress.sealedMs + 1, this.lastStamp);
    this.lastStamp = stamp;
    const seq = this.localSeq + 1;
    this.store.insert({ seq, shopper: shopperId, device, token, arrival: null, position: null, arrivedMs: stamp });
    this.localSeq = seq;
    // Random mode before the start has no position to wait for; otherwise the next reports number it.
    const awaitsNumber = !(sale.preQueueMode === "random" && this.kept.drawnCount === null);
    return { ok: true, value: this.answer({ token, position: null }, now), placed: { seq, awaitsNumber } };
  }

  /** The draw at the start: everyone who arrived before it takes their rank; returns the ranks (by arrival). */
  private draw(): void {
    const count = this.arrivals;
    this.store.placeDrawn(drawPermutation(this.kept.seed, count), count);
    this.kept.drawnCount = count;
    this.store.write("state", this.kept);
    this.onPositions();
  }

  /**
   * Folds admissions older than the window into `lapsedThrough` and returns it. The log
   * holds one row per admitting tick within the window, so this is a few rows, never a walk.
   */
  private lapse(sale: Config, now: number): number {
    const cutoff = now - (sale.admissionWindowSeconds ?? DEFAULTS.admissionWindowSeconds) * 1000;
    const lapsed = Math.max(this.kept.lapsedThrough ?? 0, this.store.admittedThroughBy(cutoff));
    if (lapsed > (this.kept.lapsedThrough ?? 0)) {
      this.kept.lapsedThrough = lapsed;
      this.store.dropAdmissionsThrough(lapsed);
    }
    return lapsed;
  }

  private change(phase: TickPhase, before: number, wasSoldOut: boolean, now: number): TickChange {
    return {
      phase,
      before,
      admittedThrough: this.kept.meter.admittedThrough,
      soldOut: this.kept.soldOut,
      soldOutChanged: this.kept.soldOut !== wasSoldOut,
      closed: this.isClosed(now),
    };
  }

  private keepConfig(config: Config): Config {
    this.sale = config;
    this.store.write("config", config);
    return config;
  }

  private freshState(): SaleState {
    // The seed exists from the object's first moment, so its hash is public before any draw.
    const seed = newSeed();
    const state: SaleState = {
      meter: { admittedThrough: 0, credit: 0, lastMs: 0 },
      soldOut: false,
      remaining: null,
      skus: null,
      seed,
      commitment: commitmentOf(seed),
      drawnCount: null,
      closedBroadcast: false,
    };
    this.store.write("state", state);
    return state;
  }
}
