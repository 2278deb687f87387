/**
 * A queue that misses its sale's settings is told them again by the cron. The Worker's own
 * code runs here in Node (the admin routes through `createApp`, the cron's `salesCron`)
 * against the stack's real Redis and Postgres, with a SALE_QUEUE binding that either
 * cannot be reached or writes down what each queue object was told.
 */
import { afterAll, describe, expect, inject, it } from "vitest";
import { useLocalNeonProxy } from "../../scripts/db/neon-node";
import { createApp } from "../../workers/app";
import type { QueueSaleConfig, QueueStats } from "../../workers/queue/types";
import { salesCron } from "../../workers/sales/prewarm";
import { adminToken, defineSale, neonPool, saleBody } from "./fixtures";

type Told = { saleId: string; call: "configure"; config: QueueSaleConfig } | { saleId: string; call: "cancel" };

/**
 * A SALE_QUEUE binding. `reachable: false`: every configure and cancel throws, as a queue
 * object that is reset or overloaded does. `during`: runs inside each configure, before it
 * answers. `keepsCount`: refuses any shard count, as a queue past its start refuses a new one.
 */
function queueBinding(options: {
  reachable: boolean;
  during?: (saleId: string) => Promise<void>;
  keepsCount?: boolean;
}) {
  const told: Told[] = [];
  const object = (saleId: string) => ({
    async configure(config: QueueSaleConfig) {
      if (!options.reachable) throw new Error("queue object unreachable");
      told.push({ saleId, call: "configure", config });
      await options.during?.(saleId);
      if (options.keepsCount && config.shards !== undefined)
        return { ok: false, problem: "can be raised only before the sale starts (it has 1)" };
      return { ok: true, shards: config.shards ?? 1 };
    },
    async cancel() {
      if (!options.reachable) throw new Error("queue object unreachable");
      told.push({ saleId, call: "cancel" });
    },
    async stats(): Promise<QueueStats> {
      return { length: 0, admittedThrough: 0, lapsedThrough: 0, soldOut: false, closed: false };
    },
  });
  // The coordinator is named by the sale id (workers/queue/shards.ts), and configure and cancel go to it.
  const SALE_QUEUE = { idFromName: (name: string) => name, get: (name: string) => object(name) };
  return { told: (saleId: string) => told.filter((t) => t.saleId === saleId), SALE_QUEUE };
}

function workerEnv(binding: ReturnType<typeof queueBinding>): Env {
  useLocalNeonProxy(inject("neonProxyPort"));
  return {
    ENVIRONMENT: "test",
    ADMIN_TOKEN: adminToken(),
    UPSTASH_REDIS_REST_URL: inject("upstashUrl"),
    UPSTASH_REDIS_REST_TOKEN: inject("upstashToken"),
    DATABASE_URL: inject("databaseUrl"),
    NEON_LOCAL_WS_PROXY: `127.0.0.1:${inject("neonProxyPort")}/v1`,
    SALE_QUEUE: binding.SALE_QUEUE,
  } as unknown as Env;
}

const app = createApp();
const background: Promise<unknown>[] = [];

/** An admin call answered by the Worker's app in this process, with `binding` as its queue. */
async function adminHere(binding: ReturnType<typeof queueBinding>, method: string, path: string, body?: unknown) {
  const res = await app.request(
    `/api/v1/admin/sales${path}`,
    {
      method,
      headers: { authorization: `Bearer ${adminToken()}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    },
    workerEnv(binding),
    { waitUntil: (p: Promise<unknown>) => background.push(p), passThroughOnException: () => {}, props: {} },
  );
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const pool = neonPool(2);
afterAll(async () => {
  await Promise.allSettled(background);
  await pool.end();
});

async function row(saleId: string) {
  const { rows } = await pool.query("select shards, queue_synced_at, status from flash_sales where sale_id = $1", [
    saleId,
  ]);
  return rows[0] as { shards: number | null; queue_synced_at: Date | null; status: string };
}

/** The cron, as the scheduled handler runs it, with `binding` as the queue. */
const cron = (binding: ReturnType<typeof queueBinding>) => salesCron(workerEnv(binding));

describe("a queue that did not hear its sale", () => {
  it("is told the admin's settings (mode, rate, pause, shards) by the next cron", async () => {
    const down = queueBinding({ reachable: false });
    const created = await adminHere(
      down,
      "POST",
      "",
      saleBody({ pre_queue_mode: "random", admission_rate_per_second: 777, shards: 3 }),
    );
    expect(created.status).toBe(201);
    expect(created.body.queue_notified).toBe(false);
    const saleId: string = created.body.sale_id;
    expect(await row(saleId)).toMatchObject({ shards: 3, queue_synced_at: null });

    const up = queueBinding({ reachable: true });
    await cron(up);
    const expected = {
      saleId,
      startMs: Date.parse(created.body.start_time),
      endMs: Date.parse(created.body.end_time),
      preQueueMode: "random",
      admissionRatePerSecond: 777,
      shards: 3,
    };
    expect(up.told(saleId)).toEqual([{ saleId, call: "configure", config: expect.objectContaining(expected) }]);
    expect((await row(saleId)).queue_synced_at).toBeInstanceOf(Date);

    // A pause the queue did not hear: Postgres says so, and the cron tells it (a rate of 0).
    const paused = await adminHere(down, "PATCH", `/${saleId}`, { admission_paused: true });
    expect(paused.status).toBe(200);
    expect(paused.body.queue_notified).toBe(false);
    expect((await row(saleId)).queue_synced_at).toBeNull();
    const again = queueBinding({ reachable: true });
    await cron(again);
    expect(again.told(saleId)).toEqual([
      { saleId, call: "configure", config: expect.objectContaining({ ...expected, admissionRatePerSecond: 0 }) },
    ]);
    expect((await row(saleId)).queue_synced_at).toBeInstanceOf(Date);

    // Heard: the next cron leaves it alone.
    const quiet = queueBinding({ reachable: true });
    await cron(quiet);
    expect(quiet.told(saleId)).toEqual([]);
  });

  it("is not marked as having heard a change that landed while it was being told", async () => {
    const created = await adminHere(queueBinding({ reachable: false }), "POST", "", saleBody());
    const saleId: string = created.body.sale_id;
    // The admin's PATCH lands while the cron's configure (the old rate) is in flight.
    const racing = queueBinding({
      reachable: true,
      during: async (id) => {
        if (id !== saleId) return;
        await pool.query(
          "update flash_sales set admission_rate_per_second = 555, updated_at = now(), queue_synced_at = null where sale_id = $1",
          [saleId],
        );
      },
    });
    await cron(racing);
    expect(racing.told(saleId)).toHaveLength(1);
    expect((await row(saleId)).queue_synced_at).toBeNull();
    const next = queueBinding({ reachable: true });
    await cron(next);
    expect(next.told(saleId)).toEqual([
      { saleId, call: "configure", config: expect.objectContaining({ admissionRatePerSecond: 555 }) },
    ]);
    expect((await row(saleId)).queue_synced_at).toBeInstanceOf(Date);
  });

  it("that refuses the admin's shard count still takes the rest, and counts as told", async () => {
    const created = await adminHere(queueBinding({ reachable: false }), "POST", "", saleBody({ shards: 4 }));
    const saleId: string = created.body.sale_id;
    const late = queueBinding({ reachable: true, keepsCount: true });
    await cron(late);
    expect(late.told(saleId).map((t) => (t.call === "configure" ? t.config.shards : t.call))).toEqual([4, undefined]);
    expect((await row(saleId)).queue_synced_at).toBeInstanceOf(Date);
  });

  it("is told a cancel it missed as a cancel, not a configuration", async () => {
    // Created through the running Worker: its real queue heard the sale.
    const sale = await defineSale();
    expect((await row(sale.sale_id)).queue_synced_at).toBeInstanceOf(Date);
    const cancelled = await adminHere(queueBinding({ reachable: false }), "POST", `/${sale.sale_id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.queue_notified).toBe(false);
    expect(await row(sale.sale_id)).toMatchObject({ status: "cancelled", queue_synced_at: null });
    const up = queueBinding({ reachable: true });
    await cron(up);
    expect(up.told(sale.sale_id)).toEqual([{ saleId: sale.sale_id, call: "cancel" }]);
    expect((await row(sale.sale_id)).queue_synced_at).toBeInstanceOf(Date);
  });
});
