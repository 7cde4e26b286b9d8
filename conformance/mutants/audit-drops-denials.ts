/** Breaks INV-5: final denial records are acknowledged but never written. */
import { ZERO_DIGEST } from '../../model/profile/digest.ts';
import type { AuditRecord } from '../../model/profile/messages.ts';
import type { AuditEntry, AuditLog } from '../../reference-impl/audit/audit-log.ts';
import { newRecordId, sealRecord } from '../../reference-impl/audit/audit-log.ts';
import type { Clock } from '../../reference-impl/clock.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';

class DenialDroppingLog implements AuditLog {
  constructor(
    private readonly inner: AuditLog,
    private readonly clock: Clock,
  ) {}

  async append(entry: AuditEntry): Promise<AuditRecord> {
    if (entry.decision !== 'deny') return this.inner.append(entry);
    // Answers as if it had been written, so the Gate never notices.
    return sealRecord(entry, { recordId: newRecordId(0), timestampMs: Math.floor(this.clock.nowMs()), prevHash: ZERO_DIGEST });
  }

  records(): Promise<AuditRecord[]> {
    return this.inner.records();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export const auditDropsDenials: Mutant = {
  id: 'audit-drops-denials',
  breaks: 'denial records are not written',
  expected: ['INV-5'],
  target: referenceTarget('mutant:audit-drops-denials', { audit: (env) => new DenialDroppingLog(env.audit, env.clock) }),
};
