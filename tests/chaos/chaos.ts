/**
 * What the chaos tests share: faults injected through the suite's control server, a
 * bounded crowd of buyers that behaves like real clients (each attempt bounded in time,
 * a 503 retried after its Retry-After with the same Idempotency-Key), a watcher that
 * checks the page and the status keep serving, and the books after the fault.
 */
import { spawnSync } from "node:child_process";
import { Redis as IORedis } from "ioredis";
import { expect, inject } from "vitest";
import { keys } from "../../workers/keys";
import { admin, admissionToken, createActiveSale, workerUrl } from "../integration/fixtures";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** No request may take longer than this: past it, the crowd records a hang. */
export const ATTEMPT_BOUND_MS = 6_000;

export async function fault(name: string): Promise<void> {
  const res = await fetch(`${inject("faultUrl")}/${name}`, { method: "POST" });
  if (res.status !== 204) throw new Error(`fault ${name}: ${res.status} ${await res.text()}`);
}

export type Attempt = {
  /** An HTTP status, "no_connection" (refused or reset) or "hung" (no answer within ATTEMPT_BOUND_MS). */
  status: number | "no_connection" | "hung";
  ms: number;
  startedAt: number;
  retryAfter: number | null;
  error: string | null;
};

export type Outcome =
  | { kind: "reserved"; orderId: string; qty: number }
  | { kind: "sold_out" | "limit_exceeded" | "gave_up" };

export type Crowd = {
  /** Shoppers who have their final answer. */
  settled(): number;
  attempts(): Attempt[];
  finished: Promise<Outcome[]>;
};

async function attempt(saleId: string, token: string, key: string, sku: string): Promise<Attempt & { body: any }> {
  const startedAt = Date.now();
  try {
    const res = await fetch(`${workerUrl()}/api/v1/flash-sale/${saleId}/purchase`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "idempotency-key": key },
      body: JSON.stringify({ sku_id: sku, quantity: 1 }),
      signal: AbortSignal.timeout(ATTEMPT_BOUND_MS),
    });
    const body: any = await res.json().catch(() => null);
    const retryAfter = res.headers.get("retry-after");
    return {
      status: res.status,
      ms: Date.now() - startedAt,
      startedAt,
      retryAfter: retryAfter === null ? null : Number(retryAfter),
      error: body?.error ?? null,
      body,
    };
  } catch (err) {
    const hung = (err as Error).name === "TimeoutError";
    return {
      status: hung ? "hung" : "no_connection",
      ms: Date.now() - startedAt,
      startedAt,
      retryAfter: null,
      error: String(err),
      body: null,
    };
  }
}

/**
 * `shoppers` buyers of one unit each, `concurrency` at a time, until each has an answer
 * or `deadlineMs` has passed. A 503 is retried after its Retry-After and a lost
 * connection after a moment, always with the same Idempotency-Key, so a retry whose
 * first attempt did go through gets that first answer back, never a second order.
 */
export function startCrowd(
  saleId: string,
  options: {
    shoppers: number;
    concurrency: number;
    sku: string;
    deadlineMs?: number;
    tag: string;
    /** How a shopper gets an admission token (null: the queue said sold out); by default one is minted as the queue would. */
    admit?: (shopper: string) => Promise<string | null>;
  },
): Crowd {
  const all: Attempt[] = [];
  let settled = 0;
  const deadline = Date.now() + (options.deadlineMs ?? 60_000);
  const buyer = async (i: number): Promise<Outcome> => {
    const shopper = `${options.tag}-${i}`;
    const token = await (options.admit ?? ((s: string) => admissionToken(saleId, s, `fp-${s}`)))(shopper);
    if (token === null) {
      settled++;
      return { kind: "sold_out" };
    }
    const key = crypto.randomUUID();
    try {
      while (Date.now() < deadline) {
        const a = await attempt(saleId, token, key, options.sku);
        const { body, ...recorded } = a;
        all.push(recorded);
        if (a.status === 200 && body?.status === "reserved")
          return { kind: "reserved", orderId: body.order_id, qty: 1 };
        if (a.status === 200 && (body?.status === "sold_out" || body?.status === "limit_exceeded"))
          return { kind: body.status };
        // A 200 whose body was cut off (a dying Worker) is no answer: ask again, same key.
        if (a.status === 200) await sleep(200);
        else if (a.status === 503) await sleep(Math.min(a.retryAfter ?? 1, 2) * 1_000);
        else if (typeof a.status === "string") await sleep(200);
        else throw new Error(`buyer ${shopper}: unexpected ${a.status} ${JSON.stringify(body)}`);
      }
      return { kind: "gave_up" };
    } finally {
      settled++;
    }
  };
  const outcomes: Outcome[] = new Array(options.shoppers);
  let next = 0;
  const lanes = Array.from({ length: options.concurrency }, async () => {
    while (next < options.shoppers) {
      const i = next++;
      outcomes[i] = await buyer(i);
    }
  });
  return {
    settled: () => settled,
    attempts: () => all,
    finished: Promise.all(lanes).then(() => outcomes),
  };
}

export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Every answer was a decision or a 503 with Retry-After, and none took longer than the bound. */
export function expectFailedClosed(attempts: Attempt[]): void {
  expect(attempts.filter((a) => a.status === "hung")).toEqual([]);
  const unavailable = attempts.filter((a) => a.status === 503);
  for (const a of unavailable) {
    expect(a.error).toBe("dependency_unavailable");
    expect(a.retryAfter).toBeGreaterThan(0);
  }
  const other = attempts.filter((a) => typeof a.status === "number" && a.status !== 200 && a.status !== 503);
  expect(other).toEqual([]);
  expect(Math.max(0, ...attempts.map((a) => a.ms))).toBeLessThan(ATTEMPT_BOUND_MS);
}

export type Watch = { stop(): Promise<{ page: number[]; status: number[]; staleStatus: number; slowestMs: number }> };

/**
 * Polls the sale page (a static asset) and the sale's status, each answer bounded in
 * time, as an open sale page does. Resolves once the status has answered once, so the
 * fault meets a page that is already showing the sale.
 */
export async function watchServing(saleId: string): Promise<Watch> {
  const page: number[] = [];
  const status: number[] = [];
  let staleStatus = 0;
  let slowestMs = 0;
  let running = true;
  const get = async (path: string) => {
    const started = Date.now();
    try {
      const res = await fetch(`${workerUrl()}${path}`, { signal: AbortSignal.timeout(ATTEMPT_BOUND_MS) });
      await res.arrayBuffer();
      slowestMs = Math.max(slowestMs, Date.now() - started);
      return res;
    } catch {
      slowestMs = Math.max(slowestMs, Date.now() - started);
      return null;
    }
  };
  const loop = (async () => {
    while (running) {
      page.push((await get("/"))?.status ?? 0);
      const s = await get(`/api/v1/flash-sale/${saleId}/status`);
      status.push(s?.status ?? 0);
      if (s?.headers.get("x-status-stale") === "true") staleStatus++;
      await sleep(250);
    }
  })();
  await until(() => status.includes(200), "the sale's status");
  return {
    async stop() {
      running = false;
      await loop;
      return { page, status, staleStatus, slowestMs };
    },
  };
}

/** Waits until the Worker finds Redis and Postgres both answering (its breakers closed again). */
export async function waitHealthy(timeoutMs = 30_000): Promise<void> {
  await until(
    async () =>
      (await fetch(`${workerUrl()}/api/v1/health`, { signal: AbortSignal.timeout(5_000) }).catch(() => null))
        ?.status === 200,
    "the stack to be healthy",
    timeoutMs,
  );
}

export function redisClient(): IORedis {
  return new IORedis(inject("redisUrl"), { maxRetriesPerRequest: 1 });
}

/** One query on the suite's own Postgres, straight through psql (not through the proxy under test). */
export function psql(sql: string): string {
  const args = ["-h", "127.0.0.1", "-p", String(inject("postgresPort")), "-U", "postgres", "-d", "flashsale"];
  const result = spawnSync("psql", [...args, "-v", "ON_ERROR_STOP=1", "-Atc", sql], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`psql: ${result.stderr}`);
  return result.stdout.trim();
}

/** Orders Postgres holds for the sale: id -> units. */
export function postgresOrders(saleId: string): Map<string, number> {
  const rows = psql(
    `select order_id || ' ' || quantity from flash_sale_orders where sale_id = '${saleId}' and status in ('reserved','paid')`,
  );
  return new Map(
    rows
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [id, qty] = line.split(" ");
        return [id!, Number(qty)];
      }),
  );
}

/** Reservations Redis holds for the sale (reserved or paid): order id -> units. */
export async function redisReservations(redis: IORedis, saleId: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${keys.reservation(saleId, "")}*`, "COUNT", 500);
    cursor = next;
    for (const key of batch) {
      const r = await redis.hgetall(key);
      if (r.state === "reserved" || r.state === "paid") found.set(r.order_id!, Number(r.qty));
    }
  } while (cursor !== "0");
  return found;
}

/**
 * The promises after a fault: once the outbox has drained (the cron runs it), every
 * order a shopper was told about is in Postgres, Postgres and Redis hold the same orders,
 * stock + held units = units loaded (nothing oversold, nothing leaked), and reconcile
 * finds nothing to write and nothing to cancel.
 */
export async function expectBooksBalance(saleId: string, sku: string, outcomes: Outcome[]): Promise<void> {
  const redis = redisClient();
  try {
    await until(async () => {
      await fetch(`${workerUrl()}/cdn-cgi/local/scheduled`).then((r) => r.arrayBuffer());
      return (await redis.llen(keys.outbox(saleId))) === 0;
    }, "the outbox to drain");
    const told = outcomes.filter((o) => o.kind === "reserved").map((o) => o.orderId);
    expect(new Set(told).size).toBe(told.length);
    const inPostgres = postgresOrders(saleId);
    const inRedis = await redisReservations(redis, saleId);
    // 0 lost: every order a shopper was told about is in Postgres, and both stores agree.
    expect(told.filter((id) => !inPostgres.has(id))).toEqual([]);
    expect([...inPostgres.keys()].sort()).toEqual([...inRedis.keys()].sort());
    // 0 oversold: what is held plus what is left is exactly what was loaded.
    const loaded = Number(await redis.hget(keys.item(saleId, sku), "loaded"));
    const stock = Number(await redis.get(keys.stock(saleId, sku)));
    const held = [...inRedis.values()].reduce((a, b) => a + b, 0);
    expect(stock).toBeGreaterThanOrEqual(0);
    expect(stock + held).toBe(loaded);
    const report = await admin(`/sales/${saleId}/reconcile`, { method: "POST" });
    expect(report.status).toBe(200);
    expect(report.body).toMatchObject({ missing_orders_written: 0, excess_cancelled: 0 });
  } finally {
    redis.disconnect();
  }
}

/**
 * The shape every fault test shares: a 70-unit sale, a crowd of 100 buying 8 at a time,
 * the fault injected by `during` once 20 buyers have an answer (it returns when the fault
 * began). Whatever the fault, every attempt is answered in bounded time and the page and
 * status keep serving.
 */
export async function saleThroughFault(tag: string, during: (crowd: Crowd) => Promise<number>) {
  const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 70 }] });
  const crowd = startCrowd(saleId, { shoppers: 100, concurrency: 8, sku: "PHONE", tag });
  await until(() => crowd.settled() >= 20, "the first buyers");
  const watch = await watchServing(saleId);
  const faultAt = await during(crowd);
  const served = await watch.stop();
  const outcomes = await crowd.finished;
  const attempts = crowd.attempts();
  expectFailedClosed(attempts);
  expect(served.page).toEqual(served.page.map(() => 200));
  expect(served.status).toEqual(served.status.map(() => 200));
  return { saleId, served, outcomes, attempts, faultAt };
}

/** Afterwards: the Worker healthy again, exactly the stock sold, and the books agree. */
export async function expectSoldExactly(saleId: string, outcomes: Outcome[]): Promise<void> {
  await waitHealthy();
  expect(outcomes.filter((o) => o.kind === "reserved")).toHaveLength(70);
  await expectBooksBalance(saleId, "PHONE", outcomes);
}
