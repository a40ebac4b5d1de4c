// Schema migrations for the PostgreSQL history, run by whichever node starts first: every node calls
// migrate() at start, and a transaction-scoped advisory lock makes the others wait for it and then
// find nothing left to do. Each migration runs once, in the same transaction as its bookkeeping row,
// so a node that dies half-way leaves nothing half-applied.
import type { Pool } from 'pg';

export interface Migration {
  /** unique and never renamed: the bookkeeping key */
  id: string;
  sql: string;
}

/** pg_advisory_xact_lock key: any fixed 64-bit number that other software on the database will not use */
const LOCK_KEY = 0x4561_7273_686f_74n; // "Earshot"

/** Applies the migrations not applied yet, in order; returns the ids it applied. */
export async function migrate(pool: Pool, migrations: Migration[]): Promise<string[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY.toString()]);
    await client.query('CREATE TABLE IF NOT EXISTS earshot_migrations (id TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
    const done = new Set((await client.query<{ id: string }>('SELECT id FROM earshot_migrations')).rows.map((r) => r.id));
    const applied: string[] = [];
    for (const m of migrations) {
      if (done.has(m.id)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO earshot_migrations (id) VALUES ($1)', [m.id]);
      applied.push(m.id);
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
