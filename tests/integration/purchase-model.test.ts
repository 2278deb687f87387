/**
 * The purchase rules as a plain TypeScript model, and fast-check driving random sequences
 * of clicks, double clicks, retries, cancels, payments, clock jumps, expiries, sweeps and a
 * second pre-warm through the real Lua scripts on the real Redis. After every step Redis
 * must agree with the model, stock is never below zero, and every loaded unit is either in
 * stock, reserved or paid.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hashFromReply } from "../../workers/clients/redis";
import { keys } from "../../workers/keys";
import type { PurchaseDecision } from "../../workers/purchase/purchase";
import { expireDue, type TransitionResult } from "../../workers/purchase/reservations";
import { admin, createSale } from "./fixtures";
import { scripts } from "./purchase-scripts";

const LOADED = 4;
const LIMIT = 3;
const USERS = ["ann", "bob", "cyd"] as const;
/** cyd shops without a device fingerprint: the device rule cannot apply to her. */
const deviceOf = (user: string) => (user === "cyd" ? null : `${user}-phone`);

type State = "reserved" | "paid" | "cancelled" | "expired";
type Held = { token: string; user: string; qty: number; deadline: number; state: State };
type Remembered = { user: string; qty: number; answer: PurchaseDecision };

/** The rules, as docs/purchase.md states them, with nothing of Redis in them. */
class Model {
  stock = LOADED;
  now: number;
  bought = new Map<string, number>();
  devices = new Map<string, string>();
  idem = new Map<string, Remembered>();
  reservations: Held[] = [];
  keysUsed: Array<{ user: string; key: string; qty: number }> = [];
  constructor(
    readonly start: number,
    readonly end: number,
    readonly windowMs: number,
  ) {
    this.now = start;
  }

  units(state: State) {
    return this.reservations.filter((r) => r.state === state).reduce((n, r) => n + r.qty, 0);
  }

  /** What the purchase script must answer, ignoring tokens (compared separately). */
  purchase(user: string, qty: number, key: string): { expect: string; reserve: boolean } {
    const seen = this.idem.get(`${user}\n${key}`);
    if (seen) return { expect: seen.qty === qty ? `replay:${seen.answer.kind}` : "conflict", reserve: false };
    if (this.now < this.start) return { expect: "not_active:not_started", reserve: false };
    if (this.now >= this.end) return { expect: "not_active:ended", reserve: false };
    if (qty > LIMIT) return { expect: "over_limit", reserve: false };
    const device = deviceOf(user);
    let expect = "reserved";
    if ((this.bought.get(user) ?? 0) + qty > LIMIT) expect = "limit_exceeded:per_user_limit";
    else if (device && this.devices.has(device)) expect = "limit_exceeded:device";
    else if (this.stock < qty) expect = `sold_out:${this.stock}`;
    return { expect, reserve: expect === "reserved" };
  }

  giveBack(r: Held) {
    this.stock += r.qty;
    const left = (this.bought.get(r.user) ?? 0) - r.qty;
    if (left <= 0) this.bought.delete(r.user);
    else this.bought.set(r.user, left);
    const device = deviceOf(r.user);
    if (device && this.devices.get(device) === r.user) this.devices.delete(device);
  }

  /** reservation.lua's answer for an action on a reservation, applying its effect. */
  transition(r: Held, action: "confirm" | "cancel" | "expire"): string {
    if (r.state !== "reserved") {
      if ((action === "confirm" && r.state === "paid") || (action === "cancel" && r.state === "cancelled"))
        return `already:${r.state}`;
      if (action === "expire" && r.state === "expired") return "already:expired";
      if (action === "confirm" && r.state === "expired") return "expired";
      return `conflict:${r.state}`;
    }
    if (action === "confirm" || action === "cancel") {
      // Past the deadline the reservation is expired whoever acts: pay or cancel alike.
      if (this.now >= r.deadline) {
        r.state = "expired";
        this.giveBack(r);
        return "expired";
      }
      if (action === "confirm") {
        r.state = "paid";
        return "ok:paid";
      }
    }
    if (action === "expire" && this.now < r.deadline) return "not_due";
    r.state = action === "cancel" ? "cancelled" : "expired";
    this.giveBack(r);
    return `ok:${r.state}`;
  }
}

type Real = { saleId: string; run: ReturnType<typeof scripts> };

/** What the runs exercised, so the property cannot pass by never reaching a rule. */
const seen = new Map<string, number>();
const tally = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1);

const describeDecision = (d: PurchaseDecision): string => {
  switch (d.kind) {
    case "not_active":
      return `not_active:${d.why}`;
    case "limit_exceeded":
      return `limit_exceeded:${d.reason}`;
    case "sold_out":
      return `sold_out:${d.remaining}`;
    default:
      return d.kind;
  }
};
const describeTransition = (t: TransitionResult): string =>
  "state" in t ? `${t.kind}:${t.state}` : "rule" in t ? `${t.kind}:${t.rule}` : t.kind;

/** After every step: Redis holds exactly what the model says, and units are conserved. */
async function agree(m: Model, r: Real) {
  const { run, saleId } = r;
  const stock = await run.stock();
  expect(stock).toBeGreaterThanOrEqual(0);
  expect(stock).toBe(m.stock);
  const counters = hashFromReply(await run.redis.hgetall(keys.counters(saleId))) ?? {};
  const reserved = Number(counters.reserved ?? 0);
  const paid = Number(counters.paid ?? 0);
  expect({ reserved, paid }).toEqual({ reserved: m.units("reserved"), paid: m.units("paid") });
  expect(stock + reserved + paid).toBe(LOADED);
  for (const user of USERS) {
    const held = await run.redis.get(keys.bought(saleId, "PHONE", user));
    expect(Number(held ?? 0), `units held by ${user}`).toBe(m.bought.get(user) ?? 0);
  }
  for (const held of m.reservations) expect(await run.state(held.token), held.token).toBe(held.state);
  expect(await run.redis.zcard(keys.deadlines(saleId))).toBe(
    m.reservations.filter((x) => x.state === "reserved").length,
  );
}

async function click(m: Model, r: Real, user: string, qty: number, key: string, twice: boolean) {
  const want = m.purchase(user, qty, key);
  const calls = twice ? [0, 1] : [0];
  const answers = await Promise.all(
    calls.map(() => r.run.purchase(user, qty, { key, device: deviceOf(user), nowMs: m.now })),
  );
  const first = answers.find((a) => !("replay" in a) || !a.replay) ?? answers[0]!;
  const got = describeDecision(first);
  if (want.expect.startsWith("replay:")) {
    expect(`replay:${first.kind}`).toBe(want.expect);
    expect("replay" in first && first.replay).toBe(true);
  } else expect(got).toBe(want.expect);
  tally(`click ${want.expect.replace(/:\d+$/, "")}`);
  // A double click is one decision: the second answer is the first one again.
  if (twice) {
    const [a, b] = answers as [PurchaseDecision, PurchaseDecision];
    expect(describeDecision(b)).toBe(describeDecision(a));
    if (a.kind === "reserved" && b.kind === "reserved") expect(b.reservationToken).toBe(a.reservationToken);
  }
  if (!want.expect.startsWith("replay:") && want.expect !== "conflict") {
    const remembered = !/^(not_active|over_limit)/.test(want.expect);
    if (remembered) m.idem.set(`${user}\n${key}`, { user, qty, answer: first });
  }
  if (want.reserve && first.kind === "reserved") {
    m.stock -= qty;
    m.bought.set(user, (m.bought.get(user) ?? 0) + qty);
    const device = deviceOf(user);
    if (device) m.devices.set(device, user);
    m.reservations.push({ token: first.reservationToken, user, qty, deadline: first.deadlineMs, state: "reserved" });
    expect(first.deadlineMs).toBe(m.now + m.windowMs);
  }
  m.keysUsed.push({ user, key, qty });
}

type Cmd = fc.AsyncCommand<Model, Real>;
const step = (name: string, check: (m: Model) => boolean, body: (m: Model, r: Real) => Promise<void>): Cmd => ({
  check,
  async run(m, r) {
    await body(m, r);
    await agree(m, r);
  },
  toString: () => name,
});

const user = fc.constantFrom(...USERS);
const commands = [
  fc.tuple(user, fc.integer({ min: 1, max: LIMIT + 1 }), fc.boolean()).map(([u, q, twice]) =>
    step(
      `${twice ? "double-click" : "click"}(${u}, ${q})`,
      () => true,
      (m, r) => click(m, r, u, q, crypto.randomUUID(), twice),
    ),
  ),
  fc.tuple(fc.nat(), fc.boolean()).map(([i, sameBody]) =>
    step(
      `retry(#${i}, ${sameBody ? "same body" : "other body"})`,
      (m) => m.keysUsed.length > 0,
      (m, r) => {
        const used = m.keysUsed[i % m.keysUsed.length]!;
        const qty = sameBody ? used.qty : (used.qty % (LIMIT + 1)) + 1;
        return click(m, r, used.user, qty, used.key, false);
      },
    ),
  ),
  ...(["cancel", "confirm", "expire"] as const).map((action) =>
    fc.nat().map((i) =>
      step(
        `${action}(#${i})`,
        (m) => m.reservations.length > 0,
        async (m, r) => {
          const held = m.reservations[i % m.reservations.length]!;
          const want = m.transition(held, action);
          const got = await r.run.transition(held.token, action, m.now, action === "cancel" ? held.user : undefined);
          expect(describeTransition(got)).toBe(want);
          tally(`${action} ${want}`);
        },
      ),
    ),
  ),
  fc.constantFrom(1, 1_000, 299_999, 300_000, 600_000).map((ms) =>
    step(
      `clock +${ms} ms`,
      (m) => m.now + ms < m.end + 600_000,
      async (m) => {
        m.now += ms;
      },
    ),
  ),
  fc.constant(
    step(
      "sweep",
      () => true,
      async (m, r) => {
        const due = m.reservations.filter((x) => x.state === "reserved" && x.deadline <= m.now);
        for (const held of due) m.transition(held, "expire");
        expect(await expireDue(r.run.redis, r.saleId, m.now)).toBe(due.length);
        if (due.length) tally("sweep expired some");
      },
    ),
  ),
  fc.constant(
    step(
      "prewarm again",
      () => true,
      async (_m, r) => {
        // Loading a sale twice must not put sold units back on sale.
        expect((await admin(`/sales/${r.saleId}/prewarm`, { method: "POST" })).status).toBe(200);
      },
    ),
  ),
];

describe("the purchase rules, against a model", () => {
  it("Redis agrees with the model after every step of random click, pay, cancel, clock and sweep sequences", async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 40, size: "+1" }), async (cmds) => {
        const { saleId } = await createSale({
          items: [{ sku_id: "PHONE", total_stock: LOADED, per_user_limit: LIMIT }],
          startInMs: 60_000,
          durationMs: 3_600_000,
          paymentDeadlineSeconds: 300,
        });
        const run = scripts(saleId);
        const meta = await run.meta();
        const model = new Model(Number(meta.start_ms), Number(meta.end_ms), Number(meta.payment_deadline_s) * 1000);
        await fc.asyncModelRun(() => ({ model, real: { saleId, run } }), cmds);
      }),
      // A fixed seed by default, so CI and the mutation gate always run the same sequences
      // (FC_SEED=<n> explores others; a failure prints the seed and path to replay it).
      { numRuns: 20, endOnFailure: true, seed: Number(process.env.FC_SEED ?? 20261130) },
    );
    console.log(
      [...seen]
        .sort()
        .map(([k, n]) => `${k}: ${n}`)
        .join("\n"),
    );
    // Not vacuous: every rule was reached at least once across the runs.
    const reached = [...seen.keys()];
    for (const rule of [
      "click reserved",
      "click sold_out",
      "click limit_exceeded:per_user_limit",
      "click limit_exceeded:device",
      "click replay:reserved",
      "click over_limit",
      "cancel ok:cancelled",
      "confirm ok:paid",
    ])
      expect(reached, rule).toContain(rule);
    expect(
      reached.some((r) => r === "expire ok:expired" || r === "sweep expired some" || r === "confirm expired"),
    ).toBe(true);
  }, 120_000);
});
