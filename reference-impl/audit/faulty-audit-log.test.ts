import { describe, expect, it } from 'vitest';
import { ManualClock } from '../stores/test-support.ts';
import { AuditLogError, verifyChain } from './audit-log.ts';
import { denialEntry } from './audit-test-entries.ts';
import { FaultyAuditLog } from './faulty-audit-log.ts';
import { MemoryAuditLog } from './memory-audit-log.ts';

describe('FaultyAuditLog', () => {
  it('passes appends through while healthy, and refuses them without writing while failing', async () => {
    const inner = new MemoryAuditLog(new ManualClock());
    const log = new FaultyAuditLog(inner);
    await log.append(denialEntry(0));
    log.mode = 'failing';
    const error = await log.append(denialEntry(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditLogError);
    expect((error as AuditLogError).kind).toBe('unavailable');
    expect(await inner.records()).toHaveLength(1);
    log.mode = 'healthy';
    await log.append(denialEntry(2));
    const records = await log.records();
    expect(records.map((record) => record.request_id)).toEqual(['req-0', 'req-2']);
    expect(verifyChain(records)).toEqual({ ok: true });
  });

  it('closes the inner log', async () => {
    const inner = new MemoryAuditLog(new ManualClock());
    await new FaultyAuditLog(inner).close();
    await expect(inner.append(denialEntry(0))).rejects.toThrow(/closed/);
  });
});
