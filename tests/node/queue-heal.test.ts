/**
 * The healing rules that need no Durable Object (docs/queue.md "A queue that heals"): what a
 * late alarm may admit, when the alarm is due, and what a closed queue tells a shopper who
 * comes back. Plain Node, the real rules on the in-memory store.
 */
import { describe, expect, it } from "vitest";
import { MemoryQueueStore } from "../../durable-objects/queue/memory-store";
import { fixedClock, QueueRules } from "../../durable-objects/queue/rules";
import { arm, LOST_ALARM_MS, nextAlarm } from "../../durable-objects/queue/ticker";
import { mintAdmission, queueSale, START } from "./queue-sale";

function queue(ratePerSecond = 10) {
  const rules = new QueueRules({ store: new MemoryQueueStore(), clock: fixedClock(START), mintAdmission });
  rules.configure(queueSale("sale-1", { admissionRatePerSecond: ratePerSecond }));
  const enter = (shopper: string, now = START - 60_000) => rules.enter(shopper, `d-${shopper}`, `t-${shopper}`, now);
  return { rules, enter };
}

describe("a queue that heals", () => {
  it("admits at most about one second of credit on a late alarm, not the whole gap", () => {
    const { rules, enter } = queue(10);
    for (let i = 0; i < 500; i++) enter(`s${i}`);
    rules.tick(START, 1_000);
    // The next alarm comes 30 s late: 300 admissions' worth of time, one second's worth admitted.
    rules.tick(START + 30_000, 1_000);
    expect(rules.stats(START + 30_000).admittedThrough).toBe(10);
    // On time again, the rate holds.
    rules.tick(START + 31_000, 1_000);
    expect(rules.stats(START + 31_000).admittedThrough).toBe(20);
  });

  it("tells a shopper already queued that an ended or cancelled sale is closed when they enter again", () => {
    const ended = queue();
    expect(ended.enter("ada").ok).toBe(true);
    expect(ended.enter("ada", START + 3_600_000)).toMatchObject({
      ok: false,
      status: 422,
      code: "sale_not_active",
      details: [{ field: "sale", problem: "ended" }],
    });

    const cancelled = queue();
    expect(cancelled.enter("bo").ok).toBe(true);
    cancelled.rules.cancel();
    expect(cancelled.enter("bo", START + 1_000)).toMatchObject({
      ok: false,
      status: 422,
      code: "sale_not_active",
      details: [{ field: "sale", problem: "cancelled" }],
    });
  });
});

describe("when the alarm is due", () => {
  const rules = new QueueRules({ store: new MemoryQueueStore(), clock: fixedClock(START), mintAdmission });
  rules.configure(queueSale("sale-2"));
  const sale = rules.config!;
  const real = 1_000_000;
  const due = (now: number, waiting: boolean, soldOut = false) =>
    nextAlarm(sale, { closed: now >= sale.endMs, soldOut, waiting }, now, real);

  it("sleeps until the next boundary while nobody waits: the start, then the end", () => {
    expect(due(START - 600_000, false)).toBe(real + 600_000);
    expect(due(START + 1_000, false)).toBe(real + sale.endMs - (START + 1_000));
  });

  it("ticks every 250 ms while someone waits, every second while sold out, and never once closed", () => {
    expect(due(START + 1_000, true)).toBe(real + 250);
    expect(due(START + 1_000, true, true)).toBe(real + 1_000);
    expect(due(sale.endMs, true)).toBeNull();
  });
});

describe("an alarm the runtime dropped", () => {
  /** The object's alarm slot, as storage holds it. */
  const slot = (alarm: number | null) => {
    const storage = {
      alarm,
      getAlarm: async () => storage.alarm,
      setAlarm: async (at: number | Date) => {
        storage.alarm = Number(at);
      },
      deleteAlarm: async () => {
        storage.alarm = null;
      },
    };
    return storage;
  };
  const real = 5_000_000;

  it("is set again when it is long past due: a restarted runtime kept it in storage but never ran it", async () => {
    const storage = slot(real - LOST_ALARM_MS - 1_000);
    await arm(storage, real + 250, real);
    expect(storage.alarm).toBe(real + 250);
  });

  it("is left alone when it is due sooner or only just due: a poll never postpones a tick", async () => {
    const sooner = slot(real + 100);
    await arm(sooner, real + 250, real);
    expect(sooner.alarm).toBe(real + 100);
    const justDue = slot(real - 50);
    await arm(justDue, real + 250, real);
    expect(justDue.alarm).toBe(real - 50);
  });
});
