/**
 * The coordinator of a sharded queue (docs/queue.md "Roles"): named by the sale, it holds
 * the config, the stock, the watermark and the one global arrival order. Shards report
 * their arrivals; the merge (merge.ts) numbers them and the answer carries the watermark.
 */
import type { QueueSaleConfig } from "../../workers/queue/types";
import { ArrivalMerge, type ShardReport } from "./merge";
import type { MergeStore } from "./merge-store";
import { earlierCounts, type GlobalState, type ShardReply, type ShardSetup } from "./model";
import type { QueueRules } from "./rules";

/** What the coordinator asks of a shard (its Durable Object stub). */
export type ShardPeer = {
  configureShard(setup: ShardSetup, index: number): Promise<void>;
  pushState(state: GlobalState): Promise<void>;
};

/**
 * A shard not heard from for this long (real time; it reports every 100 ms) is sent its
 * setup again, at most once per this interval: a lost configureShard, or an object reset
 * that lost its config, would otherwise leave it silent until it is sealed out.
 */
export const RECONFIGURE_SILENT_AFTER_MS = 1_000;

export type CoordinatorDeps = {
  rules: QueueRules;
  store: MergeStore;
  shards: number;
  shard: (index: number) => ShardPeer;
  /** Real time, which silence is measured in (the sale's clock moves only its arithmetic). */
  realNow?: () => number;
  /** Runs work past the current call (the object's ctx.waitUntil): a shard's setup re-sent. */
  background?: (work: Promise<unknown>) => void;
};

export class Coordinator {
  readonly merge: ArrivalMerge;
  private readonly rules: QueueRules;
  private readonly shard: (index: number) => ShardPeer;
  private readonly realNow: () => number;
  private readonly background: (work: Promise<unknown>) => void;
  /** When each shard was last sent its setup because it was silent (real time). */
  private readonly resent = new Map<number, number>();

  constructor(deps: CoordinatorDeps) {
    this.rules = deps.rules;
    this.shard = deps.shard;
    this.realNow = deps.realNow ?? Date.now;
    this.background = deps.background ?? ((work) => void work);
    this.merge = new ArrivalMerge(deps.store, deps.shards, this.realNow(), deps.rules.arrived);
  }

  private get shards(): number {
    return this.merge.shardCount;
  }

  /** Shoppers who entered on any shard: numbered or still pending. */
  get length(): number {
    return this.merge.resolvedCount + this.merge.pendingCount;
  }

  /**
   * Tells every shard its index, the config, the draw's commitment and the earlier counts.
   * Shards a lowered count left out (only before the door opens: they hold nobody) are told
   * an index past the count, which retires them: no alarm, and entries passed on.
   */
  async configureShards(config: QueueSaleConfig, cancelled: boolean, before: number, shards: number): Promise<void> {
    if (shards > 0) this.merge.resize(shards, this.realNow());
    const setup = {
      config,
      shards,
      cancelled,
      commitment: this.rules.state.commitment,
      earlier: earlierCounts(this.rules.config!.role),
    };
    await Promise.all(
      Array.from({ length: Math.max(before, shards) }, (_, index) => this.shard(index).configureShard(setup, index)),
    );
  }

  /** A shard reports its new arrivals and what it has applied; it gets back its numbers and the state. */
  report(report: ShardReport): ShardReply {
    const sale = this.rules.config;
    if (!sale) throw new Error("report to a queue that is not a coordinator");
    const realNow = this.realNow();
    if (report.shard >= this.shards) return { ...this.rules.globalState(), resolutions: [] };
    this.merge.accept(report, realNow);
    this.merge.resolve(sale.startMs, sale.preQueueMode === "random", realNow);
    this.reconfigureSilent(realNow);
    this.rules.fixDraw(this.merge.preStartCount);
    return { ...this.rules.globalState(), resolutions: this.merge.resolutionsFor(report.shard) };
  }

  /** What a shard needs to configure itself, for one whose configureShard call was lost. */
  setup(): ShardSetup | null {
    const sale = this.rules.config;
    if (sale?.role.kind !== "coordinator") return null;
    const { cancelled, role, ...config } = sale;
    return {
      config,
      shards: role.shards,
      cancelled,
      commitment: this.rules.state.commitment,
      earlier: earlierCounts(role),
    };
  }

  /**
   * Shards silent for RECONFIGURE_SILENT_AFTER_MS are sent their setup again (a shard that
   * lost it cannot report); past SEAL_SILENT_AFTER_MS the merge numbers without them.
   */
  reconfigureSilent(realNow: number): void {
    const current = this.setup();
    if (!current) return;
    const setup = { ...current, shards: this.shards };
    for (const index of this.merge.silent(realNow, RECONFIGURE_SILENT_AFTER_MS)) {
      if (realNow - (this.resent.get(index) ?? Number.NEGATIVE_INFINITY) < RECONFIGURE_SILENT_AFTER_MS) continue;
      this.resent.set(index, realNow);
      const sent = this.shard(index).configureShard(setup, index);
      this.background(sent.catch((err) => console.error(`queue shard ${index} did not take its setup`, err)));
    }
  }

  /** Pushes the state to every shard now (sold out, resumed, cancelled), for their sockets. */
  async fanOut(): Promise<void> {
    const state = this.rules.globalState();
    const results = await Promise.allSettled(this.peers().map((peer) => peer.pushState(state)));
    for (const r of results) if (r.status === "rejected") console.error("queue shard did not take the state", r.reason);
  }

  private peers(): ShardPeer[] {
    return Array.from({ length: this.shards }, (_, i) => this.shard(i));
  }
}
