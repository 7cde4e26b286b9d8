/**
 * Breaks INV-3: the Execution Layer keeps consumed approvals in its process memory, so a crash-
 * restart forgets them and an approval that executed before the crash executes again after it.
 * Nonces survive (the Gate's store is durable), so a replayed *request* is still refused: only an
 * approval used again after a restart (`ApprovalReplayAfterRestart`, issue 10, class 6) catches it.
 */
import type { ApprovalEnvelope } from '../../model/profile/messages.ts';
import type { ExecutionLayerOptions } from '../../reference-impl/execution-layer/execution-layer.ts';
import { ExecutionLayer } from '../../reference-impl/execution-layer/execution-layer.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import { MemoryClaimStore } from '../../reference-impl/stores/memory-claim-store.ts';
import type { Mutant } from './mutant.ts';

class VolatileApprovalsExecutionLayer extends ExecutionLayer {
  /** born with the process, gone with it */
  private readonly spent: MemoryClaimStore;

  constructor(options: ExecutionLayerOptions) {
    super(options);
    this.spent = new MemoryClaimStore(this.clock);
  }

  protected override consume(envelope: ApprovalEnvelope): Promise<'claimed' | 'duplicate'> {
    return this.spent.claim(envelope.approval_id, envelope.expires_at * 1000 + 24 * 3600 * 1000);
  }
}

export const approvalsForgottenOnRestart: Mutant = {
  id: 'approvals-forgotten-on-restart',
  breaks: "the Execution Layer's single use of approvals lives in memory: a crash-restart forgets it",
  expected: ['INV-3', 'INV-6'],
  target: referenceTarget('mutant:approvals-forgotten-on-restart', { makeExecutionLayer: (options) => new VolatileApprovalsExecutionLayer(options) }),
};
