/**
 * A shard of a sharded queue (docs/queue.md "Roles"): it holds entrants, sockets and tokens
 * for its part of the crowd and reports their arrivals to the coordinator every tick; the
 * coordinator's answer numbers them and carries the watermark (rules.ts `applyGlobal`).
 */
import type { ShardReport } from "./merge";
import type { GlobalState, ShardReply, ShardSetup } from "./model";
import type { QueueRules, TickChange } from "./rules";
import type { QueueSockets } from "./sockets";

/** How long a shard's enter waits for its global number before answering without it. */
const RESOLVE_WAIT_MS = 3_000;

/** What a shard asks of its coordinator (its Durable Object stub). */
export type CoordinatorPeer = {
  report(report: ShardReport): Promise<ShardReply>;
  shardSetup(): Promise<ShardSetup | null>;
};

export class Shard {
  /** Enters waiting for their number, woken when a report's answer numbers them. */
  private waiters: Array<{ seq: number; wake: () => void }> = [];

  constructor(
    private readonly rules: QueueRules,
    private readonly sockets: Pick<QueueSockets, "follow" | "broadcastClosed">,
    private readonly coordinator: () => CoordinatorPeer,
  ) {}

  /** Resolves once local seq `seq` is numbered, or after RESOLVE_WAIT_MS (the answer then has no position yet). */
  numbered(seq: number): Promise<void> {
    const numbered = new Promise<void>((wake) => this.waiters.push({ seq, wake }));
    return Promise.race([numbered, new Promise<void>((wake) => setTimeout(wake, RESOLVE_WAIT_MS))]);
  }

  /** Seals what has arrived, reports it, and applies the coordinator's answer. */
  async tick(index: number, now: number): Promise<TickChange> {
    if (this.rules.isClosed(now)) {
      this.sockets.broadcastClosed();
      return { ...this.unchanged(now), closed: true };
    }
    // Everything not yet numbered is (re)sent; the coordinator drops what it already has.
    const report = { shard: index, ...this.rules.sealReport(now) };
    try {
      const reply = await this.coordinator().report(report);
      await this.apply(reply, now);
    } catch (err) {
      console.error("queue shard could not report", err);
    }
    return this.unchanged(now);
  }

  /** The coordinator's state, pushed at once when it matters to every socket. */
  async push(state: GlobalState, now: number): Promise<void> {
    await this.apply({ ...state, resolutions: [] }, now);
  }

  private async apply(reply: ShardReply, now: number): Promise<void> {
    const { resolutions, ...state } = reply;
    const change = this.rules.applyGlobal(state, resolutions, now);
    if (change.phase === "unconfigured") return;
    for (const w of this.waiters.filter((w) => w.seq <= change.appliedSeq)) w.wake();
    this.waiters = this.waiters.filter((w) => w.seq > change.appliedSeq);
    if (change.cancelledNow) {
      this.sockets.broadcastClosed();
      await this.sockets.follow({ ...change, soldOutChanged: false, before: change.admittedThrough }, now);
    } else await this.sockets.follow(change, now);
  }

  private unchanged(now: number): TickChange {
    const { meter, soldOut } = this.rules.state;
    const through = meter.admittedThrough;
    return {
      phase: "shard",
      before: through,
      admittedThrough: through,
      soldOut,
      soldOutChanged: false,
      closed: this.rules.isClosed(now),
    };
  }
}
