/**
 * Breaks INV-3 between replicas on PostgreSQL only: the nonce claim reads whether the triple is
 * claimed, then writes it with an upsert that never conflicts — two replicas that read before
 * either wrote both claim it, and the request executes twice. One statement (INSERT … ON CONFLICT
 * … WHERE expired RETURNING) is what makes the reference's claim atomic; this is the read-then-write
 * it replaces. In-process there is no database, so it exists only over HTTP with replicas; duplicates
 * spread over replicas at once (`SpreadDuplicates`) catch it.
 */
import type { Clock } from '../../reference-impl/clock.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { ClaimResult, ClaimStore } from '../../reference-impl/stores/claim-store.ts';
import type { PostgresDatabase } from '../../reference-impl/stores/postgres/postgres-stores.ts';
import { claimError, nonceKeyParts } from '../../reference-impl/stores/postgres/postgres-stores.ts';
import type { Mutant } from './mutant.ts';

class ReadThenInsertClaimStore implements ClaimStore {
  constructor(
    private readonly db: PostgresDatabase,
    private readonly clock: Clock,
  ) {}

  async claim(key: string, expiresAtMs: number): Promise<ClaimResult> {
    const [identity, action, nonce] = nonceKeyParts(key);
    const nowMs = Math.floor(this.clock.nowMs());
    try {
      return await this.db.run(async (client) => {
        const seen = await client.query<{ expires_at_ms: string }>('SELECT expires_at_ms FROM nonce_claims WHERE identity = $1 AND action = $2 AND nonce = $3', [identity, action, nonce]);
        if (seen.rows[0] && Number(seen.rows[0].expires_at_ms) > nowMs) return 'duplicate';
        // The bug: another replica's claim of the same triple can commit between the read and this write.
        await client.query(
          `INSERT INTO nonce_claims (identity, action, nonce, expires_at_ms) VALUES ($1, $2, $3, $4)
           ON CONFLICT (identity, action, nonce) DO UPDATE SET expires_at_ms = EXCLUDED.expires_at_ms, claimed_at = now()`,
          [identity, action, nonce, Math.ceil(expiresAtMs)],
        );
        return 'claimed';
      });
    } catch (error) {
      throw claimError(error, 'the nonce claim');
    }
  }

  async close(): Promise<void> {}
}

export const postgresClaimReadThenInsert: Mutant = {
  id: 'postgres-claim-read-then-insert',
  breaks: 'on PostgreSQL the nonce claim reads, then upserts: replicas that read before either wrote both claim the triple',
  expected: ['INV-3'],
  target: referenceTarget('mutant:postgres-claim-read-then-insert', { postgresNonces: (db, clock) => new ReadThenInsertClaimStore(db, clock) }),
  onlyOver: 'http',
  replicas: 3,
};
