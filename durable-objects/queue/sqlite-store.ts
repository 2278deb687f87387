/**
 * The queue's store in the Durable Object's SQLite: `kv` (config, state, progress as
 * JSON), `entrants` (one row per place, indexed by shopper, token, arrival and position)
 * and `admissions` (the log lapses are read from).
 */
import type { Bucket } from "./merge";
import type { Entrant } from "./model";
import type { Kept, NewEntrant, QueueStore } from "./store";

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS entrants (
    seq INTEGER PRIMARY KEY,
    shopper TEXT NOT NULL UNIQUE,
    device TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    arrival INTEGER UNIQUE,
    position INTEGER UNIQUE,
    arrived_ms INTEGER NOT NULL,
    adm_token TEXT,
    adm_expires_ms INTEGER
  );
  -- Each tick that raised the watermark: admitted through this position at this time (sale clock).
  -- Rows older than the admission window are folded into the state's lapsedThrough and deleted.
  CREATE TABLE IF NOT EXISTS admissions (through INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL);
`;

const ENTRANT_COLUMNS = "seq, shopper, device, token, arrival, position, adm_token, adm_expires_ms";

/**
 * Objects created before devices stopped being identities hold `device UNIQUE`: look-alike
 * phones would still lock each other out. SQLite cannot drop a column constraint, so the
 * table is rebuilt once, in one transaction.
 */
function dropDeviceUniqueness(sql: SqlStorage): void {
  const table = sql
    .exec<{ sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'entrants'")
    .toArray()[0];
  if (!table || !/device TEXT NOT NULL UNIQUE/.test(table.sql)) return;
  sql.exec("ALTER TABLE entrants RENAME TO entrants_old");
  sql.exec(SCHEMA);
  const columns = "seq, shopper, device, token, arrival, position, arrived_ms, adm_token, adm_expires_ms";
  sql.exec(`INSERT INTO entrants (${columns}) SELECT ${columns} FROM entrants_old`);
  sql.exec("DROP TABLE entrants_old");
  sql.exec("DROP TABLE IF EXISTS devices");
}

export class SqliteQueueStore implements QueueStore {
  private readonly sql: SqlStorage;

  /** Creates the schema (and migrates an old one); call inside blockConcurrencyWhile. */
  constructor(private readonly storage: DurableObjectStorage) {
    this.sql = storage.sql;
    this.sql.exec(SCHEMA);
    storage.transactionSync(() => dropDeviceUniqueness(this.sql));
  }

  read<K extends keyof Kept>(key: K): Kept[K] | null {
    const row = this.sql.exec<{ v: string }>("SELECT v FROM kv WHERE k = ?", key).toArray()[0];
    return row ? (JSON.parse(row.v) as Kept[K]) : null;
  }

  write<K extends keyof Kept>(key: K, value: Kept[K]): void {
    this.sql.exec(
      "INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
      key,
      JSON.stringify(value),
    );
  }

  maxArrival(): number {
    return this.max("arrival");
  }

  maxSeq(): number {
    return this.max("seq");
  }

  maxArrivedMs(): number {
    return this.max("arrived_ms");
  }

  insert(e: NewEntrant): number {
    return this.sql
      .exec<{ seq: number }>(
        "INSERT INTO entrants (seq, shopper, device, token, arrival, position, arrived_ms) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq",
        e.seq ?? null,
        e.shopper,
        e.device,
        e.token,
        e.arrival,
        e.position,
        e.arrivedMs,
      )
      .one().seq;
  }

  byShopper(shopper: string): Entrant | undefined {
    return this.sql.exec<Entrant>(`SELECT ${ENTRANT_COLUMNS} FROM entrants WHERE shopper = ?`, shopper).toArray()[0];
  }

  byToken(token: string): Entrant | undefined {
    return this.sql.exec<Entrant>(`SELECT ${ENTRANT_COLUMNS} FROM entrants WHERE token = ?`, token).toArray()[0];
  }

  shoppersBetween(from: number, through: number): string[] {
    return this.sql
      .exec<{ shopper: string }>("SELECT shopper FROM entrants WHERE position > ? AND position <= ?", from, through)
      .toArray()
      .map((r) => r.shopper);
  }

  setAdmissionToken(seq: number, token: string, expiresMs: number): void {
    this.sql.exec("UPDATE entrants SET adm_token = ?, adm_expires_ms = ? WHERE seq = ?", token, expiresMs, seq);
  }

  placeDrawn(rank: Uint32Array, count: number): void {
    this.storage.transactionSync(() => {
      const drawn = this.sql
        .exec<{ seq: number; arrival: number }>("SELECT seq, arrival FROM entrants WHERE arrival <= ?", count)
        .toArray();
      // Cleared first: the slow lane re-sorts places already held, and positions are unique.
      this.sql.exec("UPDATE entrants SET position = NULL WHERE arrival <= ?", count);
      for (const e of drawn)
        this.sql.exec("UPDATE entrants SET position = ? WHERE seq = ?", rank[e.arrival - 1]! + 1, e.seq);
    });
  }

  placeByArrival(after: number): void {
    this.sql.exec("UPDATE entrants SET position = arrival WHERE position IS NULL AND arrival > ?", after);
  }

  logAdmission(through: number, atMs: number): void {
    this.sql.exec("INSERT INTO admissions (through, at_ms) VALUES (?, ?)", through, atMs);
  }

  admittedThroughBy(cutoffMs: number): number {
    return Number(
      this.sql.exec<{ n: number | null }>("SELECT MAX(through) AS n FROM admissions WHERE at_ms <= ?", cutoffMs).one()
        .n ?? 0,
    );
  }

  dropAdmissionsThrough(through: number): void {
    this.sql.exec("DELETE FROM admissions WHERE through <= ?", through);
  }

  admittedAt(position: number): number | null {
    const row = this.sql
      .exec<{ at: number }>("SELECT at_ms AS at FROM admissions WHERE through >= ? ORDER BY through LIMIT 1", position)
      .toArray()[0];
    return row ? row.at : null;
  }

  bucketsAfter(afterSeq: number): Bucket[] {
    return this.sql
      .exec<{ ms: number; first: number; n: number }>(
        "SELECT arrived_ms AS ms, MIN(seq) AS first, COUNT(*) AS n FROM entrants WHERE seq > ? GROUP BY arrived_ms ORDER BY arrived_ms",
        afterSeq,
      )
      .toArray()
      .map((b): Bucket => [b.ms, b.first, b.n]);
  }

  number(firstSeq: number, count: number, base: number): void {
    this.sql.exec(
      "UPDATE entrants SET arrival = ? + seq - ? WHERE seq BETWEEN ? AND ?",
      base,
      firstSeq,
      firstSeq,
      firstSeq + count - 1,
    );
  }

  private max(column: "arrival" | "seq" | "arrived_ms"): number {
    return Number(this.sql.exec<{ n: number | null }>(`SELECT MAX(${column}) AS n FROM entrants`).one().n ?? 0);
  }
}
