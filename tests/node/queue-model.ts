/**
 * The queue's rules against a plain model of them, under random sequences of entries,
 * re-entries, clock moves, ticks, stock changes, polls and a cancel, in fifo and random mode.
 * The model is written from docs/queue.md, not from rules.ts: places in arrival order (in
 * random mode, the pre-start entrants by the draw the published seed recomputes, at the
 * start, and later arrivals after them), the same place on re-entry, admission only with
 * stock and within the outstanding cap, at no more than the rate, a turn unused within its
 * window lapsing, and the slow lane (the flagged sent behind the unflagged, once, before
 * the first admission, each lane in its order). After every step the real rules (on
 * whichever store the caller gives) agree with it.
 *
 * Shared by tests/node/queue-model.test.ts (the in-memory store) and
 * tests/unit/queue-model.test.ts (the SQLite store, inside a Durable Object).
 */
import fc from "fast-check";
import { expect } from "vitest";
import { commitmentOf, drawPermutation } from "../../durable-objects/queue/draw";
import { type AdmissionMinter, QueueRules } from "../../durable-objects/queue/rules";
import type { QueueStore } from "../../durable-objects/queue/store";
import { mintAdmissionToken } from "../../workers/auth/admission";
import type { QueueSaleConfig } from "../../workers/queue/types";
import { queueSale, START } from "./queue-sale";

const SHOPPERS = 12;
const PRE_QUEUE_MINUTES = 5;
const OPENS = START - PRE_QUEUE_MINUTES * 60_000;
const END = START + 15 * 60_000;
const WINDOW_SECONDS = 30;

// The object's own minter: a token's expiry is whole seconds, as its JWT's `exp` is.
const mintAdmission: AdmissionMinter = (claims, now, ttl) => mintAdmissionToken("model-secret", claims, now, ttl);

type Settings = { rate: number; perUnit: number; mode: "fifo" | "random" };

class Model {
  now = OPENS - 60_000;
  /** Shopper index → place (null: random mode, before the draw), in arrival order. */
  readonly places = new Map<number, number | null>();
  /** Random mode: the draw was made (at the start, by the first entry, tick or sort then). */
  drawn = false;
  admittedThrough = 0;
  /** The watermark after each admitting tick, and when: turns lapse by it. */
  readonly admissions: Array<{ through: number; at: number }> = [];
  /** When credit last started accruing (the meter's clock): never before the start. */
  meterMs = START;
  stock: number | null = null;
  soldOut = false;
  cancelled = false;
  /** The slow lane was sorted (once, from the start until the first admission). */
  sorted = false;
  /** The draw's commitment as published before the start. */
  commitment = "";

  constructor(readonly settings: Settings) {}

  get arrived(): number {
    return this.places.size;
  }

  closed(): boolean {
    return this.cancelled || this.now >= END;
  }

  /** Positions whose turn was given at least a window ago. */
  lapsedThrough(): number {
    let lapsed = 0;
    for (const a of this.admissions) if (a.at + WINDOW_SECONDS * 1000 <= this.now) lapsed = a.through;
    return lapsed;
  }

  admittedAt(position: number): number | null {
    return this.admissions.find((a) => a.through >= position)?.at ?? null;
  }

  /**
   * Random mode, at the start: everyone who arrived before it takes their draw rank + 1, from
   * the seed the queue publishes then (checked against the commitment it published before).
   */
  drawIfDue(seed: string): void {
    if (this.settings.mode !== "random" || this.drawn || this.closed() || this.now < START) return;
    expect(commitmentOf(seed)).toBe(this.commitment);
    const rank = drawPermutation(seed, this.arrived);
    [...this.places.keys()].forEach((who, arrival) => {
      this.places.set(who, rank[arrival]! + 1);
    });
    this.drawn = true;
    if (this.arrived > 1) seen.add("draw: pre-start entrants placed");
  }
}

type Real = { rules: QueueRules; clock: { ms: number } };

/** Which rules the runs reached, so the property cannot pass by never reaching one. */
const seen = new Set<string>();
export const RULES_TO_REACH = [
  "enter: a new place",
  "enter: the same place again",
  "enter: refused before the door opens",
  "enter: refused once closed",
  "enter: refused once closed, place held",
  "tick: admitted",
  "tick: held back by the cap",
  "poll: waiting",
  "poll: admitted",
  "poll: lapsed",
  "poll: sold out",
  "poll: closed",
  "slow lane: flagged sent behind",
  "slow lane: too late, places kept",
  "draw: pre-start entrants placed",
  "enter: no place before the draw",
  "slow lane: drawn places sorted",
];
type Cmd = fc.AsyncCommand<Model, Real>;

const shopper = (i: number) => `shopper-${i}`;
const tokenOf = (i: number) => `token-${i}`;

class Enter implements Cmd {
  constructor(readonly who: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const before = r.rules.stats(m.now).length;
    const held = m.places.get(this.who);
    const entry = r.rules.enter(shopper(this.who), `same-phone-model`, tokenOf(this.who), m.now);
    if (m.now < OPENS || m.closed()) {
      seen.add(
        m.now < OPENS
          ? "enter: refused before the door opens"
          : `enter: refused once closed${held ? ", place held" : ""}`,
      );
      // A closed or not yet open door gives no place, not even the one held before.
      expect(entry).toMatchObject({ ok: false, code: "sale_not_active" });
      expect(r.rules.stats(m.now).length).toBe(before);
      return;
    }
    if (!entry.ok) throw new Error(`entry refused: ${entry.code}`);
    seen.add(held === undefined ? "enter: a new place" : "enter: the same place again");
    // A new entrant after the start makes the draw first; re-entry only answers the place held.
    if (held === undefined) m.drawIfDue(r.rules.state.seed);
    const waitsForDraw = m.settings.mode === "random" && !m.drawn;
    if (held === undefined) m.places.set(this.who, waitsForDraw ? null : m.arrived + 1);
    if (waitsForDraw) seen.add("enter: no place before the draw");
    // Arrival order, and the first place again on re-entry: refreshing buys nothing.
    expect(entry.value.queue_position).toBe(m.places.get(this.who));
    expect(entry.value.queue_token).toBe(tokenOf(this.who));
    expect(r.rules.stats(m.now).length).toBe(m.arrived);
  }
  toString = () => `enter(${this.who})`;
}

class Wait implements Cmd {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    m.now += this.ms;
    r.clock.ms = m.now;
  }
  toString = () => `wait ${this.ms} ms`;
}

/** A tick, or a stock change decided at once: the same rule, with the units left as Redis has them. */
class Tick implements Cmd {
  constructor(
    readonly stock: number | null,
    readonly how: "tick" | "stockChanged",
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const before = m.admittedThrough;
    const change = r.rules[this.how](m.now, this.stock);
    const after = change.admittedThrough;
    const running = !m.closed() && m.now >= START;
    m.drawIfDue(r.rules.state.seed);
    if (!running) {
      expect(after).toBe(before);
      return;
    }
    if (this.stock !== null) {
      m.stock = this.stock;
      m.soldOut = this.stock <= 0;
    }
    const elapsed = Math.max(0, m.now - m.meterMs);
    m.meterMs = Math.max(m.meterMs, m.now);
    const admitted = after - before;
    const waiting = m.arrived - before;
    const room = (this.stock ?? 0) * m.settings.perUnit - (before - m.lapsedThrough());
    expect(admitted).toBeGreaterThanOrEqual(0);
    expect(after).toBeLessThanOrEqual(m.arrived);
    // No stock, or stock unknown: nobody is admitted to buy nothing.
    if (this.stock === null || this.stock <= 0) expect(admitted).toBe(0);
    // Admission follows the stock: never more live turns than perUnit × units left.
    if (admitted > 0) expect(after - m.lapsedThrough()).toBeLessThanOrEqual(m.settings.perUnit * (this.stock ?? 0));
    // Never faster than the rate (less than one admission of credit carries over).
    expect(admitted).toBeLessThan(1 + (m.settings.rate * elapsed) / 1000);
    // And never stuck: a second of credit with room and someone waiting admits someone.
    if (this.stock !== null && this.stock > 0 && waiting > 0 && room >= 1 && m.settings.rate * elapsed >= 1000)
      expect(admitted).toBeGreaterThanOrEqual(1);
    if (admitted > 0) seen.add("tick: admitted");
    if (this.stock !== null && this.stock > 0 && waiting > 0 && room < 1 && m.settings.rate * elapsed >= 1000)
      seen.add("tick: held back by the cap");
    if (admitted > 0) m.admissions.push({ through: after, at: m.now });
    m.admittedThrough = after;
  }
  toString = () => `${this.how}(stock ${this.stock})`;
}

class Poll implements Cmd {
  constructor(readonly who: number) {}
  check = (m: Readonly<Model>) => m.places.has(this.who);
  async run(m: Model, r: Real) {
    const position = m.places.get(this.who)!;
    const outcome = await r.rules.poll(tokenOf(this.who), m.now);
    if (!outcome.ok) throw new Error(`poll refused: ${outcome.code}`);
    const view = outcome.value;
    expect(view.queue_position).toBe(position);
    expect(view.admitted_through).toBe(m.admittedThrough);
    const state = m.closed()
      ? "closed"
      : m.soldOut
        ? "sold_out"
        : position === null || position > m.admittedThrough
          ? "waiting"
          : "admitted";
    expect(view.state).toBe(state);
    if (state !== "admitted") {
      seen.add(`poll: ${state.replace("_", " ")}`);
      return;
    }
    const lapseAt = m.admittedAt(position!)! + WINDOW_SECONDS * 1000;
    // Less than a whole second left is lapsed: an admission token's expiry is whole seconds.
    if (Math.floor(lapseAt / 1000) <= Math.floor(m.now / 1000)) {
      // A turn unused within its window is gone: no token to buy with.
      expect(view).toMatchObject({ lapsed: true });
      expect(view.admission_token).toBeUndefined();
      seen.add("poll: lapsed");
    } else {
      expect(view.admission_token).toEqual(expect.any(String));
      expect(Date.parse(view.admission_expires_at!)).toBeLessThanOrEqual(lapseAt);
      seen.add("poll: admitted");
    }
  }
  toString = () => `poll(${this.who})`;
}

/**
 * The door's flags reach the queue (docs/queue.md "The slow lane"): from the start until the
 * first admission, once, the flagged go behind every unflagged place, each lane in its order;
 * otherwise no place moves.
 */
class SortSlowLane implements Cmd {
  constructor(readonly flaggedMask: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const flagged = (i: number) => (this.flaggedMask >> i) & 1;
    const who = Array.from({ length: SHOPPERS }, (_, i) => i).filter(flagged);
    const due = !m.sorted && !m.closed() && m.now >= START && m.admittedThrough === 0;
    const moved = r.rules.sortSlowLane(m.now, who.map(shopper));
    if (!due) {
      seen.add("slow lane: too late, places kept");
      expect(moved).toBe(0);
      return;
    }
    m.sorted = true;
    // Random mode: the draw first, if nothing made it yet; the lanes keep the places' order.
    m.drawIfDue(r.rules.state.seed);
    const order = [...m.places.entries()].sort((a, b) => a[1]! - b[1]!).map(([i]) => i);
    const sortedOrder = [...order.filter((i) => !flagged(i)), ...order.filter(flagged)];
    sortedOrder.forEach((i, k) => {
      m.places.set(i, k + 1);
    });
    expect(moved).toBe(order.filter(flagged).length);
    if (moved > 0 && moved < order.length) {
      seen.add("slow lane: flagged sent behind");
      if (m.settings.mode === "random" && order.length > 2) seen.add("slow lane: drawn places sorted");
    }
  }
  toString = () => `sortSlowLane(${this.flaggedMask.toString(2)})`;
}

/** Late in a run only, so most runs see the sale run its course before it is called off. */
class Cancel implements Cmd {
  check = (m: Readonly<Model>) => m.now >= START + 5 * 60_000;
  async run(m: Model, r: Real) {
    expect(r.rules.cancel()).toBe(true);
    m.cancelled = true;
  }
  toString = () => "cancel";
}

const commands = [
  fc.integer({ min: 0, max: SHOPPERS - 1 }).map((i) => new Enter(i)),
  fc.integer({ min: 0, max: SHOPPERS - 1 }).map((i) => new Poll(i)),
  fc.oneof(fc.integer({ min: 1, max: 4_000 }), fc.integer({ min: 10_000, max: 200_000 })).map((ms) => new Wait(ms)),
  fc
    .tuple(fc.option(fc.integer({ min: 0, max: 4 }), { freq: 6 }), fc.constantFrom("tick", "stockChanged" as const))
    .map(([stock, how]) => new Tick(stock, how)),
  fc.constant(new Cancel()),
  fc.integer({ min: 0, max: 2 ** SHOPPERS - 1 }).map((mask) => new SortSlowLane(mask)),
];

/** Random sessions of the queue, each on a fresh store from `store()`, checked step by step against the model. */
export async function checkQueueAgainstModel(store: () => QueueStore, runs: number): Promise<Set<string>> {
  seen.clear();
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        rate: fc.constantFrom(1, 3, 50),
        perUnit: fc.integer({ min: 1, max: 3 }),
        mode: fc.constantFrom("fifo" as const, "random" as const),
      }),
      fc.commands(commands, { maxCommands: 120, size: "max" }),
      async (settings, cmds) => {
        const config: QueueSaleConfig = queueSale("model-sale", {
          endMs: END,
          preQueueMinutes: PRE_QUEUE_MINUTES,
          admissionRatePerSecond: settings.rate,
          admittedPerUnit: settings.perUnit,
          admissionWindowSeconds: WINDOW_SECONDS,
          preQueueMode: settings.mode,
        });
        const model = new Model(settings);
        const clock = { ms: model.now };
        const rules = new QueueRules({ store: store(), clock: { now: () => clock.ms }, mintAdmission });
        rules.configure(config);
        model.commitment = rules.state.commitment;
        await fc.asyncModelRun(() => ({ model, real: { rules, clock } }), cmds);
      },
    ),
    { numRuns: runs },
  );
  return new Set(seen);
}
