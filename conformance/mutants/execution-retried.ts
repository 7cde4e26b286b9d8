/**
 * Breaks INV-4 (and CONTRACT §3 stage 7, "once, no retry"): when the Execution Layer's outcome is
 * unconfirmed, the Gate calls it once more with the same envelope (blind gate A `retry-execution`,
 * gate B `exec-retry`). Single use of the approval usually refuses the second call, so answers and
 * effects look right; the harness counts the calls it sees per approval.
 */
import type { ApprovalEnvelope, ClientRequest } from '../../model/profile/messages.ts';
import { Denial, Gate } from '../../reference-impl/gate/gate.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';

class RetryingGate extends Gate {
  protected override async dispatch(request: ClientRequest, envelope: ApprovalEnvelope): Promise<string> {
    try {
      return await super.dispatch(request, envelope);
    } catch (error) {
      // "A transient error: try again."
      if (error instanceof Denial && error.code === 'EXECUTION_UNCONFIRMED') return super.dispatch(request, envelope);
      throw error;
    }
  }
}

export const executionRetried: Mutant = {
  id: 'execution-retried',
  breaks: 'an Execution Layer call whose outcome was lost is sent a second time',
  expected: ['INV-4'],
  target: referenceTarget('mutant:execution-retried', { makeGate: (deps) => new RetryingGate(deps) }),
};
