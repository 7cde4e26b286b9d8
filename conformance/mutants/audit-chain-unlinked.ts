/**
 * Breaks INV-5: every audit record is stored with prev_hash = the genesis value and its
 * record_hash recomputed, so only the links of the chain are wrong.
 */
import type { Digest } from '../../model/profile/digest.ts';
import { ZERO_DIGEST, digestJson } from '../../model/profile/digest.ts';
import type { AuditRecord } from '../../model/profile/messages.ts';
import type { AuditEntry, AuditLog } from '../../reference-impl/audit/audit-log.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';

class UnlinkedLog implements AuditLog {
  constructor(
    private readonly inner: AuditLog,
    /** what this log exports; kept on the target's disk, so it survives a crash like a real log */
    private readonly stored: AuditRecord[],
  ) {}

  async append(entry: AuditEntry): Promise<AuditRecord> {
    const record = await this.inner.append(entry);
    const { record_hash: _link, ...body } = { ...record, prev_hash: ZERO_DIGEST };
    const unlinked = { ...body, record_hash: digestJson(body) as Digest };
    this.stored.push(unlinked);
    return unlinked;
  }

  async records(): Promise<AuditRecord[]> {
    return [...this.stored];
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export const auditChainUnlinked: Mutant = {
  id: 'audit-chain-unlinked',
  breaks: 'audit records do not link to the previous record (prev_hash is always genesis)',
  expected: ['INV-5'],
  target: referenceTarget('mutant:audit-chain-unlinked', {
    audit: (env) => {
      const stored = (env.disk.get('unlinked-audit') as AuditRecord[] | undefined) ?? [];
      env.disk.set('unlinked-audit', stored);
      return new UnlinkedLog(env.audit, stored);
    },
  }),
};
