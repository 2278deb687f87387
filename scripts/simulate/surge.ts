/**
 * One simulated sale, on the simulated clock: the crowd reaches the door, the queue's rules
 * place and admit it, and every Buy is the real purchase.lua on Redis. `queue` sends the
 * crowd through the door and the queue; `no-queue` sends the same crowd straight to the
 * purchase script at T=0 (the seed's "No Queue" option), for comparison.
 *
 * Latencies are fixed draws (no wall time): a human's request takes 50–150 ms to reach
 * the edge, a bot's 5–15 ms (data-centre hosts); a socket push 50 ms.
 */
import { verifyAdmissionToken } from "../../workers/auth/admission";
import { BUDGETS, DEFAULTS } from "../../workers/config";
import { parsePurchaseReply, purchaseCall, requestHash } from "../../workers/purchase/purchase";
import { entrySignalsCall } from "../../workers/queue/signals";
import { Calendar } from "./calendar";
import { type Crowd, deviceId, fingerprintOf, shopperId } from "./crowd";
import { Door, doorLimits } from "./door";
import { type Layer, Metrics } from "./metrics";
import type { SimOptions } from "./options";
import { progressBar } from "./progress";
import type { SimQueue } from "./queue-model";
import type { Random } from "./random";
import { type SimSale, SKU, START_MS } from "./sale";
import type { SaleRedis } from "./sale-redis";

export type RunKind = "queue" | "no-queue";

/** Each shopper's end state. */
export const Outcome = {
  none: 0,
  waiting: 1,
  admitted: 2,
  reserved: 3,
  soldOut: 4,
  refused: 5,
  limited: 6,
  lapsed: 7,
  failed: 8,
} as const;

export type RunResult = {
  kind: RunKind;
  metrics: Metrics;
  outcome: Uint8Array;
  /** ms relative to the start; NaN where it never happened. */
  placedAt: Float64Array;
  admittedAt: Float64Array;
  doneAt: Float64Array;
  arrivalNumber: Int32Array;
  position: Int32Array;
  soldOutAtMs: number | null;
  /** Shoppers the door's signals flagged (the sale's `flagged` hash at the end), humans and bots. */
  flaggedHumans: number;
  flaggedBots: number;
  /** The slow lane: places sorted at the start and how many of them were flagged; null when it did not run. */
  slowLane: { sorted: number; flagged: number } | null;
  /** Units the script reserved, by its own counter in Redis. */
  reservedInRedis: number;
  loaded: number;
  events: number;
  wallMs: number;
};

const E = { arrive: 1, enter: 2, notify: 3, buy: 4, signals: 5 } as const;
const TICK_MS = 250;
const SOLD_OUT_TICK_MS = 1_000;
const PUSH_MS = 50;
const PURCHASE_RETRIES = 3;

export type SurgeDeps = {
  options: SimOptions;
  crowd: Crowd;
  sale: SimSale;
  redis: SaleRedis;
  random: Random;
  /** Only for the queued run. */
  queue: SimQueue | null;
  admissionSecret: string;
};

export async function runSurge(kind: RunKind, deps: SurgeDeps): Promise<RunResult> {
  const { options, crowd, sale, redis, random, queue } = deps;
  const started = performance.now();
  const saleId = sale.record.sale.saleId;
  const preQueueMs = sale.queue.preQueueMinutes * 60_000;
  const n = crowd.size;
  const metrics = new Metrics();
  const outcome = new Uint8Array(n);
  const placedAt = new Float64Array(n).fill(Number.NaN);
  const admittedAt = new Float64Array(n).fill(Number.NaN);
  const doneAt = new Float64Array(n).fill(Number.NaN);
  const retriesLeft = new Uint8Array(n);
  const tokens = new Map<number, string>();
  const door = new Door(doorLimits());
  const calendar = new Calendar(-preQueueMs - 1_000);
  const hashes = new Map<number, string>();
  const hashOf = async (qty: number) => {
    if (!hashes.has(qty)) hashes.set(qty, await requestHash(SKU, qty));
    return hashes.get(qty)!;
  };
  await hashOf(1);
  await hashOf(sale.perUserLimit);
  const { bots: b, humans: h } = options;
  const objects = queue?.objects ?? 1;
  const coordinator = objects > 1 ? objects : 0;
  const sec = (rel: number) => Math.floor(rel / 1000);
  // The session's acct_created (crowd.ts: a farm's accounts in one batch, people's on days of their own).
  const accountCreatedSeconds = (i: number) => START_MS / 1000 - crowd.createdAgoS[i]!;
  const latency = (i: number) => (crowd.isBot[i] ? 5 + random.next() * 10 : 50 + random.next() * 100);
  let soldOutAt: number | null = null;
  let arrived = 0;
  let reservedUnits = 0;
  let events = 0;
  let admittedThrough = 0;
  let slowLane: RunResult["slowLane"] = null;
  const extraTicks = new Set<number>();
  const progress = progressBar(options.progress, kind === "queue" ? "through the queue" : "without a queue ");

  for (let i = 0; i < n; i++) {
    retriesLeft[i] = crowd.isBot[i] ? Math.min(255, b.retries * b.tabs) : 3;
    calendar.schedule(crowd.arrivalMs[i]!, E.arrive, i);
  }

  const finish = (i: number, state: number, rel: number) => {
    if (outcome[i] === Outcome.reserved) return;
    outcome[i] = state;
    doneAt[i] = rel;
  };
  const open = (i: number) =>
    outcome[i] === Outcome.none || outcome[i] === Outcome.waiting || outcome[i] === Outcome.admitted;
  const soldOutShown = (rel: number) => soldOutAt !== null && soldOutAt + PUSH_MS <= rel;

  // ---- the door and the queue ------------------------------------------------------------

  const enter = (i: number, rel: number, refresh: boolean) => {
    const bot = crowd.isBot[i] === 1;
    if (!open(i) || (refresh && soldOutShown(rel))) return;
    const s = sec(rel);
    metrics.second(s).doorRequests++;
    const now = START_MS + rel;
    const verdict = door.check(
      {
        address: crowd.address[i]!,
        shopper: i,
        acctCreatedSeconds: accountCreatedSeconds(i),
        // Bots' farm devices and humans' own ids are distinct keys.
        device: crowd.isBot[i] ? -1 - crowd.device[i]! : crowd.device[i]!,
        solvesCaptcha: () => random.chance(bot ? b.captchaPass : h.captchaPass),
      },
      now,
    );
    if (verdict !== "pass") {
      metrics.count(bot, verdict);
      if (refresh) return;
      if (retriesLeft[i]! > 0 && (bot || verdict !== "account_too_new")) {
        retriesLeft[i]!--;
        const wait =
          verdict === "address_limit" || verdict === "shopper_limit" || verdict === "device_limit"
            ? door.retryAfterMs
            : bot
              ? 100
              : 3_000;
        calendar.schedule(rel + wait + latency(i), E.enter, i);
      } else if (!bot && outcome[i] === Outcome.none) finish(i, Outcome.refused, rel);
      return;
    }
    const id = shopperId(i);
    const object = queue!.objectOf(id);
    metrics.objectRequest(s, object);
    const placed = queue!.enter(id, deviceId(crowd, i), now);
    if (!placed.ok) {
      metrics.count(bot, "sale_not_active");
      if (retriesLeft[i]! > 0) {
        retriesLeft[i]!--;
        calendar.schedule(rel + 100, E.enter, i);
      }
      return;
    }
    // The route records the entry's bot signals after every answer (waitUntil): one call, off the shopper's clock.
    sendSignals(i, rel, now, 0);
    if (!placed.fresh) {
      metrics.count(bot, "same_place");
      return;
    }
    outcome[i] = Outcome.waiting;
    placedAt[i] = rel;
    metrics.second(s).entered++;
    // The page opens its socket to the object that holds the place.
    metrics.objectRequest(s, object);
    if (soldOutAt !== null) finish(i, Outcome.soldOut, rel + PUSH_MS);
    else if (bot) for (let r = 1; r <= b.refreshes; r++) calendar.schedule(rel + r * 1_000, E.enter, i, 1);
  };

  const notify = async (i: number, rel: number) => {
    if (outcome[i] !== Outcome.waiting && outcome[i] !== Outcome.admitted) return;
    const bot = crowd.isBot[i] === 1;
    const turn = await queue!.poll(shopperId(i), START_MS + rel);
    if (turn.state === "sold_out" || turn.state === "closed") return finish(i, Outcome.soldOut, rel);
    if (turn.state !== "admitted") return;
    if (turn.admissionToken === null) {
      metrics.count(bot, "turn_lapsed");
      return finish(i, Outcome.lapsed, rel);
    }
    tokens.set(i, turn.admissionToken);
    if (outcome[i] === Outcome.waiting) {
      outcome[i] = Outcome.admitted;
      admittedAt[i] = rel;
    }
    if (bot)
      for (let tab = 0; tab < b.tabs; tab++) calendar.schedule(rel + b.reactionMs + random.next() * 10, E.buy, i, tab);
    else if (!random.chance(h.walkAway))
      calendar.schedule(rel + random.logNormal(h.reactionMedianSeconds * 1000, 0.6), E.buy, i, 0);
  };

  /**
   * One entry's signals call (signals.ts recordEntrySignals): refused for capacity, it is
   * tried again after the route's delays, each stretched by up to half again, with the
   * entry's own time, and only while the retry lands before the start (rel 0). A shopper's
   * latest refused entry is the one retried: their entries differ only in that time.
   */
  const signalsAt = new Float64Array(n);
  const sendSignals = (i: number, rel: number, entryMs: number, attempt: number) => {
    const call = () =>
      entrySignalsCall({
        saleId,
        shopperId: shopperId(i),
        deviceId: deviceId(crowd, i),
        fingerprint: fingerprintOf(crowd, i),
        accountCreated: accountCreatedSeconds(i),
        nowMs: entryMs,
      });
    const base = DEFAULTS.botSignals.entryRetryDelaysMs[attempt];
    if (redisCall(sec(rel), "signals", call, () => {}) || base === undefined) return;
    const at = rel + Math.round(base * (1 + random.next() / 2));
    if (at >= 0) return;
    signalsAt[i] = entryMs;
    calendar.schedule(at, E.signals, i, attempt + 1);
  };

  // ---- the purchase ----------------------------------------------------------------------

  const redisCall = (
    s: number,
    kind: "purchase" | "signals",
    call: () => { keys: string[]; args: string[] },
    onReply: (reply: unknown) => void,
  ): boolean => {
    const row = metrics.second(s);
    if (!redis.send(kind, call, s, onReply)) {
      row.redisRefused++;
      metrics.call(kind, false);
      return false;
    }
    row.redisCalls++;
    metrics.call(kind, true);
    return true;
  };

  const buy = async (i: number, rel: number, tab: number, attempt: number) => {
    const bot = crowd.isBot[i] === 1;
    if (outcome[i] === Outcome.reserved && !bot) return;
    if (!bot && soldOutShown(rel)) return finish(i, Outcome.soldOut, rel);
    const s = sec(rel);
    metrics.second(s).purchaseRequests++;
    const now = START_MS + rel;
    let userId = shopperId(i);
    let device: string | null = deviceId(crowd, i);
    let position: number | null = null;
    if (kind === "queue") {
      try {
        const claims = await verifyAdmissionToken(tokens.get(i) ?? "", deps.admissionSecret, saleId, now);
        userId = claims.sub;
        device = claims.device;
        position = claims.position;
      } catch {
        metrics.count(bot, "no_admission_token");
        return;
      }
    }
    const quantity = bot ? sale.perUserLimit : 1;
    const hash = await hashOf(quantity);
    const call = () =>
      purchaseCall({
        saleId,
        userId,
        skuId: SKU,
        quantity,
        nowMs: now,
        // One key per tab: a retry of the same tab replays, another tab is a new request.
        idempotencyKey: `sim-${i}-${tab}`,
        requestHash: hash,
        device,
        // The admission token's `pos`: a reservation marks the turn decided, which frees its room at once.
        position,
        reservationToken: `${saleId}.${random.base64url(16)}`,
        orderId: random.uuid(),
      });
    const sent = redisCall(s, "purchase", call, (reply) => {
      const decision = parsePurchaseReply(reply);
      const layer: Layer =
        decision.kind === "reserved"
          ? "reserved"
          : decision.kind === "sold_out"
            ? "sold_out"
            : decision.kind === "limit_exceeded"
              ? decision.reason
              : "sold_out";
      metrics.count(bot, layer);
      if (decision.kind === "reserved" && !decision.replay) {
        reservedUnits += quantity;
        metrics.second(s).reserved += quantity;
        metrics.winners.push({
          shopper: i,
          bot,
          units: quantity,
          atMs: rel,
          arrival: queue?.arrivalOf(userId) ?? null,
          position: queue?.positionOf(userId) ?? null,
        });
        outcome[i] = Outcome.reserved;
        doneAt[i] = rel;
        // The route tells the queue at once when the last unit goes (notifyStockChanged).
        if (decision.remaining === 0 && kind === "queue") extraTicks.add(rel + 20);
      } else if (decision.kind === "sold_out") finish(i, Outcome.soldOut, rel);
      else if (decision.kind === "limit_exceeded") finish(i, Outcome.limited, rel);
      if (decision.kind === "sold_out" && soldOutAt === null && kind === "no-queue") soldOutAt = rel;
    });
    if (!sent) {
      metrics.count(bot, "redis_over_capacity");
      // 503 with Retry-After: the page waits it out; a bot retries at once.
      const wait = bot ? 100 : BUDGETS.retryAfterSeconds * 1000;
      if (attempt < (bot ? b.retries : PURCHASE_RETRIES))
        calendar.schedule(rel + wait + latency(i), E.buy, i, tab + (attempt + 1) * 256);
      else if (outcome[i] !== Outcome.reserved) finish(i, Outcome.failed, rel);
    }
  };

  // ---- arrival ---------------------------------------------------------------------------

  const arrive = (i: number, rel: number) => {
    arrived++;
    const bot = crowd.isBot[i] === 1;
    if (kind === "queue") {
      const tabs = bot ? b.tabs : 1;
      for (let tab = 0; tab < tabs; tab++) calendar.schedule(rel + latency(i), E.enter, i);
      if (bot && b.blindBuys > 0) {
        // Buy clicks before the turn, at T=0: refused by the admission check, no Redis, no queue object.
        const blind = b.tabs * b.blindBuys;
        metrics.second(0).purchaseRequests += blind;
        metrics.count(true, "no_admission_token", blind);
      }
      return;
    }
    // Without a queue the Buy button is the first thing: at T=0, or on arrival after it.
    const at = Math.max(rel, 0);
    if (bot) for (let tab = 0; tab < b.tabs; tab++) calendar.schedule(at + latency(i), E.buy, i, tab);
    else calendar.schedule(at + random.logNormal(h.reactionMedianSeconds * 1000, 0.6) + latency(i), E.buy, i, 0);
  };

  // ---- the clock -------------------------------------------------------------------------

  const tick = async (rel: number) => {
    if (!queue) return;
    const s = sec(rel);
    const row = metrics.second(s);
    if (queue.slowLaneDue(START_MS + rel)) {
      // The object reads the door's flags once, at the start; unread, it holds the watermark and tries again.
      const flagged = await redis.flagged(s);
      metrics.call("flags", flagged !== null);
      if (flagged === null) {
        row.redisRefused++;
        return;
      }
      row.redisCalls++;
      slowLane = { sorted: queue.length, flagged: queue.sortSlowLane(START_MS + rel, flagged) };
    }
    const read = await redis.stockLeft(s, queue.lapsedAt(START_MS + rel));
    if (read === null) row.redisRefused++;
    else row.redisCalls++;
    metrics.call("stock", read !== null);
    metrics.objectRequest(s, coordinator);
    const result = queue.tick(START_MS + rel, read?.units ?? null, read?.decided ?? 0);
    admittedThrough = result.admittedThrough;
    for (const id of result.admitted) {
      const i = Number(id.slice(id.lastIndexOf("-") + 1));
      calendar.schedule(rel + PUSH_MS, E.notify, i);
    }
    if (result.soldOut && soldOutAt === null) soldOutAt = rel;
    row.admittedThrough = result.admittedThrough;
  };

  let lastSecond = sec(calendar.cursor);
  const closeSecond = async (s: number) => {
    await redis.flush();
    const row = metrics.second(s);
    if (row.redisCalls > 0) row.redisCommands = await redis.commandsSinceLastReading();
    row.queueLength = queue?.length ?? 0;
    // Each shard reports to its coordinator every 100 ms once the door is open.
    if (coordinator > 0)
      for (let shard = 0; shard < objects; shard++) {
        metrics.objectRequest(s, shard, 10);
        metrics.objectRequest(s, coordinator, 10);
      }
  };

  const saleEnd = sale.queue.endMs - START_MS;
  for (;;) {
    const rel = calendar.cursor;
    const s = sec(rel);
    if (s !== lastSecond) {
      await closeSecond(lastSecond);
      lastSecond = s;
    }
    const ticking = rel >= 0 && (rel % (soldOutAt === null ? TICK_MS : SOLD_OUT_TICK_MS) === 0 || extraTicks.has(rel));
    if (ticking) {
      extraTicks.delete(rel);
      await tick(rel);
    }
    for (const event of calendar.drain()) {
      events++;
      if (event.kind === E.arrive) arrive(event.who, rel);
      else if (event.kind === E.enter) enter(event.who, rel, event.extra === 1);
      else if (event.kind === E.notify) await notify(event.who, rel);
      else if (event.kind === E.signals) sendSignals(event.who, rel, signalsAt[event.who]!, event.extra);
      else await buy(event.who, rel, event.extra % 256, Math.floor(event.extra / 256));
    }
    // Purchases are decided before the clock moves on; signals (whose answers change nothing) ride along later, still in order.
    if (redis.undecided > 0) await redis.flush();
    progress.update(
      arrived,
      n,
      `T${rel < 0 ? "-" : "+"}${(Math.abs(rel) / 1000).toFixed(1)} s  ${reservedUnits}/${sale.loaded} units`,
    );
    // Done when nothing is scheduled and nobody can still be admitted: sold out, or everyone placed has had a turn.
    const settled =
      calendar.pending === 0 &&
      (kind === "no-queue" || soldOutAt !== null || (rel > 0 && admittedThrough >= (queue?.length ?? 0)));
    if (settled || rel >= saleEnd) break;
    calendar.cursor++;
  }
  await closeSecond(lastSecond);
  progress.update(n, n, `${reservedUnits}/${sale.loaded} units`, true);
  progress.done();

  // Everyone still waiting heard "sold out" from the broadcast.
  for (let i = 0; i < n; i++)
    if (outcome[i] === Outcome.waiting || outcome[i] === Outcome.admitted)
      finish(
        i,
        soldOutAt === null ? Outcome.lapsed : Outcome.soldOut,
        Math.max(placedAt[i]!, soldOutAt ?? 0) + PUSH_MS,
      );

  let flaggedHumans = 0;
  let flaggedBots = 0;
  for (const id of await redis.flaggedAtEnd()) {
    const i = Number(id.slice(id.lastIndexOf("-") + 1));
    if (crowd.isBot[i]) flaggedBots++;
    else flaggedHumans++;
  }

  const arrivalNumber = new Int32Array(n);
  const position = new Int32Array(n);
  if (queue)
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(placedAt[i]!)) continue;
      arrivalNumber[i] = queue.arrivalOf(shopperId(i)) ?? 0;
      position[i] = queue.positionOf(shopperId(i)) ?? 0;
    }
  return {
    kind,
    metrics,
    outcome,
    placedAt,
    admittedAt,
    doneAt,
    arrivalNumber,
    position,
    soldOutAtMs: soldOutAt,
    flaggedHumans,
    flaggedBots,
    slowLane,
    reservedInRedis: await redis.reservedUnits(),
    loaded: sale.loaded,
    events,
    wallMs: performance.now() - started,
  };
}
