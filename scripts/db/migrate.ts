/**
 * Creates the database when it is missing and applies the drizzle migrations in
 * schema/migrations, through the Neon driver and the local WebSocket proxy.
 */

import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/neon-serverless";
import { migrate } from "drizzle-orm/neon-serverless/migrator";
import { postgresAddress } from "../stack/config";
import { createNodePool } from "./neon-node";

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../../schema/migrations", import.meta.url));

export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const { database } = postgresAddress(databaseUrl);
  const admin = new URL(databaseUrl);
  admin.pathname = "/postgres";
  const pool = createNodePool(admin.toString(), 1);
  try {
    const found = await pool.query("select 1 from pg_database where datname = $1", [database]);
    if (found.rowCount) return false;
    // Identifiers cannot be bound as parameters; the name comes from our own config.
    await pool.query(`create database "${database.replace(/"/g, '""')}"`);
    return true;
  } finally {
    await pool.end();
  }
}

export async function dropDatabase(databaseUrl: string): Promise<void> {
  const { database } = postgresAddress(databaseUrl);
  const admin = new URL(databaseUrl);
  admin.pathname = "/postgres";
  const pool = createNodePool(admin.toString(), 1);
  try {
    await pool.query(`drop database if exists "${database.replace(/"/g, '""')}" with (force)`);
  } finally {
    await pool.end();
  }
}

export async function applyMigrations(databaseUrl: string): Promise<void> {
  const pool = createNodePool(databaseUrl, 1);
  try {
    await migrate(drizzle(pool), { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await pool.end();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { stackConfigFromEnv } = await import("../stack/config");
  const { useLocalNeonProxy } = await import("./neon-node");
  const config = stackConfigFromEnv();
  // A loopback database is reached through the local proxy (start it with `npm start`);
  // anything else is Neon itself, over its own secure WebSocket endpoint.
  if (["127.0.0.1", "localhost"].includes(postgresAddress(config.databaseUrl).host))
    useLocalNeonProxy(config.neonProxyPort);
  else (await import("@neondatabase/serverless")).neonConfig.webSocketConstructor = (await import("ws")).WebSocket;
  const created = await ensureDatabase(config.databaseUrl);
  await applyMigrations(config.databaseUrl);
  console.log(`${created ? "created and migrated" : "migrated"} ${postgresAddress(config.databaseUrl).database}`);
}
