/**
 * Breaks INV-6 (and INV-1, INV-2, INV-3): the Execution Layer executes any well-formed call — no
 * envelope check, no single use.
 *
 * The prelude reaches the tampered Gate→Execution Layer link before any direct call, and tags that
 * scenario by its question (executionLink → partition-during-approval → INV-4), so INV-4 is what
 * the suite names; the TamperInFlight command would name INV-2 and INV-6.
 */
import type { DenialCode } from '../../model/profile/denial-codes.ts';
import type { ApprovalEnvelope } from '../../model/profile/messages.ts';
import type { ExecutionResult } from '../../reference-impl/execution-layer/execution-layer.ts';
import { ExecutionLayer } from '../../reference-impl/execution-layer/execution-layer.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';

class TrustingExecutionLayer extends ExecutionLayer {
  protected override envelopeFailures(): DenialCode[] {
    return [];
  }

  protected override async consume(): Promise<'claimed'> {
    return 'claimed';
  }

  override execute(call: unknown): Promise<ExecutionResult> {
    // Without an envelope there is no approval id to report: make one up rather than refuse.
    const envelope = (call as { envelope?: unknown } | null)?.envelope;
    const approvalId = (envelope as Partial<ApprovalEnvelope> | undefined)?.approval_id;
    if (typeof call === 'object' && call !== null && typeof approvalId !== 'string') {
      return super.execute({ ...call, envelope: { approval_id: 'unapproved' } });
    }
    return super.execute(call);
  }
}

export const executionLayerSkipsValidation: Mutant = {
  id: 'execution-layer-skips-validation',
  breaks: 'the Execution Layer executes any call: no envelope validation, no single use',
  expected: ['INV-6', 'INV-2', 'INV-4'],
  target: referenceTarget('mutant:execution-layer-skips-validation', { makeExecutionLayer: (options) => new TrustingExecutionLayer(options) }),
};
