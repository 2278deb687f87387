/**
 * docs/simulation/README.md: what was run (the command, the seed, the assumptions), what it
 * showed (each figure beside the run it came from), and the charts.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { basename, join } from "node:path";
import { DEFAULTS } from "../../workers/config";
import { shardsFor } from "../../workers/queue/shards";
import type { Figures } from "./analysis";
import { writeCharts } from "./charts";
import { doorLimits } from "./door";
import { LAYER_LABELS } from "./metrics";
import type { Simulation } from "./simulate";
import { headline } from "./summary";

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const num = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "n/a");
const secs = (x: number | null | undefined) =>
  x === null || x === undefined || !Number.isFinite(x) ? "n/a" : `${x.toFixed(1)} s`;
const tau = (x: number | null) => (x === null ? "n/a" : x.toFixed(4));

export function summaryLines(sim: Simulation, wallSeconds: number): string[] {
  return [
    ...sim.runs.flatMap((r) => headline(r.figures)),
    `${sim.options.shoppers.toLocaleString("en-US")} shoppers, seed "${sim.options.seed}", mode ${sim.options.mode}: ${wallSeconds.toFixed(0)} s of wall time`,
  ];
}

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

function runTable(figures: Figures[]): string {
  const col = (pick: (f: Figures) => string) => figures.map(pick);
  const names = figures.map((f) => (f.kind === "queue" ? "through the queue" : "without a queue"));
  const rows: Array<[string, string[]]> = [
    ["time to sell out: last unit reserved, after T=0", col((f) => secs(f.soldOutSeconds))],
    [
      'the queue tells everyone waiting "sold out" at',
      col((f) => (f.kind === "queue" ? secs(f.soldOutToldSeconds) : "no queue")),
    ],
    ["units reserved / loaded", col((f) => `${num(f.reservedUnits)} / ${num(f.loaded)}`)],
    ["**oversold**", col((f) => `**${f.oversold}**`)],
    [
      "**bots' share of the stock**",
      col((f) => `**${pct(f.botShareOfStock)}** (${num(f.botUnits)} units, ${num(f.botWinners)} bots)`),
    ],
    ["human winners", col((f) => num(f.humanWinners))],
    [
      "flagged by the door's bot signals: bots / **humans (false positives)**",
      col((f) => (f.kind === "queue" ? `${num(f.flaggedBots)} / **${num(f.flaggedHumans)}**` : "no door")),
    ],
    [
      "slow lane at the start: places sorted / flagged ones sent behind",
      col((f) => (f.slowLane ? `${num(f.slowLane.sorted)} / ${num(f.slowLane.flagged)}` : "n/a")),
    ],
    ["**τ among humans, arrival → turn**", col((f) => `**${tau(f.tauTurn)}**`)],
    ["τ among human buyers, arrival → reservation", col((f) => tau(f.tauPurchase))],
    [
      "humans: wait for the turn p50 / p99",
      col((f) => `${secs(f.turnWaitSeconds.p50)} / ${secs(f.turnWaitSeconds.p99)}`),
    ],
    [
      "humans: wait for a final answer p50 / p90 / p99 / max",
      col(
        (f) =>
          `${secs(f.answerWaitSeconds.p50)} / ${secs(f.answerWaitSeconds.p90)} / ${secs(f.answerWaitSeconds.p99)} / ${secs(f.answerWaitSeconds.max)}`,
      ),
    ],
    [
      "humans refused at the door (gave up) / failed on 503s",
      col((f) => `${num(f.humansRefusedAtDoor)} / ${num(f.humansFailed)}`),
    ],
    [
      "peak Redis calls/s (Upstash commands) at",
      col((f) => `${num(f.peak.redisCalls.value)} at T+${f.peak.redisCalls.second} s`),
    ],
    ["peak commands Redis ran/s (scripts' inner commands too)", col((f) => num(f.peak.redisCommands.value))],
    [
      "Redis calls refused over capacity (total; peak/s)",
      col((f) => `${num(f.redisRefusedTotal)}; ${num(f.peak.redisRefused.value)}`),
    ],
    [
      "peak queue-object requests/s (all objects; busiest object)",
      col((f) =>
        f.kind === "queue" ? `${num(f.peak.objectRequests.value)}; ${num(f.peak.busiestObject.value)}` : "none",
      ),
    ],
    [
      "peak door requests/s; purchase requests/s",
      col((f) => `${num(f.peak.doorRequests.value)}; ${num(f.peak.purchaseRequests.value)}`),
    ],
    ["simulated events; wall time", col((f) => `${num(f.events)}; ${f.wallSeconds.toFixed(0)} s`)],
  ];
  return table(
    ["", ...names],
    rows.map(([label, cells]) => [label, ...cells]),
  );
}

function layerTable(f: Figures): string {
  return table(
    ["where the bot request ended", "requests", "share of bot requests"],
    f.botLayers.map((l) => [LAYER_LABELS[l.layer], num(l.requests), pct(l.share)]),
  );
}

function assumptions(sim: Simulation): string {
  const { options: o } = sim;
  const limits = doorLimits();
  const rows: string[][] = [
    [
      "shoppers; bots",
      `${num(o.shoppers)}; ${pct(o.botShare)}`,
      'the issue; the seed\'s "Bot traffic ratio 30-50% of requests"',
    ],
    [
      "units",
      `${num(o.stock)} total, ${num(sim.sale.loaded)} loaded (safety buffer ${DEFAULTS.safetyBufferPercent}%), ${DEFAULTS.perUserLimit} per shopper`,
      "the sale's defaults (workers/config.ts)",
    ],
    [
      "admission",
      `${num(o.rate)}/s, ${DEFAULTS.admittedPerUnit} admitted per unit left, turns lapse after ${DEFAULTS.admissionWindowSeconds} s, pre-queue ${DEFAULTS.preQueueMinutes} min, mode ${o.mode}`,
      "the sale's defaults; the seed's 10,000/s gate",
    ],
    [
      "door limits",
      `${limits.address.limit} per ${limits.address.periodMs / 1000} s per address, ${limits.shopper.limit} per ${limits.shopper.periodMs / 1000} s per shopper, ${limits.device.limit} per ${limits.device.periodMs / 1000} s per device id`,
      "wrangler.jsonc (the seed's 10 req/s per IP)",
    ],
    [
      "Redis capacity",
      `${num(o.redisCapacity)} calls/s; beyond it the call fails (503 to the shopper, lost for a background signal)`,
      "Upstash's documented 10,000 commands/s",
    ],
    [
      "bots: arrival",
      `within ${o.bots.raceMs} ms of the queue opening (T−${DEFAULTS.preQueueMinutes} min), ${o.bots.tabs} tabs each, ${o.bots.refreshes} refreshes per tab once placed, ${o.bots.retries} retries per tab after a refusal, ${o.bots.blindBuys} Buy clicks per tab before their turn`,
      'assumption: bots race and hammer (the seed: "bots add items in milliseconds")',
    ],
    [
      "bots: accounts",
      `${pct(o.bots.agedAccounts)} older than 24 h, made in one batch (the same second, a month before the sale)`,
      'assumption; the seed: "harder for bots to create accounts at scale", accounts < 24 h blocked',
    ],
    [
      "bots: captcha",
      `${pct(o.bots.captchaPass)} solved`,
      "assumption (solver services); the seed: JS challenge and invisible CAPTCHA at the door",
    ],
    [
      "bots: addresses; devices; fingerprints",
      `${num(o.bots.addresses)} proxy addresses; one device id per ${Math.round(1 / o.bots.devicesPerBot)} bot accounts; ${num(o.bots.fingerprints)} fingerprints`,
      'assumption; the seed: "bots often use same device signature"',
    ],
    [
      "bots: buying",
      `${sim.sale.perUserLimit} units (the limit) from every tab ${o.bots.reactionMs} ms after the turn; 503s retried after 100 ms`,
      "assumption",
    ],
    [
      "humans: arrival",
      `${pct(o.humans.early)} during the pre-queue (uniform), the rest after T=0 (exponential, mean ${o.humans.surgeMeanSeconds} s)`,
      "assumption: a T=0 surge",
    ],
    [
      "humans: door",
      `${pct(o.humans.captchaPass)} solve the captcha (3 tries), ${pct(o.humans.agedAccounts)} accounts older than 24 h (made on days of their own, 2 days to 3 years before), ${pct(o.humans.natShare)} behind carrier NAT (${o.humans.natSize} to an address), a device id each, ${num(o.humans.fingerprints)} fingerprints (popular models common)`,
      "assumption",
    ],
    [
      "humans: buying",
      `1 unit, ${o.humans.reactionMedianSeconds} s median from the turn to Buy (log-normal σ 0.6), ${pct(o.humans.walkAway)} never click; 503s retried after ${DEFAULTS.statusCacheSeconds * 2} s, 3 times`,
      "assumption",
    ],
    ["latency", "human request 50–150 ms, bot 5–15 ms, socket push 50 ms", "assumption"],
  ];
  return table(["what", "value", "from"], rows);
}

/** What the figures say about the bots' share, each point computed from this run. */
function reading(sim: Simulation, f: Figures): string {
  const perShopper = sim.sale.perUserLimit;
  const needed = Math.ceil(f.loaded / perShopper);
  const refused = (kind: string) => f.calls.find((c) => c.kind === kind)?.refused ?? 0;
  const points = [
    `Bots took ${num(f.botPlaces)} places in the queue, and ${num(f.botsInFirstBatch)} of the first ${num(f.firstBatch)}: ` +
      `the batch the admission cap lets in while all ${num(f.loaded)} units are left (${DEFAULTS.admittedPerUnit} per unit).` +
      (sim.options.mode === "fifo"
        ? " In fifo the first places go to whoever reaches the queue first after it opens, and bots race the opening."
        : " In random mode the draw ranks everyone who arrived before the start, so racing the opening gains nothing."),
    `The bots that took places came with ${num(f.botDevicesPlaced)} device ids; the one-purchase-per-device rule holds bots to ` +
      `fewer units only when that is under ${num(needed)} (units ÷ the per-shopper limit of ${perShopper}). A device id is whatever the page's code says it is.`,
    `Redis calls, sent and refused for capacity: ${f.calls.map((c) => `${c.kind} ${num(c.sent)} sent, ${num(c.refused)} refused`).join("; ")}.` +
      (refused("signals") > 0
        ? ` The door's bot signals cost one call per entry (re-entries too), and a refused one is tried again up to ${DEFAULTS.botSignals.entryRetryDelaysMs.length} times within ${Math.round((DEFAULTS.botSignals.entryRetryDelaysMs.reduce((a, b) => a + b, 0) * 1.5) / 1000)} s while the sale has not started; at the opening they fill the capacity purchases and the queue's stock reads need.`
        : ""),
  ];
  if (f.slowLane)
    points.push(
      `The slow lane (docs/queue.md): at the start the queue read the door's flags and sent ${num(f.slowLane.flagged)} of the ` +
        `${num(f.slowLane.sorted)} places taken before it behind every unflagged one` +
        (sim.options.mode === "random" ? ", after the draw and in its order" : "") +
        `; ${num(f.botsInFirstBatch)} bots stayed ` +
        `within the first ${num(f.firstBatch)} places. The signals flagged ${num(f.flaggedBots)} bots and ${num(f.flaggedHumans)} humans. ` +
        `This is the single object's lane: a sale expecting this crowd is sharded in production (${shardsFor(sim.options.shoppers)} objects), ` +
        "where the slow lane is not built yet (docs/queue.md)." +
        (f.botPlaces > f.flaggedBots
          ? ` About ${num(f.botPlaces - f.flaggedBots)} bots that took places were not flagged: every signals call of their entries ` +
            "was refused for Redis's capacity, retries included, or their device id and batch stayed under the rules' thresholds. " +
            `Those in the first places won ${num(f.botUnits)} units; a bot's purchase refused for capacity is retried ${sim.options.bots.retries} times, 100 ms apart.`
          : ""),
    );
  if (f.turnWaitSeconds.p50 >= DEFAULTS.admissionWindowSeconds * 0.9)
    points.push(
      `Humans waited ${secs(f.turnWaitSeconds.p50)} (median) for their turn: an admitted turn counts against the cap until its ` +
        `${DEFAULTS.admissionWindowSeconds} s window ends unless it reserved (a refused or unused turn holds its room), so turns spent by bots hold back the next in line.`,
    );
  if (f.botShareOfStock >= 0.05)
    points.push(
      sim.options.mode === "fifo"
        ? "Bots still hold 5% or more: the bots the signals did not flag kept the first places (a farm whose device ids are " +
            "each behind fewer than 3 accounts, whose signals were lost to Redis's capacity, or that arrived after the start)."
        : `Bots still hold 5% or more: the slow lane sends only the flagged (${num(f.flaggedBots)} bots) behind; the bots the ` +
            `signals did not flag keep their drawn places (bots held ${num(f.botsInFirstBatch)} of the first ${num(f.firstBatch)} turns), ` +
            `and a bot buys the per-shopper limit of ${perShopper}.`,
    );
  return points.map((p) => `- ${p}`).join("\n");
}

export async function writeReport(sim: Simulation, dir: string, wallSeconds: number, argv: string[]): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const charts = await writeCharts(sim, dir);
  const figures = sim.runs.map((r) => r.figures);
  const queued = figures.find((f) => f.kind === "queue")!;
  const command = `npm run simulate${argv.length > 0 ? ` -- ${argv.join(" ")}` : ""}`;
  const img = (key: string, alt: string) => `![${alt}](${basename(charts[key]!)})`;
  const verdict = (ok: boolean) => (ok ? "holds" : "**does not hold**");
  const text = `# The T=0 surge, simulated

Generated by \`${command}\` (scripts/simulate/) on ${new Date().toISOString().slice(0, 10)}, on a machine with
${cpus().length} cores (load average ${loadavg()[0]!.toFixed(1)} when the run ended: other work shared it), in
**${wallSeconds.toFixed(0)} s** of wall time. Seed \`${sim.options.seed}\`: the same seed gives the same run.

What runs is the project's own code: every Buy is \`workers/purchase/purchase.lua\` on a real
\`redis-server\` (the run's own), built and parsed by \`workers/purchase/purchase.ts\`
(\`purchaseCall\`, \`parsePurchaseReply\`); every entry passes the door's rules in the route's
order (the wrangler.jsonc rate limits, \`accountTooNew\`, the captcha as a pass rate) and records
its bot signals with \`workers/queue/signals.lua\`; admission tokens are real JWTs, minted and
verified by \`workers/auth/admission.ts\` on the simulated clock. The queue's rules:
${sim.queueRules}. Each tick reads what the object's tick reads (\`durable-objects/queue/redis.ts\`): the units
left and the decided turns (purchase.lua marks a turn that reserved, by the admission token's
\`pos\`), and once, at the start, the door's flags for the slow lane (docs/queue.md "The slow
lane"${sim.options.mode === "random" ? ", sorted after the draw" : ""}). Time is simulated; Redis decides in simulated order.

## Invariants

| promise | result | |
| --- | --- | --- |
| nothing oversold | ${figures.map((f) => `${f.kind}: ${f.oversold}`).join(", ")} | ${verdict(figures.every((f) => f.oversold === 0))} |
| fifo: humans get their turn in arrival order (τ = 1.0) | ${tau(queued.tauTurn)}${sim.options.mode === "fifo" ? "" : " (random mode: the draw reorders, by design)"} | ${sim.options.mode === "fifo" ? verdict(queued.tauTurn === 1) : "n/a"} |
| bots hold under 5% of the stock with ${pct(sim.options.botShare)} of the crowd | ${pct(queued.botShareOfStock)} | ${verdict(queued.botShareOfStock < 0.05)} |
| no human flagged as a bot (false positives, of ${num(sim.options.shoppers - sim.crowd.bots)} humans) | ${num(queued.flaggedHumans)} | ${verdict(queued.flaggedHumans === 0)} |

## Queue against no queue

${runTable(figures)}

Human winners' places in the order of arrival, as a share of everyone who took a place (deciles
of the winners, 0 = first to arrive): ${queued.winnerPlaces.map((p) => (Number.isFinite(p) ? p.toFixed(3) : "n/a")).join(", ")}.

${img("winners", "winners' places in the order of arrival")}

## Reading it

${reading(sim, queued)}

## Bots: where their requests were refused

Through the queue:

${layerTable(queued)}

${figures
  .filter((f) => f.kind === "no-queue")
  .map((f) => `Without a queue:\n\n${layerTable(f)}`)
  .join("\n\n")}

${img("layers", "bot requests per layer")}

## Over time

${img("queue", "queue length, admissions and units reserved")}

${img("load", "Redis load per second")}

${img("waits", "humans' waits")}

## Assumptions

${assumptions(sim)}

Not simulated: the outbox drain to Postgres and the latency sample (background work after a
reservation), payment, expiry and cancellation (no unit comes back during the run), the page's
status polls (served from the edge cache), and socket position updates (pushed, not requested).
`;
  const file = join(dir, "README.md");
  writeFileSync(file, text);
  return file;
}
