/**
 * Breaks INV-4: when the Execution Layer does not answer before the Gate's deadline, the Gate
 * answers EXECUTION_UNAVAILABLE — "no answer, so it is down, so nothing ran" — though the call was
 * sent. A call a slow link delivers after the deadline then runs behind a denial that promised it
 * did not. Caught by the delayed link (executionLink.delayed, DelayedExecutionCall); a lost answer
 * (a reset after forwarding) is not a timeout, and it still answers EXECUTION_UNCONFIRMED there.
 */
import type { ApprovalEnvelope, ClientRequest } from '../../model/profile/messages.ts';
import { Denial, Gate } from '../../reference-impl/gate/gate.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';

class TimeoutAsUnavailableGate extends Gate {
  protected override async dispatch(request: ClientRequest, envelope: ApprovalEnvelope): Promise<string> {
    const started = Date.now();
    try {
      return await super.dispatch(request, envelope);
    } catch (error) {
      const timedOut = Date.now() - started >= this.settings.executionDeadlineMs;
      if (error instanceof Denial && error.code === 'EXECUTION_UNCONFIRMED' && timedOut) {
        throw new Denial('EXECUTION_UNAVAILABLE', 'the Execution Layer did not answer in time: taken as unreachable');
      }
      throw error;
    }
  }
}

export const executionTimeoutAsUnavailable: Mutant = {
  id: 'execution-timeout-as-unavailable',
  breaks: 'an Execution Layer call that timed out is answered EXECUTION_UNAVAILABLE, though it was sent and may still run',
  expected: ['INV-4'],
  target: referenceTarget('mutant:execution-timeout-as-unavailable', { makeGate: (deps) => new TimeoutAsUnavailableGate(deps) }),
};
