/** What the queue's unit tests share: a fresh, configured queue object per test, and tokens. */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { stockFromRedis } from "../../durable-objects/queue/redis";
import { fixedClock } from "../../durable-objects/queue/rules";
import type { SaleQueue } from "../../durable-objects/sale-queue";
import { configureQueue, queueStub } from "../../workers/queue/client";
import type { QueueSaleConfig } from "../../workers/queue/types";
import { queueSale } from "../node/queue-sale";

export { START } from "../node/queue-sale";

type QueueObject = DurableObjectStub<SaleQueue>;

/** The sale's clock in this queue object stands at `ms` (until the object is evicted): admission is measured against it, not against sleeps. */
export function setClock(stub: QueueObject, ms: number): Promise<void> {
  return runInDurableObject(stub, (queue: SaleQueue) => {
    queue.clock = fixedClock(ms);
  });
}

/** The units left as this queue object sees them, in place of Redis; null reads Redis again (a dead port here). */
export function setStock(stub: QueueObject, units: number | null): Promise<void> {
  return runInDurableObject(stub, (queue: SaleQueue) => {
    queue.stock = units === null ? stockFromRedis(env) : async () => ({ units, decided: 0 });
  });
}

export async function freshQueue(overrides: Partial<QueueSaleConfig> = {}) {
  const saleId = crypto.randomUUID();
  const config = queueSale(saleId, overrides);
  const stub = queueStub(env, saleId);
  // The clock first: configure schedules against it.
  await setClock(stub, config.startMs - 60_000);
  await setStock(stub, 1_000);
  await configureQueue(env, config);
  return { saleId, stub, config };
}

export type Stub = Awaited<ReturnType<typeof freshQueue>>["stub"];

/** Enters `count` shoppers in arrival order (each waits for the previous), returning their answers. */
export async function enterMany(stub: Stub, saleId: string, count: number, prefix = "shopper") {
  const answers = [];
  for (let i = 0; i < count; i++) {
    const outcome = await stub.enter(saleId, `${prefix}-${i}`, `${prefix}-device-${i}`);
    if (!outcome.ok) throw new Error(`entry ${i} refused: ${outcome.message}`);
    answers.push(outcome.value);
  }
  return answers;
}

/** Moves the sale's clock to `to` in ticks of `stepMs`, ticking at each step. */
export async function runClock(stub: Stub, from: number, to: number, stepMs: number | (() => number)) {
  let now = from;
  while (now < to) {
    now = Math.min(to, now + (typeof stepMs === "number" ? stepMs : stepMs()));
    await setClock(stub, now);
    await stub.tick();
  }
}

const shopperSecret = new TextEncoder().encode(env.SHOPPER_JWT_SECRET);

export async function shopperToken(sub: string, accountAgeSeconds = 30 * 86_400) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ acct_created: now - accountAgeSeconds })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + 3_600)
    .sign(shopperSecret);
}

/** The queue namespace with a count of how often an object was reached (`get`): what wakes objects. */
export function countingQueues() {
  const ns = env.SALE_QUEUE;
  /** `gets`: stubs asked for; `names`: the objects they name, in order. */
  const counted = { gets: 0, names: [] as string[] };
  const namespace = new Proxy(ns, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (prop === "get" || prop === "getByName") counted.gets++;
        if (prop === "idFromName" || prop === "getByName") counted.names.push(String(args[0]));
        return value.apply(target, args);
      };
    },
  });
  return { env: { ...env, SALE_QUEUE: namespace } as typeof env, counted };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `done` holds, for state that reaches shards on their next report; throws on timeout. */
export async function eventually<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms; last read: ${JSON.stringify(value).slice(0, 500)}`);
    await sleep(50);
  }
}
