/**
 * The queue's own rules (durable-objects/queue/rules.ts) on their in-memory store, driven
 * through the simulation's seam (queue-model.ts): the same enter, tick and poll the queue
 * object runs, on the simulated clock.
 *
 * One object holds the order. A sale this size is sharded in production (a coordinator and
 * shardsFor(expected) shards); the shards' merge (merge.ts) runs on SQLite and is not
 * driven here, so the order is the single object's: by arrival time, as the merge's is,
 * except that arrivals in the same millisecond on different shards keep the order they
 * reached the object in rather than the shard index. Requests are still counted per
 * object the edge would route them to (shardOf), so the load figures are the sharded sale's.
 */
import { commitmentOf } from "../../durable-objects/queue/draw";
import { MemoryQueueStore } from "../../durable-objects/queue/memory-store";
import { type AdmissionMinter, QueueRules } from "../../durable-objects/queue/rules";
import { SHOPPERS_PER_SHARD, shardOf, shardsFor } from "../../workers/queue/shards";
import type { QueueSaleConfig } from "../../workers/queue/types";
import type { Placed, SimQueue, TickResult, Turn } from "./queue-model";

const tokenOf = (shopper: string) => `queue-token-${shopper}`;

export class RulesQueue implements SimQueue {
  readonly objects: number;
  private readonly rules: QueueRules;
  private now = 0;

  /** `seed`: the draw's seed (random mode), fixed so the same run draws the same order. */
  constructor(sale: QueueSaleConfig, seed: string, mintAdmission: AdmissionMinter) {
    this.objects = shardsFor(sale.expectedShoppers);
    const store = new MemoryQueueStore();
    const clock = { now: () => this.now };
    const fresh = new QueueRules({ store, clock, mintAdmission });
    fresh.configure({ ...sale, expectedShoppers: Math.min(sale.expectedShoppers, SHOPPERS_PER_SHARD) });
    store.write("state", { ...fresh.state, seed, commitment: commitmentOf(seed) });
    this.rules = new QueueRules({ store, clock, mintAdmission });
  }

  get length(): number {
    return this.rules.arrived;
  }

  objectOf(shopper: string): number {
    return this.objects > 1 ? shardOf(shopper, this.objects) : 0;
  }

  enter(shopper: string, device: string, nowMs: number): Placed {
    this.now = nowMs;
    const entry = this.rules.enter(shopper, device, tokenOf(shopper), nowMs);
    if (!entry.ok) return { ok: false, status: entry.status, code: entry.code };
    return { ok: true, position: entry.value.queue_position, fresh: entry.placed !== null };
  }

  slowLaneDue(nowMs: number): boolean {
    return this.rules.slowLaneDue(nowMs);
  }

  sortSlowLane(nowMs: number, flagged: string[]): number {
    this.now = nowMs;
    return this.rules.sortSlowLane(nowMs, flagged);
  }

  lapsedAt(nowMs: number): number {
    return this.rules.lapsedAt(nowMs);
  }

  tick(nowMs: number, stockLeft: number | null, decided: number): TickResult {
    this.now = nowMs;
    const change = this.rules.tick(nowMs, stockLeft, undefined, decided);
    return {
      admitted:
        change.admittedThrough > change.before
          ? this.rules.store.shoppersBetween(change.before, change.admittedThrough)
          : [],
      admittedThrough: change.admittedThrough,
      soldOut: change.soldOut,
      soldOutChanged: change.soldOutChanged,
    };
  }

  async poll(shopper: string, nowMs: number): Promise<Turn> {
    this.now = nowMs;
    const outcome = await this.rules.poll(tokenOf(shopper), nowMs);
    if (!outcome.ok) return { state: "closed", position: null };
    const view = outcome.value;
    if (view.state === "admitted")
      return { state: "admitted", position: view.queue_position!, admissionToken: view.admission_token ?? null };
    return { state: view.state, position: view.queue_position };
  }

  arrivalOf(shopper: string): number | null {
    return this.rules.store.byShopper(shopper)?.arrival ?? null;
  }

  positionOf(shopper: string): number | null {
    return this.rules.store.byShopper(shopper)?.position ?? null;
  }
}
