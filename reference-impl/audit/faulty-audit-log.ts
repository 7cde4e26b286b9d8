/**
 * Wraps an AuditLog and injects the audit fault of the failure table in process: while `mode` is
 * 'failing', appends reject without writing anything.
 */
import type { AuditRecord } from '../../model/profile/messages.ts';
import type { AuditEntry, AuditLog } from './audit-log.ts';
import { AuditLogError } from './audit-log.ts';

export type AuditFaultMode = 'healthy' | 'failing';

export class FaultyAuditLog implements AuditLog {
  mode: AuditFaultMode;

  constructor(
    readonly inner: AuditLog,
    options: { mode?: AuditFaultMode } = {},
  ) {
    this.mode = options.mode ?? 'healthy';
  }

  async append(entry: AuditEntry): Promise<AuditRecord> {
    if (this.mode === 'failing') throw new AuditLogError('unavailable', 'injected fault: audit log unavailable');
    return this.inner.append(entry);
  }

  records(): Promise<AuditRecord[]> {
    return this.inner.records();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
