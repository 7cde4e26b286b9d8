/**
 * The reference's durable state on PostgreSQL, so that N stateless replicas share it: nonce claims,
 * consumed approvals, hash-chained audit logs and effects, behind the same interfaces as the
 * embedded file stores (ClaimStore, AuditLog, EffectSink). The schema comes from migrations.ts.
 *
 * What the database answers, and what a replica concludes (the Gate fails closed on either):
 * - nothing reached the server (no connection from the pool, refused, timed out connecting), or
 *   the server refused the statement with an error it reports before committing (a constraint, a
 *   cancelled statement): `unavailable` — nothing was written;
 * - the statement was sent and then the connection broke, the server went away, or no answer came
 *   within the store's deadline: `unconfirmed` — the claim may have landed, the nonce is spent.
 */
import type pg from 'pg';
import pgModule from 'pg';
import type { Digest } from '../../../model/profile/digest.ts';
import { ZERO_DIGEST } from '../../../model/profile/digest.ts';
import { canonicalize } from '../../../model/profile/canonical-json.ts';
import type { AuditRecord } from '../../../model/profile/messages.ts';
import type { AuditEntry, AuditLog } from '../../audit/audit-log.ts';
import { AuditLogError, newRecordId, sealRecord, verifyChain } from '../../audit/audit-log.ts';
import type { Clock } from '../../clock.ts';
import { systemClock } from '../../clock.ts';
import type { EffectRecord, EffectSink } from '../../execution-layer/effect-sink.ts';
import type { ClaimResult, ClaimStore } from '../claim-store.ts';
import { ClaimStoreError } from '../claim-store.ts';
import { checkClaimArguments } from '../claim-table.ts';
import { migrate } from './migrations.ts';

export interface PostgresOptions {
  /** how long a claim, an append or a report may take before it counts as unconfirmed (ms) */
  statementTimeoutMs?: number;
  /** how long to wait for a connection before the store counts as unavailable (ms; default: the statement deadline) */
  connectTimeoutMs?: number;
  /** connections in the pool at most */
  maxConnections?: number;
  /** connections opened at start and kept open (at most maxConnections) */
  warmConnections?: number;
  clock?: Clock;
}

/** Whether `url` names a PostgreSQL database (postgres:// or postgresql://). */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** The URL without its password, for logs. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.href;
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

class Unsent extends Error {}

/** Pooled connections the server (or a cut link) already ended: never handed a statement. */
const broken = new WeakSet<object>();

/** SQLSTATE classes after which the statement certainly did not commit (the server said so on a live connection). */
function refusedBeforeCommit(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return false;
  // 08 connection exception, 57 operator intervention (shutdown, crash), 58 system error, XX
  // internal error: the server or the link went away, perhaps after COMMIT. 57014 is a
  // cancelled statement (statement_timeout): rolled back.
  if (code === '57014') return true;
  return !/^(08|57|58|XX)/.test(code);
}

/** One pool to one database, its schema migrated; the stores below share it. */
export class PostgresDatabase {
  private closed = false;

  private constructor(
    readonly pool: pg.Pool,
    readonly url: string,
    readonly statementTimeoutMs: number,
  ) {}

  /** Connects, applies the migrations (once across replicas), and keeps a pool. */
  static async open(url: string, options: PostgresOptions = {}): Promise<PostgresDatabase> {
    const statementTimeoutMs = options.statementTimeoutMs ?? 1500;
    const max = options.maxConnections ?? 16;
    const warm = Math.min(max, options.warmConnections ?? 8);
    const pool = new pgModule.Pool({
      connectionString: url,
      max,
      // Opened at start and kept: a burst of requests (CONTRACT.md section 3, 64 in flight) then
      // finds warm connections instead of waiting on a dozen new server processes at once —
      // which, on a loaded machine, took longer than the store's deadline (seen in CI).
      min: warm,
      connectionTimeoutMillis: options.connectTimeoutMs ?? statementTimeoutMs,
      idleTimeoutMillis: 10_000,
      // The server gives up too, a little after the replica did: nothing runs on for long.
      statement_timeout: statementTimeoutMs + 500,
      keepAlive: true,
    });
    // An idle connection that breaks (a restarted server, a partition) is dropped from the pool;
    // the next query takes a new one. Without a listener the error would end the process.
    pool.on('error', () => undefined);
    // A connection that breaks while checked out fails the query in flight (that is how it is
    // seen); its 'error' event must not end the process either.
    pool.on('connect', (client) => {
      client.on('error', () => broken.add(client));
      client.on('end', () => broken.add(client));
    });
    try {
      await migrate(pool);
      const opened = await Promise.all(Array.from({ length: warm }, () => pool.connect()));
      for (const client of opened) client.release();
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw new Error(`PostgreSQL at ${redactedUrl(url)}: ${(error as Error).message}`, { cause: error });
    }
    return new PostgresDatabase(pool, url, statementTimeoutMs);
  }

  /**
   * Runs `work` on one connection with the store's deadline. Rejects Unsent when no connection
   * could be had (nothing was sent); otherwise with what went wrong, the connection destroyed.
   */
  async run<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.closed) throw new Unsent('the store is closed');
    let client: pg.PoolClient | undefined;
    // A pooled connection whose end was seen is dropped before anything is sent on it: a statement
    // sent on it could not be told apart from one the server took and then lost the link over.
    for (let attempt = 0; attempt < 3 && client === undefined; attempt++) {
      let candidate: pg.PoolClient;
      try {
        candidate = await this.pool.connect();
      } catch (error) {
        throw new Unsent(`no connection to PostgreSQL: ${(error as Error).message}`, { cause: error });
      }
      if (broken.has(candidate)) candidate.release(new Error('the connection had ended'));
      else client = candidate;
    }
    if (client === undefined) throw new Unsent('no live connection to PostgreSQL');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`PostgreSQL did not answer within ${this.statementTimeoutMs} ms`)), this.statementTimeoutMs);
    });
    try {
      const result = await Promise.race([work(client), deadline]);
      client.release();
      return result;
    } catch (error) {
      // A connection in an unknown state is never reused: destroyed, whatever it was doing.
      client.release(error instanceof Error ? error : new Error(String(error)));
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end().catch(() => undefined);
  }
}

/** What a failed claim on PostgreSQL means: unavailable when nothing can have been written, else unconfirmed. */
export const claimError = (error: unknown, what: string): ClaimStoreError => {
  if (error instanceof ClaimStoreError) return error;
  if (error instanceof Unsent || refusedBeforeCommit(error)) return new ClaimStoreError('unavailable', `${what}: ${(error as Error).message}`, { cause: error });
  return new ClaimStoreError('unconfirmed', `${what} may or may not have landed: ${(error as Error).message}`, { cause: error });
};

/** How often (in claims) a store sweeps claims that expired. */
const SWEEP_EVERY = 512;

/**
 * The Gate's nonce store: claims of (identity, action, nonce) — the key is the Gate's canonical
 * [identity, action, nonce] — claim-once in one statement: an insert, or the update of an expired
 * row, under the primary key's uniqueness. No read before the write; no answer is cached here.
 */
export class PostgresClaimStore implements ClaimStore {
  private claims = 0;

  constructor(
    private readonly db: PostgresDatabase,
    /** nonces: the Gate's (identity, action, nonce) table; approvals: the Execution Layer's */
    readonly kind: 'nonces' | 'approvals',
    private readonly clock: Clock = systemClock,
  ) {}

  async claim(key: string, expiresAtMs: number): Promise<ClaimResult> {
    checkClaimArguments(key, expiresAtMs);
    const nowMs = Math.floor(this.clock.nowMs());
    const expires = Math.ceil(expiresAtMs);
    let sql: string;
    let values: unknown[];
    if (this.kind === 'nonces') {
      const [identity, action, nonce] = nonceKeyParts(key);
      sql = `INSERT INTO nonce_claims (identity, action, nonce, expires_at_ms) VALUES ($1, $2, $3, $4)
             ON CONFLICT (identity, action, nonce) DO UPDATE SET expires_at_ms = EXCLUDED.expires_at_ms, claimed_at = now()
             WHERE nonce_claims.expires_at_ms <= $5
             RETURNING 1`;
      values = [identity, action, nonce, expires, nowMs];
    } else {
      sql = `INSERT INTO consumed_approvals (approval_id, expires_at_ms) VALUES ($1, $2)
             ON CONFLICT (approval_id) DO UPDATE SET expires_at_ms = EXCLUDED.expires_at_ms, consumed_at = now()
             WHERE consumed_approvals.expires_at_ms <= $3
             RETURNING 1`;
      values = [key, expires, nowMs];
    }
    let rows: number;
    try {
      rows = await this.db.run(async (client) => (await client.query(sql, values)).rowCount ?? 0);
    } catch (error) {
      throw claimError(error, `the ${this.kind === 'nonces' ? 'nonce' : 'approval'} claim`);
    }
    if (++this.claims % SWEEP_EVERY === 0) this.sweep(nowMs);
    return rows === 1 ? 'claimed' : 'duplicate';
  }

  /** Forgets a bounded batch of expired claims, in the background (retention: only expired rows go). */
  private sweep(nowMs: number): void {
    const table = this.kind === 'nonces' ? 'nonce_claims' : 'consumed_approvals';
    this.db
      .run((client) => client.query(`DELETE FROM ${table} WHERE ctid IN (SELECT ctid FROM ${table} WHERE expires_at_ms <= $1 LIMIT 1000)`, [nowMs]))
      .catch(() => undefined);
  }

  async close(): Promise<void> {}
}

/** The Gate's nonce key: canonical JSON of [identity, action, nonce] (model/profile/request-checks.ts). */
export function nonceKeyParts(key: string): [string, string, string] {
  let parts: unknown;
  try {
    parts = JSON.parse(key);
  } catch {
    parts = undefined;
  }
  if (!Array.isArray(parts) || parts.length !== 3 || !parts.every((p) => typeof p === 'string')) throw new TypeError('a nonce key is the canonical JSON of [identity, action, nonce]');
  return parts as [string, string, string];
}

/**
 * One hash chain of the audit log in PostgreSQL, named `chain` (a replica writes its own: see
 * ARCHITECTURE.md). An append is one transaction: lock the chain's head row, seal the record
 * against it, insert the record, advance the head, COMMIT — so the chain's order is the commit
 * order and has no gap even with several writers on one chain. `append` resolves after COMMIT.
 * Appends are idempotent per (trace_id, stage): a retry of an append that committed without its
 * acknowledgement returns the record already in the chain.
 */
export class PostgresAuditLog implements AuditLog {
  private constructor(
    private readonly db: PostgresDatabase,
    readonly chain: string,
    private readonly clock: Clock,
  ) {}

  /** Opens (creating) the chain; refuses ('corrupt') a stored chain that does not verify. */
  static async open(db: PostgresDatabase, chain: string, options: { clock?: Clock } = {}): Promise<PostgresAuditLog> {
    const log = new PostgresAuditLog(db, chain, options.clock ?? systemClock);
    try {
      await db.run((client) => client.query('INSERT INTO audit_chains (chain, last_hash) VALUES ($1, $2) ON CONFLICT (chain) DO NOTHING', [chain, ZERO_DIGEST]));
    } catch (error) {
      throw new AuditLogError('unavailable', `cannot open audit chain ${chain}: ${(error as Error).message}`, { cause: error });
    }
    const records = await log.records();
    const verdict = verifyChain(records);
    if (!verdict.ok) throw new AuditLogError('corrupt', `audit chain ${chain} fails verification at record ${verdict.index + 1}: ${verdict.problem}`, { line: verdict.index + 1 });
    return log;
  }

  async append(entry: AuditEntry): Promise<AuditRecord> {
    // Sealing errors (an invalid entry) are thrown before anything is sent.
    sealRecord(entry, { recordId: newRecordId(0), timestampMs: Math.floor(this.clock.nowMs()), prevHash: ZERO_DIGEST });
    const key = JSON.stringify([entry.trace_id, entry.stage]);
    try {
      return await this.db.run(async (client) => {
        await client.query('BEGIN');
        try {
          const head = await client.query<{ last_seq: string; last_hash: string }>('SELECT last_seq, last_hash FROM audit_chains WHERE chain = $1 FOR UPDATE', [this.chain]);
          const row = head.rows[0];
          if (!row) throw new Error(`audit chain ${this.chain} has no head row`);
          // Written already by an attempt whose acknowledgement was lost: that record, not a second one.
          const earlier = await client.query<{ record: string }>('SELECT record FROM audit_records WHERE chain = $1 AND entry_key = $2', [this.chain, key]);
          if (earlier.rows[0]) {
            await client.query('COMMIT');
            return JSON.parse(earlier.rows[0].record) as AuditRecord;
          }
          const seq = Number(row.last_seq) + 1;
          const record = sealRecord(entry, { recordId: newRecordId(seq), timestampMs: Math.floor(this.clock.nowMs()), prevHash: row.last_hash as Digest });
          await client.query(
            `WITH added AS (INSERT INTO audit_records (chain, seq, record_id, record_hash, record, entry_key) VALUES ($1, $2, $3, $4, $5, $6))
             UPDATE audit_chains SET last_seq = $2, last_hash = $4 WHERE chain = $1`,
            [this.chain, seq, record.record_id, record.record_hash, canonicalize(record), key],
          );
          await client.query('COMMIT');
          return record;
        } catch (error) {
          // The connection is destroyed by run() on any error: an open transaction rolls back.
          throw error;
        }
      });
    } catch (error) {
      if (error instanceof AuditLogError) throw error;
      throw new AuditLogError('unavailable', `audit record not written to PostgreSQL: ${(error as Error).message}`, { cause: error });
    }
  }

  async records(): Promise<AuditRecord[]> {
    try {
      const result = await this.db.run((client) => client.query<{ record: string }>('SELECT record FROM audit_records WHERE chain = $1 ORDER BY seq', [this.chain]));
      return result.rows.map((r) => JSON.parse(r.record) as AuditRecord);
    } catch (error) {
      throw new AuditLogError('unavailable', `audit chain ${this.chain} not readable: ${(error as Error).message}`, { cause: error });
    }
  }

  async close(): Promise<void> {}
}

/** Effects in PostgreSQL (when no effect sink URL is configured): one row per effect, durable before `report` resolves. */
export class PostgresEffectSink implements EffectSink {
  constructor(private readonly db: PostgresDatabase) {}

  async report(effect: EffectRecord): Promise<void> {
    await this.db.run((client) => client.query('INSERT INTO effects (effect_id, at_ms, record) VALUES ($1, $2, $3) ON CONFLICT (effect_id) DO NOTHING', [effect.effect_id, Math.floor(effect.at), canonicalize(effect as never)]));
  }

  async effects(): Promise<EffectRecord[]> {
    const result = await this.db.run((client) => client.query<{ record: string }>('SELECT record FROM effects ORDER BY at_ms, effect_id'));
    return result.rows.map((r) => JSON.parse(r.record) as EffectRecord);
  }

  async close(): Promise<void> {}
}

/**
 * Empties what the conformance channel's reset empties: every claim, approval and effect, and the
 * chain `chain` (never in production: the channel is off there).
 */
export async function resetPostgres(db: PostgresDatabase, chain: string): Promise<void> {
  await db.run(async (client) => {
    await client.query('BEGIN');
    await client.query('TRUNCATE nonce_claims, consumed_approvals, effects');
    await client.query('DELETE FROM audit_records WHERE chain = $1', [chain]);
    await client.query('UPDATE audit_chains SET last_seq = -1, last_hash = $2 WHERE chain = $1', [chain, ZERO_DIGEST]);
    await client.query('COMMIT');
  });
}
