import { afterAll, describe, expect, it } from "vitest";
import { neonPool, uniq } from "./fixtures";

describe("the local Neon WebSocket proxy, through @neondatabase/serverless", () => {
  const pool = neonPool(2);
  const table = uniq("proxy_tx").replace(/-/g, "_");

  afterAll(async () => {
    await pool.query(`drop table if exists ${table}`);
    await pool.end();
  });

  it("commits a transaction", async () => {
    await pool.query(`create table ${table} (id int primary key, note text)`);
    const client = await pool.connect();
    try {
      await client.query("begin");
      await client.query(`insert into ${table} values (1, 'kept')`);
      await client.query("commit");
    } finally {
      client.release();
    }
    const { rows } = await pool.query(`select note from ${table} where id = 1`);
    expect(rows).toEqual([{ note: "kept" }]);
  });

  it("rolls a transaction back, leaving nothing behind", async () => {
    const client = await pool.connect();
    try {
      await client.query("begin");
      await client.query(`insert into ${table} values (2, 'discarded')`);
      const inside = await client.query(`select count(*)::int as n from ${table} where id = 2`);
      expect(inside.rows[0].n).toBe(1);
      await client.query("rollback");
    } finally {
      client.release();
    }
    const { rows } = await pool.query(`select count(*)::int as n from ${table} where id = 2`);
    expect(rows[0].n).toBe(0);
  });
});
