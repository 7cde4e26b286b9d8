/**
 * The reference's schema on PostgreSQL, as versioned migrations: each runs once, in its own
 * transaction, in version order, recorded in `failclosed_migrations`. Replicas starting together
 * take a transaction-scoped advisory lock first, so exactly one of them applies what is missing
 * and the others find it done. A migration is never edited once released: a change is a new one.
 */
import type pg from 'pg';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'claims, approvals, audit chains, effects',
    sql: `
      -- The Gate's nonce claims: one row per (identity, action, nonce), unique by the primary key.
      -- A row is live while its expiry (the Gate's clock, unix ms) is ahead; an expired row may be
      -- claimed again (it is updated in place) or swept.
      CREATE TABLE nonce_claims (
        identity      text   NOT NULL,
        action        text   NOT NULL,
        nonce         text   NOT NULL,
        expires_at_ms bigint NOT NULL,
        claimed_at    timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (identity, action, nonce)
      );
      CREATE INDEX nonce_claims_expiry ON nonce_claims (expires_at_ms);

      -- The Execution Layer's consumed approvals: single use, by approval id.
      CREATE TABLE consumed_approvals (
        approval_id   text   PRIMARY KEY,
        expires_at_ms bigint NOT NULL,
        consumed_at   timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX consumed_approvals_expiry ON consumed_approvals (expires_at_ms);

      -- Hash-chained audit logs, one chain per name (each replica writes its own). The head row
      -- is the chain's lock: an append holds it FOR UPDATE from reading the head to COMMIT.
      CREATE TABLE audit_chains (
        chain     text   PRIMARY KEY,
        last_seq  bigint NOT NULL DEFAULT -1,
        last_hash text   NOT NULL
      );
      -- record: the canonical JSON bytes of the record, exactly as sealed (jsonb would reorder).
      CREATE TABLE audit_records (
        chain       text   NOT NULL REFERENCES audit_chains (chain),
        seq         bigint NOT NULL,
        record_id   text   NOT NULL,
        record_hash text   NOT NULL,
        record      text   NOT NULL,
        PRIMARY KEY (chain, seq),
        UNIQUE (chain, record_id)
      );

      -- Effects the embedded Execution Layer reports when no effect sink URL is configured.
      CREATE TABLE effects (
        effect_id text PRIMARY KEY,
        at_ms     bigint NOT NULL,
        record    text   NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'audit appends are idempotent per (trace, stage)',
    sql: `
      -- An append whose COMMIT was acknowledged to no one (the link broke after it) is retried by
      -- the Gate (its spool): the retry finds the record by this key and returns it instead of
      -- chaining a second copy. One record per (trace_id, stage) and chain.
      ALTER TABLE audit_records ADD COLUMN entry_key text;
      CREATE UNIQUE INDEX audit_records_entry_key ON audit_records (chain, entry_key);
    `,
  },
];

/** An arbitrary constant: the advisory lock that serializes migrations across replicas. */
const MIGRATION_LOCK = 0x6661696c; // "fail"

/** Applies every missing migration; returns the versions it applied. */
export async function migrate(pool: pg.Pool, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS failclosed_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM failclosed_migrations')).rows.map((r) => r.version));
    const newest = Math.max(0, ...migrations.map((m) => m.version));
    const unknown = [...done].filter((v) => v > newest);
    if (unknown.length > 0) throw new Error(`the database has schema version ${Math.max(...unknown)}, newer than this reference knows (${newest}): upgrade the reference`);
    await client.query('COMMIT');
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(migration.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
        // Another replica may have applied it while this one waited for the lock.
        const again = await client.query('SELECT 1 FROM failclosed_migrations WHERE version = $1', [migration.version]);
        if (again.rowCount === 0) {
          await client.query(migration.sql);
          await client.query('INSERT INTO failclosed_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
          applied.push(migration.version);
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    }
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release(error as Error);
    throw error;
  }
  client.release();
  return applied;
}
