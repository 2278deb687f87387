/**
 * The queue object as the local stack runs it: the production SaleQueue plus what the
 * queue benchmark (scripts/bench/queue.ts, through queue-bench-route.ts) drives: a
 * synthetic crowd in one statement, and a tick at a chosen sale time. dev-worker.ts
 * exports it under the binding's class name; production never imports this file
 * (npm run check:deploy looks for it in the bundle).
 */
import { fixedClock } from "../../durable-objects/queue/rules";
import { SaleQueue } from "../../durable-objects/sale-queue";

export class BenchSaleQueue extends SaleQueue {
  /** Adds `count` numbered places after the last, all arrived now; returns the arrivals. */
  fillForBench(count: number): number {
    const from = this.rules.arrived;
    this.ctx.storage.sql.exec(
      `WITH RECURSIVE n(i) AS (SELECT ? + 1 UNION ALL SELECT i + 1 FROM n WHERE i < ? + ?)
       INSERT INTO entrants (shopper, device, token, arrival, position, arrived_ms)
       SELECT 'bench-' || i, 'bench-dev-' || i, 'bench-token-' || i, i, i, ? FROM n`,
      from,
      from,
      count,
      this.rules.now(),
    );
    return this.rules.recount();
  }

  /** Moves the sale's clock to `ms` (it stays there) and ticks: admission measured against it, not against sleeps. */
  tickAt(ms: number): ReturnType<SaleQueue["tick"]> {
    this.clock = fixedClock(ms);
    return this.tick();
  }
}
