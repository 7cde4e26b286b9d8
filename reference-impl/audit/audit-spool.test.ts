import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultHistoryKeys, trustedKey, TEST_KEYS } from '../../model/history-builder.ts';
import { utf8Encode } from '../../model/profile/encoding.ts';
import { Gate } from '../gate/gate.ts';
import { MemoryClaimStore } from '../stores/memory-claim-store.ts';
import type { AuditEntry } from './audit-log.ts';
import { FileAuditSpool } from './audit-spool.ts';
import { FaultyAuditLog } from './faulty-audit-log.ts';
import { MemoryAuditLog } from './memory-audit-log.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempFile = () => {
  const dir = mkdtempSync(join(tmpdir(), 'failclosed-spool-'));
  dirs.push(dir);
  return join(dir, 'audit-spool.ndjson');
};

const entry = (n: number): AuditEntry =>
  ({ identity: 'unknown', decision: 'deny', stage: 'final', code: 'REQUEST_MALFORMED', request_hash: `sha256:${String(n).padStart(64, '0')}`, trace_id: `trace-${n}`, data_hash: `sha256:${'0'.repeat(64)}` }) as AuditEntry;

describe('the audit spool', () => {
  it('keeps entries in order across a reopen, and forgets only what was shifted', async () => {
    const path = tempFile();
    const spool = await FileAuditSpool.open(path);
    await spool.push(entry(1));
    await spool.push(entry(2));
    await spool.push(entry(3));
    await spool.shift();
    await spool.close();
    const reopened = await FileAuditSpool.open(path);
    expect(reopened.size).toBe(2);
    expect(reopened.peek()?.trace_id).toBe('trace-2');
    await reopened.close();
  });

  it('a denial refused by the audit log survives a crash of the Gate and reaches the log afterwards', async () => {
    const path = tempFile();
    const inner = new MemoryAuditLog();
    const audit = new FaultyAuditLog(inner, { mode: 'failing' });
    const deps = {
      identityKeys: () => defaultHistoryKeys().identityKeys,
      trustedKeys: () => [trustedKey(TEST_KEYS.controlPlane)],
      nonces: new MemoryClaimStore(),
      audit,
      controlPlane: { ask: async () => ({ decision: 'deny' }) },
      executionLayer: { execute: async () => ({}) },
    };
    const first = new Gate({ ...deps, spool: await FileAuditSpool.open(path) });
    const answer = await first.handle(utf8Encode('not json'));
    expect(answer).toMatchObject({ status: 'denied', code: 'REQUEST_MALFORMED' });
    expect(first.unwrittenAuditRecords).toBe(1);
    expect(await inner.records()).toHaveLength(0);
    // The Gate dies; its successor opens the same spool once the log is back.
    await (first as unknown as { spool: FileAuditSpool }).spool.close();
    audit.mode = 'healthy';
    const second = new Gate({ ...deps, spool: await FileAuditSpool.open(path) });
    expect(await second.settle()).toBe(true);
    const records = await inner.records();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ decision: 'deny', code: 'REQUEST_MALFORMED', trace_id: answer.trace_id });
  });
});
