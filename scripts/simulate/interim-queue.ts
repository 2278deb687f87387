/**
 * Stand-in for the queue's rules until durable-objects/ exposes them as plain functions
 * (issue 9, item 7): the object's own pure pieces (meter.ts's advance, draw.ts's
 * permutation) with the tick's glue restated from sale-queue.ts. Replaced by
 * queue-rules.ts once that refactor lands; the report says which one ran.
 */
import { drawPermutation } from "../../durable-objects/queue/draw";
import { advance, type Meter } from "../../durable-objects/queue/meter";
import { DEFAULTS } from "../../workers/config";
import type { QueueSaleConfig } from "../../workers/queue/client";
import { shardOf, shardsFor } from "../../workers/queue/shards";
import type { Placed, SimQueue, TickResult, Turn } from "./queue-model";

export class InterimQueue implements SimQueue {
  /** The sale's objects as the edge routes to them (workers/queue/shards.ts); the numbering here is one global order. */
  readonly objects: number;
  private arrivals = new Map<string, number>();
  private positions = new Map<string, number | null>();
  private byPosition: string[] = [""];
  private devices = new Map<string, string>();
  private meter: Meter = { admittedThrough: 0, credit: 0, lastMs: 0 };
  private log: Array<{ through: number; at: number }> = [];
  private lapsedThrough = 0;
  private soldOut = false;
  private drawn: number | null = null;

  constructor(
    private readonly sale: QueueSaleConfig,
    private readonly seed: string,
    private readonly mint: (shopper: string, device: string, nowMs: number, ttlSeconds: number) => Promise<string>,
  ) {
    this.objects = shardsFor(sale.expectedShoppers);
  }

  get length(): number {
    return this.arrivals.size;
  }

  objectOf(shopper: string): number {
    return this.objects > 1 ? shardOf(shopper, this.objects) : 0;
  }

  enter(shopper: string, device: string, nowMs: number): Placed {
    const known = this.positions.get(shopper);
    if (known !== undefined) return { ok: true, position: this.positionOf(shopper), fresh: false };
    if (nowMs >= this.sale.endMs) return { ok: false, status: 422, code: "sale_not_active" };
    if (nowMs < this.sale.startMs - this.sale.preQueueMinutes * 60_000)
      return { ok: false, status: 422, code: "sale_not_active" };
    const random = this.sale.preQueueMode === "random";
    if (random && nowMs >= this.sale.startMs && this.drawn === null) this.draw();
    const arrival = this.arrivals.size + 1;
    this.arrivals.set(shopper, arrival);
    this.devices.set(shopper, device);
    const position = random && this.drawn === null ? null : arrival;
    this.positions.set(shopper, position);
    if (position !== null) this.byPosition[position] = shopper;
    return { ok: true, position, fresh: true };
  }

  tick(nowMs: number, stockLeft: number | null): TickResult {
    const wasSoldOut = this.soldOut;
    const before = this.meter.admittedThrough;
    if (nowMs < this.sale.startMs)
      return { admitted: [], admittedThrough: before, soldOut: false, soldOutChanged: false };
    if (this.sale.preQueueMode === "random" && this.drawn === null) this.draw();
    if (stockLeft !== null) this.soldOut = stockLeft <= 0;
    const admitting = stockLeft !== null && stockLeft > 0;
    const windowMs = (this.sale.admissionWindowSeconds ?? DEFAULTS.admissionWindowSeconds) * 1000;
    while (this.log.length > 0 && this.log[0]!.at <= nowMs - windowMs) this.lapsedThrough = this.log.shift()!.through;
    const room =
      (stockLeft ?? 0) * (this.sale.admittedPerUnit ?? DEFAULTS.admittedPerUnit) - (before - this.lapsedThrough);
    const meter = { ...this.meter, lastMs: Math.max(this.meter.lastMs, this.sale.startMs) };
    this.meter = advance(meter, nowMs, this.sale.admissionRatePerSecond, this.arrivals.size, admitting, room);
    const through = this.meter.admittedThrough;
    if (through > before) this.log.push({ through, at: nowMs });
    return {
      admitted: this.byPosition.slice(before + 1, through + 1),
      admittedThrough: through,
      soldOut: this.soldOut,
      soldOutChanged: this.soldOut !== wasSoldOut,
    };
  }

  async poll(shopper: string, nowMs: number): Promise<Turn> {
    const position = this.positionOf(shopper);
    if (nowMs >= this.sale.endMs) return { state: "closed", position };
    if (this.soldOut) return { state: "sold_out", position };
    if (position === null || position > this.meter.admittedThrough) return { state: "waiting", position };
    const at = this.log.find((l) => l.through >= position)?.at;
    const windowMs = (this.sale.admissionWindowSeconds ?? DEFAULTS.admissionWindowSeconds) * 1000;
    if (position <= this.lapsedThrough || at === undefined || at + windowMs <= nowMs)
      return { state: "admitted", position, admissionToken: null };
    const ttl = Math.min(DEFAULTS.admissionTokenSeconds, Math.floor((at + windowMs) / 1000) - Math.floor(nowMs / 1000));
    return {
      state: "admitted",
      position,
      admissionToken: await this.mint(shopper, this.devices.get(shopper)!, nowMs, Math.max(1, ttl)),
    };
  }

  arrivalOf(shopper: string): number | null {
    return this.arrivals.get(shopper) ?? null;
  }

  positionOf(shopper: string): number | null {
    return this.positions.get(shopper) ?? null;
  }

  private draw(): void {
    const count = this.arrivals.size;
    const rank = drawPermutation(this.seed, count);
    for (const [shopper, arrival] of this.arrivals) {
      const position = rank[arrival - 1]! + 1;
      this.positions.set(shopper, position);
      this.byPosition[position] = shopper;
    }
    this.drawn = count;
  }
}
