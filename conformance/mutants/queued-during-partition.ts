/** Breaks INV-4: when the Execution Layer is unreachable the Gate answers EXECUTION_UNAVAILABLE but queues the call and retries it (every 5 ms, for 2 s), so it executes after the heal. Caught by PartitionThenHeal. */
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import type { ApprovalEnvelope, ClientRequest } from '../../model/profile/messages.ts';
import { Denial, Gate } from '../../reference-impl/gate/gate.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';

const RETRY_EVERY_MS = 5;
const RETRY_FOR_MS = 2_000;

class QueueingGate extends Gate {
  protected override async dispatch(request: ClientRequest, envelope: ApprovalEnvelope): Promise<string> {
    try {
      return await super.dispatch(request, envelope);
    } catch (error) {
      if (error instanceof Denial && error.code === 'EXECUTION_UNAVAILABLE') this.retryLater(request, envelope);
      throw error;
    }
  }

  private retryLater(request: ClientRequest, envelope: ApprovalEnvelope): void {
    const call = { envelope: envelope as unknown as JsonValue, request_id: request.request_id, identity: request.identity, action: request.action, parameters: request.parameters };
    const giveUpAt = Date.now() + RETRY_FOR_MS;
    const attempt = (): void => {
      this.deps.executionLayer.execute(call, AbortSignal.timeout(this.settings.executionDeadlineMs)).then(
        () => undefined,
        () => {
          if (Date.now() < giveUpAt) setTimeout(attempt, RETRY_EVERY_MS).unref();
        },
      );
    };
    setTimeout(attempt, RETRY_EVERY_MS).unref();
  }
}

export const queuedDuringPartition: Mutant = {
  id: 'queued-during-partition',
  breaks: 'a call refused by a partition is queued and executed after the heal',
  expected: ['INV-4'],
  target: referenceTarget('mutant:queued-during-partition', { makeGate: (deps) => new QueueingGate(deps) }),
};
