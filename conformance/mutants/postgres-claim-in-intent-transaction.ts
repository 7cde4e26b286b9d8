/**
 * Breaks INV-3 on PostgreSQL only: the nonce claim is written inside the transaction that commits
 * with the audit intent record, instead of being committed on its own before the Control Plane is
 * asked. A request denied before its intent (by policy, a Control Plane failure, a bad envelope,
 * the audit log down) rolls its claim back, and the same (identity, action, nonce) is then claimed
 * anew — the replay of a request the Gate already accepted for checking gets another chance to
 * execute. Concurrent copies still see one another (the uncommitted row blocks them), which is what
 * makes the mistake tempting. In-process there is no database, so it exists only over HTTP.
 */
import type pg from 'pg';
import pgModule from 'pg';
import type { ApprovalEnvelope, ClientRequest } from '../../model/profile/messages.ts';
import type { Clock } from '../../reference-impl/clock.ts';
import type { Attribution, GateDependencies } from '../../reference-impl/gate/gate.ts';
import { Gate } from '../../reference-impl/gate/gate.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { ClaimResult, ClaimStore } from '../../reference-impl/stores/claim-store.ts';
import { ClaimStoreError } from '../../reference-impl/stores/claim-store.ts';
import { FaultyClaimStore } from '../../reference-impl/stores/faulty-claim-store.ts';
import type { PostgresDatabase } from '../../reference-impl/stores/postgres/postgres-stores.ts';
import { claimError, nonceKeyParts } from '../../reference-impl/stores/postgres/postgres-stores.ts';
import type { Mutant } from './mutant.ts';

/** Longest a claim waits uncommitted for its intent record before it is rolled back (a denial). */
const PENDING_MS = 1_000;

class IntentTransactionClaimStore implements ClaimStore {
  private readonly pending = new Map<string, { client: pg.PoolClient; timer: NodeJS.Timeout }>();
  /** a pool of its own, as large as the contract's 64 requests in flight: each holds a connection until its intent */
  private readonly pool: pg.Pool;

  constructor(
    db: PostgresDatabase,
    private readonly clock: Clock,
  ) {
    this.pool = new pgModule.Pool({ connectionString: db.url, max: 70, connectionTimeoutMillis: 1000, statement_timeout: 2000 });
    this.pool.on('error', () => undefined);
    this.pool.on('connect', (client) => client.on('error', () => undefined));
  }

  async claim(key: string, expiresAtMs: number): Promise<ClaimResult> {
    const [identity, action, nonce] = nonceKeyParts(key);
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw new ClaimStoreError('unavailable', `no connection to PostgreSQL: ${(error as Error).message}`);
    }
    try {
      await client.query('BEGIN');
      const result = await client.query(
        `INSERT INTO nonce_claims (identity, action, nonce, expires_at_ms) VALUES ($1, $2, $3, $4)
         ON CONFLICT (identity, action, nonce) DO UPDATE SET expires_at_ms = EXCLUDED.expires_at_ms, claimed_at = now()
         WHERE nonce_claims.expires_at_ms <= $5 RETURNING 1`,
        [identity, action, nonce, Math.ceil(expiresAtMs), Math.floor(this.clock.nowMs())],
      );
      if (result.rowCount !== 1) {
        await client.query('ROLLBACK');
        client.release();
        return 'duplicate';
      }
    } catch (error) {
      client.release(error as Error);
      throw claimError(error, 'the nonce claim');
    }
    // The bug: not committed here; it commits with the intent record, or is rolled back.
    const timer = setTimeout(() => void this.settle(key, false), PENDING_MS);
    this.pending.set(key, { client, timer });
    return 'claimed';
  }

  /** COMMIT (the intent record was written) or ROLLBACK (denied before it) the claim of `key`. */
  async settle(key: string, commit: boolean): Promise<void> {
    const held = this.pending.get(key);
    if (!held) return;
    this.pending.delete(key);
    clearTimeout(held.timer);
    try {
      await held.client.query(commit ? 'COMMIT' : 'ROLLBACK');
      held.client.release();
    } catch (error) {
      held.client.release(error as Error);
    }
  }

  async close(): Promise<void> {
    for (const key of [...this.pending.keys()]) await this.settle(key, false);
    await this.pool.end().catch(() => undefined);
  }
}

class IntentTransactionGate extends Gate {
  /** the claim of each request in flight, by what the intent record knows of it */
  private readonly claims = new Map<string, string>();

  constructor(deps: GateDependencies) {
    super(deps);
  }

  private get store(): IntentTransactionClaimStore | undefined {
    const nonces = this.deps.nonces instanceof FaultyClaimStore ? this.deps.nonces.inner : this.deps.nonces;
    return nonces instanceof IntentTransactionClaimStore ? nonces : undefined;
  }

  protected override async claimNonce(request: ClientRequest): Promise<void> {
    await super.claimNonce(request);
    this.claims.set(`${request.identity}\0${request.action}\0${request.request_id}`, this.nonceKeyOf(request));
  }

  protected override async writeIntent(who: Attribution, envelope: ApprovalEnvelope): Promise<void> {
    const id = `${who.identity}\0${who.action}\0${who.request_id}`;
    const key = this.claims.get(id);
    this.claims.delete(id);
    try {
      await super.writeIntent(who, envelope);
    } catch (error) {
      if (key) await this.store?.settle(key, false);
      throw error;
    }
    if (key) await this.store?.settle(key, true);
  }
}

export const postgresClaimInIntentTransaction: Mutant = {
  id: 'postgres-claim-in-intent-transaction',
  breaks: 'on PostgreSQL the nonce claim commits with the audit intent record: a request denied before its intent has its claim rolled back, and its replay is checked again',
  expected: ['INV-3'],
  target: referenceTarget('mutant:postgres-claim-in-intent-transaction', {
    postgresNonces: (db, clock) => new IntentTransactionClaimStore(db, clock),
    makeGate: (deps) => new IntentTransactionGate(deps),
  }),
  onlyOver: 'http',
  replicas: 2,
};
