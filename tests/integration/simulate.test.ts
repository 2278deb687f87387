/**
 * The simulation's promises on a small crowd (10,000 shoppers, 40% bots, the sale's
 * defaults): the real purchase.lua on a real Redis never sells more than it loaded, with
 * or without the queue; in fifo mode humans get their turns in the order they arrived;
 * bots hold under 5% of the stock and no human is flagged; and the same seed replays the same run.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_OPTIONS, type SimOptions } from "../../scripts/simulate/options";
import { type Simulation, simulate } from "../../scripts/simulate/simulate";

const small = (over: Partial<SimOptions> = {}): SimOptions => ({
  ...DEFAULT_OPTIONS,
  shoppers: 10_000,
  out: null,
  progress: false,
  ...over,
});

describe("the T=0 surge, simulated on the real purchase script", () => {
  let sim: Simulation;
  beforeAll(async () => {
    sim = await simulate(small());
  }, 120_000);

  const figures = (kind: "queue" | "no-queue") => sim.runs.find((r) => r.figures.kind === kind)!.figures;

  it("never sells more than it loaded, through the queue or straight to purchase", () => {
    for (const kind of ["queue", "no-queue"] as const) {
      expect(figures(kind).oversold, kind).toBe(0);
      expect(figures(kind).reservedUnits, kind).toBe(sim.sale.loaded);
    }
  });

  it("gives humans their turns in the order they arrived (fifo: Kendall τ = 1)", () => {
    expect(figures("queue").humansAdmitted).toBeGreaterThan(100);
    expect(figures("queue").tauTurn).toBe(1);
  });

  // Bots race the queue's opening; the slow lane (docs/queue.md) sends the ones the door's
  // signals flagged behind every unflagged place at the start.
  it("keeps bots under 5% of the stock with 40% of the crowd", () => {
    expect(figures("queue").slowLane?.flagged).toBeGreaterThan(0);
    expect(figures("queue").botShareOfStock).toBeLessThan(0.05);
  });

  it("flags no human as a bot: the slow lane costs the honest crowd nothing", () => {
    expect(figures("queue").flaggedBots).toBeGreaterThan(0);
    expect(figures("queue").flaggedHumans).toBe(0);
  });

  it("replays the same run from the same seed", async () => {
    const options = small({ shoppers: 2_000, compare: false, seed: "replay" });
    const [a, b] = [await simulate(options), await simulate(options)];
    const winners = (s: Simulation) => s.runs[0]!.run.metrics.winners.map((w) => `${w.shopper}:${w.units}:${w.atMs}`);
    expect(winners(a).length).toBeGreaterThan(0);
    expect(winners(b)).toEqual(winners(a));
  }, 60_000);
});
