import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as fs from 'node:fs/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultHistoryKeys, trustedKey, TEST_KEYS } from '../../model/history-builder.ts';
import { utf8Encode } from '../../model/profile/encoding.ts';
import { Gate } from '../gate/gate.ts';
import { MemoryClaimStore } from '../stores/memory-claim-store.ts';
import { fileHandlePrototype, ioError } from '../stores/test-support.ts';
import type { AuditEntry } from './audit-log.ts';
import { verifyChain } from './audit-log.ts';
import { FileAuditSpool } from './audit-spool.ts';
import { FaultyAuditLog } from './faulty-audit-log.ts';
import { FileAuditLog } from './file-audit-log.ts';
import { MemoryAuditLog } from './memory-audit-log.ts';

const dirs: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
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

  it('pushes concurrent with a shift: every acknowledged push stays, only the head goes', async () => {
    const path = tempFile();
    const spool = await FileAuditSpool.open(path);
    await spool.push(entry(0));
    const pushes = Array.from({ length: 10 }, (_, i) => spool.push(entry(1 + i)));
    const shifted = spool.shift();
    const later = Array.from({ length: 5 }, (_, i) => spool.push(entry(11 + i)));
    await Promise.all([...pushes, shifted, ...later]);
    expect(spool.size).toBe(15);
    await spool.close();
    const reopened = await FileAuditSpool.open(path);
    const traces: string[] = [];
    for (let head = reopened.peek(); head !== undefined; head = reopened.peek()) {
      traces.push(head.trace_id);
      await reopened.shift();
    }
    await reopened.close();
    expect(traces).toEqual(Array.from({ length: 15 }, (_, i) => `trace-${1 + i}`));
  });

  it('with a group-committing file log, the final records of a failed flush are spooled and written once the log takes them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'failclosed-spool-'));
    dirs.push(dir);
    const prototype = await fileHandlePrototype(dir);
    const realDatasync = prototype.datasync;
    // The audit log's first flush is held (and succeeds), its second is held and fails.
    const gates = [0, 1].map(() => {
      let release!: () => void;
      let started!: () => void;
      return { released: new Promise<void>((r) => (release = r)), release: () => release(), started: new Promise<void>((r) => (started = r)), start: () => started() };
    });
    const datasync = vi.spyOn(prototype, 'datasync');
    for (const [index, gate] of gates.entries()) {
      datasync.mockImplementationOnce(async function (this: fs.FileHandle) {
        gate.start();
        await gate.released;
        if (index === 1) throw ioError('EIO');
        return realDatasync.call(this);
      });
    }
    const log = await FileAuditLog.open(join(dir, 'audit.ndjson'));
    const spool = await FileAuditSpool.open(join(dir, 'audit-spool.ndjson'));
    const spooled = vi.spyOn(spool, 'push');
    const gate = new Gate({
      identityKeys: () => defaultHistoryKeys().identityKeys,
      trustedKeys: () => [trustedKey(TEST_KEYS.controlPlane)],
      nonces: new MemoryClaimStore(),
      audit: log,
      spool,
      controlPlane: { ask: async () => ({ decision: 'deny' }) },
      executionLayer: { execute: async () => ({}) },
    });
    const wave = (count: number) => Array.from({ length: count }, (_, i) => gate.handle(utf8Encode(`not json ${i}`)));
    const first = wave(1);
    await gates[0]!.started;
    const second = wave(10); // queued behind the held flush: the one that fails
    gates[0]!.release();
    await gates[1]!.started;
    const third = wave(5); // queued behind the failing flush: chained to what is durable
    gates[1]!.release();
    const answers = await Promise.all([...first, ...second, ...third]);
    for (const answer of answers) expect(answer).toMatchObject({ status: 'denied', code: 'REQUEST_MALFORMED' });
    expect(spooled).toHaveBeenCalledTimes(10); // exactly the records of the failed flush
    // Bounded: the Gate retries every 100 ms; settle() drains what is spooled.
    for (let attempt = 0; attempt < 50 && !(await gate.settle()); attempt++) await new Promise((r) => setTimeout(r, 20));
    expect(gate.unwrittenAuditRecords).toBe(0);
    gate.halt();
    const records = await log.records();
    await Promise.all([log.close(), spool.close()]);
    expect(verifyChain(records)).toEqual({ ok: true });
    // Every denial's final record is in the log exactly once.
    expect(records.map((record) => record.trace_id).sort()).toEqual(answers.map((answer) => answer.trace_id).sort());
    const reopened = await FileAuditLog.open(join(dir, 'audit.ndjson'));
    expect(await reopened.records()).toEqual(records);
    await reopened.close();
  });
});
