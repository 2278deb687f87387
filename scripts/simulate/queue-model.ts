/**
 * The narrow seam between the simulation and the queue's rules: what the Worker and the
 * queue object ask of them (enter, tick, poll), nothing about how they are stored. The
 * simulation drives the sale through this interface only.
 */

/** What a poll or a socket tells the shopper. An admitted turn carries its admission token; a lapsed one none. */
export type Turn =
  | { state: "waiting" | "sold_out" | "closed"; position: number | null }
  | { state: "admitted"; position: number; admissionToken: string | null };

export type Placed =
  | { ok: true; position: number | null; fresh: boolean }
  | { ok: false; status: number; code: string };

export type TickResult = {
  /** Shoppers this tick admitted, in position order. */
  admitted: string[];
  admittedThrough: number;
  soldOut: boolean;
  soldOutChanged: boolean;
};

export interface SimQueue {
  /** The queue objects this sale has (1, or a coordinator's shards): the simulation counts requests per object. */
  readonly objects: number;
  /** Entrants so far. */
  readonly length: number;
  /** The object a shopper's requests go to (its shard; 0 for a single object). */
  objectOf(shopper: string): number;
  enter(shopper: string, device: string, nowMs: number): Placed;
  /**
   * One alarm (or a stock change) with the units left as Redis says (null: Redis did not answer)
   * and the live turns that reserved (`decided`, the object's ZCOUNT of the sale's turns above `lapsedAt`).
   */
  tick(nowMs: number, stockLeft: number | null, decided: number): TickResult;
  /** True at the start until the first admission (fifo and random mode, one object): the object reads the door's flags and sorts the slow lane. */
  slowLaneDue(nowMs: number): boolean;
  /** Sends the flagged shoppers behind the unflagged (rules.ts sortSlowLane); how many it moved. */
  sortSlowLane(nowMs: number, flagged: string[]): number;
  /** Every position at or below this has lapsed: the object counts decided turns above it. */
  lapsedAt(nowMs: number): number;
  poll(shopper: string, nowMs: number): Promise<Turn>;
  /** The shopper's arrival number (global order of arrival), once numbered. */
  arrivalOf(shopper: string): number | null;
  positionOf(shopper: string): number | null;
}
