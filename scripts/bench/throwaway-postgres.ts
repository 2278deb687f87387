/**
 * A database of the benchmark's own on the local Postgres (DATABASE_URL, default
 * 127.0.0.1:5432), reached as the Worker reaches Postgres: the Neon driver through a
 * WebSocket proxy started in this process. Created with the project's migrations, holding
 * one sale for the orders' foreign key, and dropped by `drop()`.
 */
import type { Pool } from "@neondatabase/serverless";
import { applyMigrations, dropDatabase, ensureDatabase } from "../db/migrate";
import { useLocalNeonProxy } from "../db/neon-node";
import { postgresAddress, stackConfigFromEnv } from "../stack/config";
import { startNeonWsProxy } from "../stack/neon-ws-proxy";
import { freePort } from "../stack/worker-process";

export type ThrowawayPostgres = { databaseUrl: string; host: string; port: number; drop(): Promise<void> };

export async function throwawayPostgres(prefix: string): Promise<ThrowawayPostgres> {
  const url = new URL(stackConfigFromEnv().databaseUrl);
  url.pathname = `/${prefix}_${process.pid}_${Date.now().toString(36)}`;
  const databaseUrl = url.toString();
  const pg = postgresAddress(databaseUrl);
  const proxy = await startNeonWsProxy({ port: await freePort(), postgresHost: pg.host, postgresPort: pg.port });
  useLocalNeonProxy(proxy.port);
  await ensureDatabase(databaseUrl);
  const drop = async () => {
    await dropDatabase(databaseUrl).catch((err) => console.warn(`could not drop ${pg.database}: ${err.message}`));
    await proxy.close();
  };
  try {
    await applyMigrations(databaseUrl);
  } catch (err) {
    await drop();
    throw err;
  }
  return { databaseUrl, host: pg.host, port: pg.port, drop };
}

/** A sale row, open for the next hour, for orders to reference. */
export async function insertBenchSale(pool: Pool, saleId: string): Promise<void> {
  await pool.query(
    `INSERT INTO flash_sales (sale_id, name, start_time, end_time, pre_queue_minutes, pre_queue_mode,
       admission_rate_per_second, expected_shoppers, safety_buffer_percent, payment_deadline_seconds)
     VALUES ($1, 'bench sale', now() - interval '1 minute', now() + interval '1 hour', 5, 'fifo', 1000, 10000, 0, 600)`,
    [saleId],
  );
}
