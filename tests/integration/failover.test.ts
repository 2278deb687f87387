/**
 * A real Redis failover, locally: the seed's oversell scenario, for real.
 *
 * Two `redis-server` processes, a primary and its replica (free ports, temp dirs), are
 * started and killed by this test. The replica replicates through a TCP relay in this
 * process, so "writes the replica has not received" is exact: while the relay holds the
 * stream, the primary's bytes stay here and die with it. (SIGSTOP or DEBUG SLEEP on the
 * replica would not do: bytes already in its socket would be applied when it resumes.)
 *
 * The stack is the production code called directly, not the Worker in workerd: the shared
 * Worker is bound to the shared Redis, and repointing it would disturb the other tests.
 * Every call goes through the Worker's own @upstash/redis client (createRedis) to the real
 * Upstash bridge (scripts/stack/upstash-bridge.ts) in front of whichever Redis is the
 * primary: pre-warm, purchase.lua, reservation.lua, the outbox writer into the test
 * Postgres, and reconcile.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { drizzle } from "drizzle-orm/neon-serverless";
import { Redis as IORedis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import * as schema from "../../schema/schema";
import { redisAnswers } from "../../scripts/stack/services";
import { startUpstashBridge, type UpstashBridge } from "../../scripts/stack/upstash-bridge";
import { freePort } from "../../scripts/stack/worker-process";
import type { Database } from "../../workers/clients/db";
import { createRedis, hashFromReply, type Redis, scanKeys } from "../../workers/clients/redis";
import { keys } from "../../workers/keys";
import { drainOutbox } from "../../workers/orders/outbox";
import { reconcileSale } from "../../workers/orders/reconcile";
import { createPurchaseScript, newReservationToken, requestHash } from "../../workers/purchase/purchase";
import { createReservationTransitions, type Reservation, readReservation } from "../../workers/purchase/reservations";
import { prewarmSale } from "../../workers/sales/prewarm";
import { findSale } from "../../workers/sales/store";
import { admin, intercepted, neonPool, sleep } from "./fixtures";

const TOKEN = "failover-bridge-token";
const STOCK = { PHONE: 10, CASE: 5 } as const;
type Sku = keyof typeof STOCK;

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
});

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

function stop(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill(signal);
  });
}

async function startRedis(port: number, extra: string[] = []): Promise<ChildProcess> {
  const dir = mkdtempSync(join(tmpdir(), "flashsale-failover-"));
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, ...extra],
    { stdio: "ignore" },
  );
  cleanups.push(
    () => rmSync(dir, { recursive: true, force: true }),
    () => stop(child, "SIGKILL"),
  );
  await waitUntil(() => redisAnswers(`redis://127.0.0.1:${port}`), `redis-server on ${port}`);
  return child;
}

/**
 * The replication link: replica → primary passes freely (PSYNC, acknowledgements);
 * primary → replica is held while `hold()` is on, and what was held is dropped with the
 * link, like bytes in flight when a host dies.
 */
async function startRelay(primaryPort: number) {
  const sockets = new Set<Socket>();
  let holding = false;
  const server = createServer((replicaSide) => {
    const primarySide = connect(primaryPort, "127.0.0.1");
    for (const s of [replicaSide, primarySide]) {
      sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => {
        replicaSide.destroy();
        primarySide.destroy();
      });
    }
    replicaSide.on("data", (chunk) => primarySide.write(chunk));
    primarySide.on("data", (chunk) => {
      if (!holding) replicaSide.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  const close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  cleanups.push(close);
  return {
    port: typeof address === "object" && address ? address.port : 0,
    hold: () => {
      holding = true;
    },
    close,
  };
}

async function bridgeTo(port: number): Promise<{ bridge: UpstashBridge; redis: Redis }> {
  const bridge = await startUpstashBridge({ redisUrl: `redis://127.0.0.1:${port}`, token: TOKEN, port: 0 });
  cleanups.push(() => bridge.close());
  return { bridge, redis: createRedis({ UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: TOKEN }) };
}

function ioredis(port: number): IORedis {
  const client = new IORedis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1, retryStrategy: () => null });
  client.on("error", () => undefined);
  cleanups.push(() => client.disconnect());
  return client;
}

type Order = Pick<Reservation, "saleId" | "token" | "skuId" | "userId" | "device"> & { orderId: string };

async function buy(redis: Redis, saleId: string, shopper: string, sku: Sku): Promise<Order> {
  const order = {
    saleId,
    token: newReservationToken(saleId),
    orderId: crypto.randomUUID(),
    skuId: sku,
    userId: shopper,
    device: `${shopper}-device`,
  };
  const decision = await createPurchaseScript(redis)({
    saleId,
    userId: shopper,
    skuId: sku,
    quantity: 1,
    nowMs: Date.now(),
    idempotencyKey: crypto.randomUUID(),
    requestHash: await requestHash(sku, 1),
    device: order.device,
    reservationToken: order.token,
    orderId: order.orderId,
  });
  expect(decision.kind, JSON.stringify(decision)).toBe("reserved");
  await sleep(5); // distinct reservation times, so last-in-first-out is well defined
  return order;
}

async function pay(redis: Redis, order: Order) {
  expect(await createReservationTransitions(redis)(order, "confirm", { nowMs: Date.now() })).toEqual({
    kind: "ok",
    state: "paid",
  });
}

describe("a real Redis failover", () => {
  it("oversells after the replica is promoted without the primary's last writes; reconcile reports exactly that and repairs it until the books agree", async () => {
    // Postgres: the test database, through the Neon driver and the local proxy, as the Worker reaches it.
    const pool = neonPool(4);
    cleanups.push(() => pool.end());
    const db = drizzle(pool, { schema }) as unknown as Database;

    const primaryPort = await freePort();
    const primary = await startRedis(primaryPort);
    const relay = await startRelay(primaryPort);
    const replicaPort = await freePort();
    await startRedis(replicaPort, ["--replicaof", "127.0.0.1", String(relay.port)]);
    const replicaCli = ioredis(replicaPort);
    await waitUntil(
      async () => (await replicaCli.info("replication")).includes("master_link_status:up"),
      "replica in sync",
    );
    let { redis } = await bridgeTo(primaryPort);

    // The sale: defined in Postgres by the admin API, loaded into the primary by pre-warming.
    const start = Date.now() + 1_500;
    const created = await admin("/sales", {
      body: {
        name: "Failover sale",
        start_time: new Date(start).toISOString(),
        end_time: new Date(start + 3_600_000).toISOString(),
        safety_buffer_percent: 0,
        items: (Object.keys(STOCK) as Sku[]).map((sku) => ({
          sku_id: sku,
          name: sku,
          flash_price: "10.00",
          original_price: "20.00",
          total_stock: STOCK[sku],
          per_user_limit: 1,
        })),
      },
    });
    expect(created.status).toBe(201);
    const saleId: string = created.body.sale_id;
    await prewarmSale({ redis, db }, (await findSale(db, saleId))!);
    await sleep(start - Date.now() + 50);

    // 1. Replicated: 4 phones (one paid) and a case, written to Postgres, acknowledged by the replica.
    const phones = [];
    for (let i = 1; i <= 4; i++) phones.push(await buy(redis, saleId, `shopper-p${i}`, "PHONE"));
    const cases = [await buy(redis, saleId, "shopper-c1", "CASE")];
    await pay(redis, phones[0]!);
    expect((await drainOutbox({ redis, db }, saleId)).remaining).toBe(0);
    expect(await ioredis(primaryPort).wait(1, 5_000)).toBe(1);

    // 2. Not replicated: the link stalls; the primary sells 3 phones and a case, takes the
    // payment of phone 2, and the outbox writes all of it to Postgres.
    relay.hold();
    for (let i = 5; i <= 7; i++) phones.push(await buy(redis, saleId, `shopper-p${i}`, "PHONE"));
    cases.push(await buy(redis, saleId, "shopper-c2", "CASE"));
    await pay(redis, phones[1]!);
    expect((await drainOutbox({ redis, db }, saleId)).remaining).toBe(0);

    // A reservation just made, read by another client whose plain reads a lagging replica
    // answers (as Upstash may): the replica has not got it, and it is still found.
    const { redis: onReplica } = await bridgeTo(replicaPort);
    expect(hashFromReply(await onReplica.hgetall(keys.reservation(saleId, phones[6]!.token)))).toBeNull();
    const lagging = intercepted(redis, { hgetall: () => onReplica.hgetall.bind(onReplica) });
    expect(await readReservation(lagging, saleId, phones[6]!.token)).toMatchObject({
      orderId: phones[6]!.orderId,
      state: "reserved",
    });

    // One more phone sold that never reaches Postgres: the primary dies before its outbox is written.
    const neverWritten = await buy(redis, saleId, "shopper-p8", "PHONE");

    // 3. The primary dies; the replica, without any of step 2, is promoted and the stack points at it.
    await stop(primary, "SIGKILL");
    await relay.close();
    await replicaCli.replicaof("NO", "ONE");
    ({ redis } = await bridgeTo(replicaPort));
    expect(await redis.get(keys.stock(saleId, "PHONE"))).toBe("6"); // 4 decrements lost
    expect(await redis.get(keys.stock(saleId, "CASE"))).toBe("4"); // 1 lost

    // 4. The sale goes on: 4 more phones and 2 cases are sold from the stock Redis forgot was sold.
    for (let i = 9; i <= 12; i++) phones.push(await buy(redis, saleId, `shopper-p${i}`, "PHONE"));
    for (let i = 3; i <= 4; i++) cases.push(await buy(redis, saleId, `shopper-c${i}`, "CASE"));
    await drainOutbox({ redis, db }, saleId);
    const held = async (sku: Sku) =>
      Number(
        (
          await pool.query(
            "select coalesce(sum(quantity), 0)::int as n from flash_sale_orders where sale_id = $1 and sku_id = $2 and status in ('reserved', 'paid')",
            [saleId, sku],
          )
        ).rows[0].n,
      );
    expect(await held("PHONE")).toBe(11); // 11 phones sold of 10: the seed's oversell, for real

    // 5. Reconcile says exactly what happened, and repairs it.
    const report = await reconcileSale({ redis, db }, saleId);
    expect(report).toMatchObject({
      oversold_units: 1,
      excess_cancelled: 1,
      cancelled_order_ids: [phones.at(-1)!.orderId], // the newest reservation, never a paid order
      orphans_restored: 4,
      restored_order_ids: expect.arrayContaining([...phones.slice(4, 7), cases[1]!].map((o) => o.orderId)),
      orphans_expired: 0,
      paid_restored: 0,
      states_repaired: 1, // phone 2's payment, which Redis forgot
      missing_orders_written: 0,
      stock_corrected: true,
      refused: [],
    });
    const bySku = Object.fromEntries(report.items.map((i) => [i.sku_id, i]));
    expect(bySku.PHONE).toMatchObject({
      total_stock: 10,
      loaded: 10,
      redis_stock_before: 2,
      redis_remaining: 0,
      stock_corrected: -2, // Redis would have sold two phones that were already gone
      oversold_units: 1,
      excess_cancelled: 1,
      orphans_restored: 3,
      states_repaired: 1,
      orders_reserved: 8,
      orders_paid: 2,
      units_held: 10,
    });
    expect(bySku.CASE).toMatchObject({
      total_stock: 5,
      redis_stock_before: 2,
      redis_remaining: 1,
      stock_corrected: -1,
      oversold_units: 0,
      orphans_restored: 1,
      orders_reserved: 4,
      units_held: 4,
    });

    // 6. The books agree: Redis stock + reserved + paid = loaded; Postgres's live rows are
    // exactly Redis's live reservations, state for state; no SKU sold beyond its stock.
    const inRedis: Array<{ order: string; sku: string; state: string; qty: number }> = [];
    for await (const batch of scanKeys(redis, `${keys.reservation(saleId, "")}*`)) {
      for (const key of batch) {
        const r = await readReservation(redis, saleId, key.slice(keys.reservation(saleId, "").length));
        if (r) inRedis.push({ order: r.orderId, sku: r.skuId, state: r.state, qty: r.quantity });
      }
    }
    const { rows } = await pool.query(
      "select order_id, sku_id, status, quantity from flash_sale_orders where sale_id = $1",
      [saleId],
    );
    for (const sku of Object.keys(STOCK) as Sku[]) {
      const live = inRedis.filter((r) => r.sku === sku && (r.state === "reserved" || r.state === "paid"));
      const stock = Number(await redis.get(keys.stock(saleId, sku)));
      expect(stock + live.reduce((n, r) => n + r.qty, 0), sku).toBe(STOCK[sku]);
      const liveRows = rows.filter(
        (r: { sku_id: string; status: string }) => r.sku_id === sku && (r.status === "reserved" || r.status === "paid"),
      );
      expect(liveRows.map((r: { order_id: string; status: string }) => `${r.order_id}=${r.status}`).sort()).toEqual(
        live.map((r) => `${r.order}=${r.state}`).sort(),
      );
      expect(await held(sku)).toBeLessThanOrEqual(STOCK[sku]);
    }

    // What no reconciliation can see: the order the primary took and never wrote anywhere
    // that survived it. Its shopper was told "reserved"; neither store knows the order.
    expect(rows.some((r: { order_id: string }) => r.order_id === neverWritten.orderId)).toBe(false);
    expect(inRedis.some((r) => r.order === neverWritten.orderId)).toBe(false);

    // A second run finds nothing left to do.
    const again = await reconcileSale({ redis, db }, saleId);
    expect(again).toMatchObject({
      oversold_units: 0,
      excess_cancelled: 0,
      orphans_restored: 0,
      orphans_expired: 0,
      states_repaired: 0,
      missing_orders_written: 0,
      refused: [],
    });
    expect(again.items.map((i) => i.stock_corrected)).toEqual([0, 0]);
  });
});
