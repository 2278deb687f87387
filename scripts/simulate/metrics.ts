/**
 * What a run measured: counts per simulated second (the charts' series), refusals per
 * layer for bots and humans, each shopper's outcome, and the winners.
 */

export type Layer =
  | "address_limit"
  | "shopper_limit"
  | "device_limit"
  | "account_too_new"
  | "captcha_failed"
  | "sale_not_active"
  | "same_place"
  | "no_admission_token"
  | "turn_lapsed"
  | "redis_over_capacity"
  | "per_user_limit"
  | "device"
  | "sold_out"
  | "reserved";

export const LAYER_LABELS: Record<Layer, string> = {
  address_limit: "door: per-address limit (429)",
  shopper_limit: "door: per-shopper limit (429)",
  device_limit: "door: per-device limit (429)",
  account_too_new: "door: account younger than 24 h (403)",
  captcha_failed: "door: captcha (403)",
  sale_not_active: "queue: not open yet (422)",
  same_place: "queue: re-entry, same place (200)",
  no_admission_token: "purchase: no or expired admission token (401)",
  turn_lapsed: "purchase: turn lapsed (no token)",
  redis_over_capacity: "Redis over capacity (503)",
  per_user_limit: "purchase.lua: per-shopper limit",
  device: "purchase.lua: one purchase per device",
  sold_out: "purchase.lua: sold out",
  reserved: "purchase.lua: reserved",
};

export type Second = {
  /** Places taken in this second (fresh entries), and the queue's length at its end. */
  entered: number;
  queueLength: number;
  admittedThrough: number;
  /** Units reserved in this second. */
  reserved: number;
  doorRequests: number;
  purchaseRequests: number;
  /** Calls the Worker and the queue object made to Redis (each one Upstash command), sent and refused for capacity. */
  redisCalls: number;
  redisRefused: number;
  /** Commands Redis itself ran, those inside scripts included (INFO commandstats). */
  redisCommands: number;
  /** Requests to queue objects: all of them, and the busiest object's. */
  objectRequests: number;
  busiestObject: number;
};

export type Winner = {
  shopper: number;
  bot: boolean;
  units: number;
  atMs: number;
  arrival: number | null;
  position: number | null;
};

export class Metrics {
  readonly seconds = new Map<number, Second>();
  readonly botRequests = new Map<Layer, number>();
  readonly humanRequests = new Map<Layer, number>();
  readonly winners: Winner[] = [];
  /** Redis calls by what made them: sent, and refused for capacity. */
  readonly calls = new Map<"purchase" | "signals" | "stock" | "flags", { sent: number; refused: number }>();
  private perObject = new Map<number, Map<number, number>>();

  second(s: number): Second {
    let row = this.seconds.get(s);
    if (!row) {
      row = {
        entered: 0,
        queueLength: 0,
        admittedThrough: 0,
        reserved: 0,
        doorRequests: 0,
        purchaseRequests: 0,
        redisCalls: 0,
        redisRefused: 0,
        redisCommands: 0,
        objectRequests: 0,
        busiestObject: 0,
      };
      this.seconds.set(s, row);
    }
    return row;
  }

  count(bot: boolean, layer: Layer, n = 1): void {
    const map = bot ? this.botRequests : this.humanRequests;
    map.set(layer, (map.get(layer) ?? 0) + n);
  }

  call(kind: "purchase" | "signals" | "stock" | "flags", sent: boolean): void {
    const c = this.calls.get(kind) ?? { sent: 0, refused: 0 };
    if (sent) c.sent++;
    else c.refused++;
    this.calls.set(kind, c);
  }

  objectRequest(s: number, object: number, n = 1): void {
    let byObject = this.perObject.get(s);
    if (!byObject) {
      byObject = new Map();
      this.perObject.set(s, byObject);
    }
    const count = (byObject.get(object) ?? 0) + n;
    byObject.set(object, count);
    const row = this.second(s);
    row.objectRequests += n;
    if (count > row.busiestObject) row.busiestObject = count;
  }

  /** The second with the highest value of `pick`, and that value. */
  peak(pick: (row: Second) => number): { second: number; value: number } {
    let best = { second: 0, value: 0 };
    for (const [second, row] of this.seconds) if (pick(row) > best.value) best = { second, value: pick(row) };
    return best;
  }
}
