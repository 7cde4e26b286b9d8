/**
 * Breaks INV-5: the audit pipeline sheds final records while more than 16 requests are in flight
 * ("best effort under load"). Bursts of a dozen requests — all the suite sent before — never reach
 * that depth; bursts drawn up to the contract's limit of 64 (`Burst`, `ConcurrentDuplicates`, issue
 * 10, class 5) do. (Blind gate B's `audit-drop-busy` sheds denials whenever a write is in flight.)
 */
import { ZERO_DIGEST } from '../../model/profile/digest.ts';
import type { AuditRecord } from '../../model/profile/messages.ts';
import type { AuditEntry, AuditLog } from '../../reference-impl/audit/audit-log.ts';
import { newRecordId, sealRecord } from '../../reference-impl/audit/audit-log.ts';
import type { GateAnswer, GateDependencies, RequestContext } from '../../reference-impl/gate/gate.ts';
import { Gate } from '../../reference-impl/gate/gate.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';

/** How deep the pipeline's queue is: past it, final records are shed. */
export const SHED_ABOVE = 16;

class LoadSheddingLog implements AuditLog {
  constructor(
    private readonly inner: AuditLog,
    private readonly load: () => number,
  ) {}

  async append(entry: AuditEntry): Promise<AuditRecord> {
    if (entry.stage !== 'final' || this.load() <= SHED_ABOVE) return this.inner.append(entry);
    // Acknowledged as written, so the Gate never notices.
    return sealRecord(entry, { recordId: newRecordId(0), timestampMs: Date.now(), prevHash: ZERO_DIGEST });
  }

  records(): Promise<AuditRecord[]> {
    return this.inner.records();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

class CountingGate extends Gate {
  inFlight = 0;

  override async handle(body: Uint8Array, context: RequestContext = {}): Promise<GateAnswer> {
    this.inFlight += 1;
    try {
      return await super.handle(body, context);
    } finally {
      this.inFlight -= 1;
    }
  }
}

function makeGate(deps: GateDependencies): Gate {
  let gate: CountingGate | undefined = undefined;
  gate = new CountingGate({ ...deps, audit: new LoadSheddingLog(deps.audit, () => gate?.inFlight ?? 0) });
  return gate;
}

export const auditDropsWhenBusy: Mutant = {
  id: 'audit-drops-when-busy',
  breaks: 'final audit records are shed while more than 16 requests are in flight',
  expected: ['INV-5'],
  target: referenceTarget('mutant:audit-drops-when-busy', { makeGate }),
};
