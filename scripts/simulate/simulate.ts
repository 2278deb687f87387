/**
 * A whole simulation: draw the crowd, run it through the queue, run the same crowd without
 * it, and compute the figures. Each run has a fresh redis-server of its own and its own
 * stream of chance derived from the seed, so the two runs do not disturb each other and
 * each replays exactly.
 */
import { mintAdmissionToken } from "../../workers/auth/admission";
import { analyse, type Figures } from "./analysis";
import { type Crowd, drawCrowd } from "./crowd";
import type { SimOptions } from "./options";
import type { SimQueue } from "./queue-model";
import { RulesQueue } from "./queue-rules";
import { type Random, seededRandom } from "./random";
import { type SimSale, START_MS, simulatedSale } from "./sale";
import { SaleRedis } from "./sale-redis";
import { type RunKind, type RunResult, runSurge } from "./surge";

/** The queue object's signing secret in the simulation: tokens are real JWTs, verified by the purchase route's own check. */
const ADMISSION_SECRET = "simulation-admission-secret";

export type Simulation = {
  options: SimOptions;
  sale: SimSale;
  crowd: Crowd;
  queueRules: string;
  runs: Array<{ run: RunResult; figures: Figures }>;
};

function queueFor(sale: SimSale, random: Random): { queue: SimQueue; rules: string } {
  return {
    queue: new RulesQueue(sale.queue, random.base64url(32), (claims, nowMs, ttl) =>
      mintAdmissionToken(ADMISSION_SECRET, claims, nowMs, ttl),
    ),
    rules:
      "the queue object's own rules (`durable-objects/queue/rules.ts`, `QueueRules`) on their in-memory store " +
      "(`memory-store.ts`), one object holding the order (scripts/simulate/queue-rules.ts says why)",
  };
}

export async function simulate(options: SimOptions): Promise<Simulation> {
  const random = seededRandom(options.seed);
  const sale = simulatedSale(options, random);
  const crowd = drawCrowd(options, random, sale.queue.preQueueMinutes * 60_000);
  const kinds: RunKind[] = options.compare ? ["queue", "no-queue"] : ["queue"];
  const runs: Simulation["runs"] = [];
  let queueRules = "";
  for (const kind of kinds) {
    const stream = seededRandom(`${options.seed}/${kind}`);
    const redis = await SaleRedis.start(sale, options.redisCapacity, START_MS - sale.queue.preQueueMinutes * 60_000);
    try {
      const built = kind === "queue" ? queueFor(sale, stream) : null;
      if (built) queueRules = built.rules;
      const run = await runSurge(kind, {
        options,
        crowd,
        sale,
        redis,
        random: stream,
        queue: built?.queue ?? null,
        admissionSecret: ADMISSION_SECRET,
      });
      runs.push({ run, figures: analyse(crowd, run) });
    } finally {
      await redis.stop();
    }
  }
  return { options, sale, crowd, queueRules, runs };
}
