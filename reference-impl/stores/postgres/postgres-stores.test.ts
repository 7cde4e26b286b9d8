/**
 * The PostgreSQL stores against a real throw-away cluster (one per file): migrations applied once
 * across concurrent replicas, claim-once under concurrency from several pools (replicas), expiry,
 * unavailable vs unconfirmed, the audit chain with several writers, effects. Without PostgreSQL
 * these tests print why and are skipped.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nonceKey } from '../../../model/profile/request-checks.ts';
import type { PostgresServer } from '../../../harness/postgres-cluster.ts';
import { postgresAvailability, startPostgres } from '../../../harness/postgres-cluster.ts';
import { verifyChain } from '../../audit/audit-log.ts';
import { denialEntry } from '../../audit/audit-test-entries.ts';
import { ClaimStoreError } from '../claim-store.ts';
import { ManualClock } from '../test-support.ts';
import { startTcpFaultProxy } from '../../../harness/services/tcp-fault-proxy.ts';
import { MIGRATIONS, migrate } from './migrations.ts';
import { PostgresAuditLog, PostgresClaimStore, PostgresDatabase, PostgresEffectSink } from './postgres-stores.ts';


const available = postgresAvailability();
if (!available.ok) console.log(`postgres-stores.test.ts: WILL FAIL (the tool is missing; .ci/run installs it) — ${available.reason}`);

describe('the reference\'s stores on PostgreSQL', () => {
  let server: PostgresServer;
  const opened: PostgresDatabase[] = [];
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    for (const db of opened) await db.close();
    await server?.close();
  }, 30_000);

  /** `n` replicas' pools on one fresh database. */
  async function replicas(n: number, options: { statementTimeoutMs?: number } = {}): Promise<{ url: string; dbs: PostgresDatabase[] }> {
    const url = await server.createDatabase('stores');
    const dbs = await Promise.all(Array.from({ length: n }, () => PostgresDatabase.open(url, options)));
    opened.push(...dbs);
    return { url, dbs };
  }

  it('applies each migration once, even when replicas start together', { timeout: 30_000 }, async () => {
    const { url, dbs } = await replicas(4);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const rows = (await client.query('SELECT version FROM failclosed_migrations ORDER BY version')).rows;
    await client.end();
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await migrate(dbs[0]!.pool)).toEqual([]);
    // A database newer than the code is refused, never used.
    await expect(migrate(dbs[0]!.pool, [])).rejects.toThrow(/newer than this reference knows/);
  });

  it('claims (identity, action, nonce) once across replicas: 48 concurrent claims of one triple, one wins', { timeout: 30_000 }, async () => {
    const { dbs } = await replicas(3);
    const clock = new ManualClock(Date.now());
    const stores = dbs.map((db) => new PostgresClaimStore(db, 'nonces', clock));
    const key = nonceKey('alice', 'payments.transfer', 'n-1');
    const results = await Promise.all(Array.from({ length: 48 }, (_, i) => stores[i % 3]!.claim(key, clock.now + 60_000)));
    expect(results.filter((r) => r === 'claimed')).toHaveLength(1);
    // The triple, not the nonce: another identity or action with the same nonce is another request.
    expect(await stores[1]!.claim(nonceKey('bob', 'payments.transfer', 'n-1'), clock.now + 60_000)).toBe('claimed');
    expect(await stores[2]!.claim(nonceKey('alice', 'payments.refund', 'n-1'), clock.now + 60_000)).toBe('claimed');
    // Remembered until it expires, then claimable again (once).
    clock.now += 59_999;
    expect(await stores[0]!.claim(key, clock.now + 60_000)).toBe('duplicate');
    clock.now += 1;
    const again = await Promise.all([stores[0]!.claim(key, clock.now + 60_000), stores[1]!.claim(key, clock.now + 60_000)]);
    expect(again.sort()).toEqual(['claimed', 'duplicate']);
  });

  it('consumes an approval once across replicas', { timeout: 30_000 }, async () => {
    const { dbs } = await replicas(2);
    const stores = dbs.map((db) => new PostgresClaimStore(db, 'approvals'));
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => stores[i % 2]!.claim('approval-1', Date.now() + 60_000)));
    expect(results.filter((r) => r === 'claimed')).toHaveLength(1);
  });

  it('is unavailable when nothing reached the server, unconfirmed when a sent claim got no answer in time', { timeout: 30_000 }, async () => {
    const down = await PostgresDatabase.open(await server.createDatabase('down'));
    opened.push(down);
    await down.pool.end();
    // A pool that cannot connect: nothing was sent.
    const dead = new PostgresClaimStore(down, 'nonces');
    await expect(dead.claim(nonceKey('a', 'b', 'c'), Date.now() + 1000)).rejects.toMatchObject({ kind: 'unavailable' });

    // A claim that waits behind another transaction's uncommitted claim of the same triple: sent,
    // unanswered within the deadline — it may yet land, so it is unconfirmed.
    const { url, dbs } = await replicas(1, { statementTimeoutMs: 300 });
    const store = new PostgresClaimStore(dbs[0]!, 'nonces');
    const blocker = new pg.Client({ connectionString: url });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query("INSERT INTO nonce_claims (identity, action, nonce, expires_at_ms) VALUES ('a', 'b', 'slow', 0)");
    const error = await store.claim(nonceKey('a', 'b', 'slow'), Date.now() + 1000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClaimStoreError);
    expect((error as ClaimStoreError).kind).toBe('unconfirmed');
    await blocker.query('ROLLBACK');
    await blocker.end();
    // The store recovers: a fresh connection replaces the destroyed one.
    expect(await store.claim(nonceKey('a', 'b', 'fresh'), Date.now() + 1000)).toBe('claimed');
  });

  it('keeps one gapless hash chain per name with concurrent writers on several replicas, and refuses a tampered chain', { timeout: 30_000 }, async () => {
    const { url, dbs } = await replicas(2);
    const logs = await Promise.all(dbs.map((db) => PostgresAuditLog.open(db, 'gate-a')));
    const other = await PostgresAuditLog.open(dbs[0]!, 'gate-b');
    await Promise.all(Array.from({ length: 30 }, (_, i) => logs[i % 2]!.append(denialEntry(i))));
    await other.append(denialEntry(99));
    const records = await logs[0]!.records();
    expect(records).toHaveLength(30);
    expect(verifyChain(records)).toEqual({ ok: true });
    expect(await other.records()).toHaveLength(1);
    expect(verifyChain(await other.records())).toEqual({ ok: true });
    // Reopening (a restarted replica) continues the chain.
    const reopened = await PostgresAuditLog.open(dbs[1]!, 'gate-a');
    await reopened.append(denialEntry(31));
    expect(verifyChain(await reopened.records())).toEqual({ ok: true });

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query("UPDATE audit_records SET record = replace(record, '\"code\":\"POLICY_DENIED\"', '\"code\":\"REPLAY_DETECTED\"') WHERE chain = 'gate-a' AND seq = 3");
    await client.end();
    await expect(PostgresAuditLog.open(dbs[0]!, 'gate-a')).rejects.toMatchObject({ kind: 'corrupt' });
  });

  it('an append whose COMMIT went through without its acknowledgement is not chained twice when retried', { timeout: 30_000 }, async () => {
    const url = new URL(await server.createDatabase('ack'));
    const proxy = await startTcpFaultProxy({ host: url.hostname, port: Number(url.port) });
    const viaProxy = new URL(url.href);
    viaProxy.port = String(proxy.port);
    const db = await PostgresDatabase.open(viaProxy.href);
    opened.push(db);
    try {
      const log = await PostgresAuditLog.open(db, 'gate');
      await log.append(denialEntry(1));
      await proxy.setMode({ kind: 'lose-ack', match: 'COMMIT' });
      await expect(log.append(denialEntry(2))).rejects.toMatchObject({ kind: 'unavailable' });
      expect(proxy.stats.lostAcks).toBe(1);
      await proxy.setMode({ kind: 'pass' });
      // The Gate's spool retries it: the record that landed is returned, not chained again.
      const retried = await log.append(denialEntry(2));
      await log.append(denialEntry(3));
      const records = await log.records();
      expect(records.map((r) => r.trace_id)).toEqual(['trace-1', 'trace-2', 'trace-3']);
      expect(records[1]).toEqual(retried);
      expect(verifyChain(records)).toEqual({ ok: true });
    } finally {
      await proxy.close();
    }
  });

  it('records effects durably, once per effect id', { timeout: 30_000 }, async () => {
    const { dbs } = await replicas(1);
    const sink = new PostgresEffectSink(dbs[0]!);
    const effect = { effect_id: 'effect-1', at: Date.now(), approval_id: 'a-1', request_id: 'r-1', identity: 'alice', action: 'x', parameters: { n: 1 } };
    await sink.report(effect);
    await sink.report(effect);
    expect(await sink.effects()).toEqual([effect]);
  });
});
