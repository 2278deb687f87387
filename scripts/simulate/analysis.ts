/**
 * The figures a run is judged by, computed from what it recorded: time to sell out,
 * waits, oversell, fairness among humans, the bots' share and where their requests
 * were refused, and the load at the peak.
 */
import { DEFAULTS } from "../../workers/config";
import { percentile } from "../bench/stats";
import type { Crowd } from "./crowd";
import { kendallTau } from "./kendall";
import type { Layer } from "./metrics";
import { Outcome, type RunResult } from "./surge";

export type Spread = { count: number; p50: number; p90: number; p99: number; max: number };

export type Figures = {
  kind: RunResult["kind"];
  /** When the last unit was reserved (null: the run ended with units left). */
  soldOutSeconds: number | null;
  /** When the queue learned it and told everyone waiting (its tick reads the stock). */
  soldOutToldSeconds: number | null;
  reservedUnits: number;
  loaded: number;
  oversold: number;
  /** Humans: from taking a place to their turn; from arriving to a final answer (reserved, sold out, refused). */
  turnWaitSeconds: Spread;
  answerWaitSeconds: Spread;
  /** Kendall τ among humans: arrival order against turn order (admitted humans) and against reservation order (human buyers). */
  tauTurn: number | null;
  tauPurchase: number | null;
  humansAdmitted: number;
  humanWinners: number;
  botWinners: number;
  botUnits: number;
  botShareOfStock: number;
  /** Human winners' arrival places, as a share of the crowd's arrivals: deciles (0 = first to arrive). */
  winnerPlaces: number[];
  botRequests: number;
  botLayers: Array<{ layer: Layer; requests: number; share: number }>;
  humanLayers: Array<{ layer: Layer; requests: number; share: number }>;
  humansRefusedAtDoor: number;
  humansFailed: number;
  peak: {
    redisCalls: { second: number; value: number };
    redisCommands: { second: number; value: number };
    redisRefused: { second: number; value: number };
    /** Calls offered: sent plus refused for capacity (what Redis would have been asked without a cap). */
    redisOffered: { second: number; value: number };
    objectRequests: { second: number; value: number };
    busiestObject: { second: number; value: number };
    doorRequests: { second: number; value: number };
    purchaseRequests: { second: number; value: number };
  };
  redisRefusedTotal: number;
  calls: Array<{ kind: string; sent: number; refused: number }>;
  /** Why bots won what they won (queued run): places they took, those within the first admission batch, their devices. */
  botPlaces: number;
  firstBatch: number;
  botsInFirstBatch: number;
  botDevicesPlaced: number;
  /** Shoppers the door's signals flagged: humans are false positives. */
  flaggedHumans: number;
  flaggedBots: number;
  slowLane: RunResult["slowLane"];
  events: number;
  wallSeconds: number;
};

function spread(values: number[]): Spread {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

function layers(map: Map<Layer, number>): { total: number; rows: Figures["botLayers"] } {
  let total = 0;
  for (const v of map.values()) total += v;
  const rows = [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([layer, requests]) => ({ layer, requests, share: total > 0 ? requests / total : 0 }));
  return { total, rows };
}

/** Arrival ranks among the crowd: by arrival number where the queue numbered it, else by arrival time. */
function arrivalRanks(crowd: Crowd, run: RunResult): Float64Array {
  const ranks = new Float64Array(crowd.size);
  if (run.kind === "queue") {
    for (let i = 0; i < crowd.size; i++) ranks[i] = run.arrivalNumber[i]! || Number.POSITIVE_INFINITY;
    return ranks;
  }
  const order = Array.from({ length: crowd.size }, (_, i) => i).sort(
    (a, b) => crowd.arrivalMs[a]! - crowd.arrivalMs[b]! || a - b,
  );
  order.forEach((i, rank) => {
    ranks[i] = rank + 1;
  });
  return ranks;
}

export function analyse(crowd: Crowd, run: RunResult): Figures {
  const m = run.metrics;
  const turnWaits: number[] = [];
  const answerWaits: number[] = [];
  const admittedHumans: number[] = [];
  let refused = 0;
  let failed = 0;
  for (let i = 0; i < crowd.size; i++) {
    if (crowd.isBot[i]) continue;
    // Waiting before T=0 is the countdown, not the sale's doing: waits count from the start.
    const arrival = Math.max(crowd.arrivalMs[i]!, 0);
    if (Number.isFinite(run.admittedAt[i]!)) {
      turnWaits.push((run.admittedAt[i]! - Math.max(run.placedAt[i]!, 0)) / 1000);
      admittedHumans.push(i);
    }
    if (Number.isFinite(run.doneAt[i]!)) answerWaits.push(Math.max(0, run.doneAt[i]! - arrival) / 1000);
    if (run.outcome[i] === Outcome.refused) refused++;
    if (run.outcome[i] === Outcome.failed) failed++;
  }
  const ranks = arrivalRanks(crowd, run);
  // The first batch the admission cap lets in: admittedPerUnit × the units loaded.
  const firstBatch = DEFAULTS.admittedPerUnit * run.loaded;
  let botPlaces = 0;
  let botsInFirstBatch = 0;
  const botDevices = new Set<number>();
  for (let i = 0; i < crowd.size; i++) {
    if (!crowd.isBot[i] || Number.isNaN(run.placedAt[i]!)) continue;
    botPlaces++;
    botDevices.add(crowd.device[i]!);
    if (run.position[i]! > 0 && run.position[i]! <= firstBatch) botsInFirstBatch++;
  }
  const tauTurn =
    run.kind === "queue" && admittedHumans.length > 1
      ? kendallTau(
          admittedHumans.map((i) => ranks[i]!),
          admittedHumans.map((i) => run.position[i]!),
        )
      : null;
  const humanWinners = m.winners.filter((w) => !w.bot);
  const tauPurchase =
    humanWinners.length > 1
      ? kendallTau(
          humanWinners.map((w) => ranks[w.shopper]!),
          humanWinners.map((w, k) => w.atMs * 1e6 + k),
        )
      : null;
  let placed = run.kind === "queue" ? 0 : crowd.size;
  for (const a of run.arrivalNumber) if (a > placed) placed = a;
  const places = humanWinners.map((w) => (ranks[w.shopper]! - 1) / Math.max(1, placed)).sort((a, b) => a - b);
  const winnerPlaces = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100].map((p) => percentile(places, p));
  const botUnits = m.winners.filter((w) => w.bot).reduce((sum, w) => sum + w.units, 0);
  const reservedUnits = m.winners.reduce((sum, w) => sum + w.units, 0);
  const bots = layers(m.botRequests);
  const humans = layers(m.humanRequests);
  let redisRefusedTotal = 0;
  for (const row of m.seconds.values()) redisRefusedTotal += row.redisRefused;
  return {
    kind: run.kind,
    soldOutSeconds:
      reservedUnits >= run.loaded ? m.winners.reduce((last, w) => Math.max(last, w.atMs), 0) / 1000 : null,
    soldOutToldSeconds: run.kind === "queue" && run.soldOutAtMs !== null ? run.soldOutAtMs / 1000 : null,
    reservedUnits: run.reservedInRedis,
    loaded: run.loaded,
    oversold: Math.max(0, run.reservedInRedis - run.loaded, reservedUnits - run.loaded),
    turnWaitSeconds: spread(turnWaits),
    answerWaitSeconds: spread(answerWaits),
    tauTurn,
    tauPurchase,
    humansAdmitted: admittedHumans.length,
    humanWinners: humanWinners.length,
    botWinners: m.winners.length - humanWinners.length,
    botUnits,
    botShareOfStock: reservedUnits > 0 ? botUnits / reservedUnits : 0,
    winnerPlaces,
    botRequests: bots.total,
    botLayers: bots.rows,
    humanLayers: humans.rows,
    humansRefusedAtDoor: refused,
    humansFailed: failed,
    peak: {
      redisCalls: m.peak((r) => r.redisCalls),
      redisCommands: m.peak((r) => r.redisCommands),
      redisRefused: m.peak((r) => r.redisRefused),
      redisOffered: m.peak((r) => r.redisCalls + r.redisRefused),
      objectRequests: m.peak((r) => r.objectRequests),
      busiestObject: m.peak((r) => r.busiestObject),
      doorRequests: m.peak((r) => r.doorRequests),
      purchaseRequests: m.peak((r) => r.purchaseRequests),
    },
    redisRefusedTotal,
    calls: [...m.calls.entries()].map(([kind, c]) => ({ kind, ...c })),
    botPlaces,
    firstBatch,
    botsInFirstBatch,
    botDevicesPlaced: botDevices.size,
    flaggedHumans: run.flaggedHumans,
    flaggedBots: run.flaggedBots,
    slowLane: run.slowLane,
    events: run.events,
    wallSeconds: run.wallMs / 1000,
  };
}
