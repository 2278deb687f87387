/** The run's headline figures, as lines for the terminal and the report. */
import type { Figures } from "./analysis";

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const secs = (x: number | null) => (x === null || !Number.isFinite(x) ? "n/a" : `${x.toFixed(1)} s`);
const tau = (x: number | null) => (x === null ? "n/a" : x.toFixed(4));

export function headline(f: Figures): string[] {
  const name = f.kind === "queue" ? "through the queue" : "without a queue";
  return [
    `${name}: sold out at T+${secs(f.soldOutSeconds)}; ${f.reservedUnits} of ${f.loaded} units reserved, oversold ${f.oversold}`,
    `  bots hold ${pct(f.botShareOfStock)} of the stock (${f.botUnits} units, ${f.botWinners} bot winners, ${f.humanWinners} human winners)`,
    `  humans: τ arrival→turn ${tau(f.tauTurn)}, τ arrival→reservation ${tau(f.tauPurchase)}; ` +
      `turn wait p50 ${secs(f.turnWaitSeconds.p50)} p99 ${secs(f.turnWaitSeconds.p99)}; answer p50 ${secs(f.answerWaitSeconds.p50)} p99 ${secs(f.answerWaitSeconds.p99)}`,
    `  flagged by the door's signals: ${f.flaggedBots} bots, ${f.flaggedHumans} humans` +
      (f.slowLane ? `; slow lane at the start: ${f.slowLane.flagged} of ${f.slowLane.sorted} places sent behind` : ""),
    `  peak: ${f.peak.redisCalls.value} Redis calls/s sent (T+${f.peak.redisCalls.second} s) of ${f.peak.redisOffered.value} offered, ${f.peak.redisCommands.value} Redis commands/s, ` +
      `${f.peak.objectRequests.value} queue-object requests/s (busiest object ${f.peak.busiestObject.value}/s); ` +
      `${f.redisRefusedTotal} calls refused over capacity`,
    `  ${f.events} events in ${f.wallSeconds.toFixed(1)} s of wall time`,
  ];
}
