/**
 * The coordinator of a sharded queue (docs/queue.md "Roles"): named by the sale, it holds
 * the config, the stock, the watermark and the one global arrival order. Shards report
 * their arrivals; the merge (merge.ts) numbers them and the answer carries the watermark.
 */
import type { QueueSaleConfig } from "../../workers/queue/types";
import { ArrivalMerge, type ShardReport } from "./merge";
import type { GlobalState, ShardReply, ShardSetup } from "./model";
import type { QueueRules } from "./rules";

/** What the coordinator asks of a shard (its Durable Object stub). */
export type ShardPeer = {
  configureShard(
    config: QueueSaleConfig,
    index: number,
    shards: number,
    cancelled: boolean,
    commitment: string,
  ): Promise<void>;
  pushState(state: GlobalState): Promise<void>;
};

export class Coordinator {
  readonly merge: ArrivalMerge;

  constructor(
    private readonly rules: QueueRules,
    sql: SqlStorage,
    private readonly shards: number,
    private readonly shard: (index: number) => ShardPeer,
  ) {
    this.merge = new ArrivalMerge(sql, shards);
  }

  /** Shoppers who entered on any shard: numbered or still pending. */
  get length(): number {
    return this.merge.resolvedCount + this.merge.pendingCount;
  }

  /** Tells every shard its index, the config and the draw's commitment. */
  async configureShards(config: QueueSaleConfig, cancelled: boolean): Promise<void> {
    const { commitment } = this.rules.state;
    await Promise.all(
      this.peers().map((peer, index) => peer.configureShard(config, index, this.shards, cancelled, commitment)),
    );
  }

  /** A shard reports its new arrivals and what it has applied; it gets back its numbers and the state. */
  report(report: ShardReport): ShardReply {
    const sale = this.rules.config;
    if (!sale) throw new Error("report to a queue that is not a coordinator");
    this.merge.accept(report);
    this.merge.resolve(sale.startMs, sale.preQueueMode === "random");
    this.rules.fixDraw(this.merge.preStartCount);
    return { ...this.rules.globalState(), resolutions: this.merge.resolutionsFor(report.shard) };
  }

  /** What a shard needs to configure itself, for one whose configureShard call was lost. */
  setup(): ShardSetup | null {
    const sale = this.rules.config;
    if (sale?.role.kind !== "coordinator") return null;
    const { cancelled, role, ...config } = sale;
    return { config, shards: role.shards, cancelled, commitment: this.rules.state.commitment };
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
