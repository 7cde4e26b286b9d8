import { describe, expect, it } from 'vitest';
import { ManualClock } from '../stores/test-support.ts';
import { AuditLogError, verifyChain } from './audit-log.ts';
import { denialEntry } from './audit-test-entries.ts';
import { MemoryAuditLog } from './memory-audit-log.ts';

describe('MemoryAuditLog', () => {
  it('keeps a valid chain over many appends, stamped by its clock', async () => {
    const clock = new ManualClock(42_000);
    const log = new MemoryAuditLog(clock);
    for (let i = 0; i < 200; i++) {
      const record = await log.append(denialEntry(i));
      expect(record.timestamp_ms).toBe(clock.now);
      clock.now += 1;
    }
    const records = await log.records();
    expect(records).toHaveLength(200);
    expect(verifyChain(records)).toEqual({ ok: true });
    expect(records.map((record) => record.request_id)).toEqual(Array.from({ length: 200 }, (_, i) => `req-${i}`));
  });

  it('chains concurrent appends in call order', async () => {
    const log = new MemoryAuditLog(new ManualClock());
    const appended = await Promise.all(Array.from({ length: 100 }, (_, i) => log.append(denialEntry(i))));
    const records = await log.records();
    expect(verifyChain(records)).toEqual({ ok: true });
    expect(records.map((record) => record.record_id)).toEqual(appended.map((record) => record.record_id));
  });

  it('refuses an invalid entry without breaking the chain', async () => {
    const log = new MemoryAuditLog(new ManualClock());
    await log.append(denialEntry(0));
    const { code: _code, ...withoutCode } = denialEntry(1);
    await expect(log.append(withoutCode)).rejects.toMatchObject({ kind: 'invalid-entry' });
    await log.append(denialEntry(2));
    const records = await log.records();
    expect(records).toHaveLength(2);
    expect(verifyChain(records)).toEqual({ ok: true });
  });

  it('hands out records that cannot be altered in place', async () => {
    const log = new MemoryAuditLog(new ManualClock());
    const record = await log.append(denialEntry(0));
    expect(() => Object.assign(record, { identity: 'mallory' })).toThrow(TypeError);
    (await log.records()).pop();
    expect(await log.records()).toHaveLength(1);
  });

  it('refuses appends once closed', async () => {
    const log = new MemoryAuditLog(new ManualClock());
    await log.close();
    const error = await log.append(denialEntry(0)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditLogError);
    expect((error as AuditLogError).kind).toBe('unavailable');
  });
});
