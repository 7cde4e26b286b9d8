/**
 * Breaks INV-6: the Execution Layer completes a call that is missing a field from the envelope it
 * carries ("the envelope says who and what, after all") — a body that is not a call, with a valid
 * envelope inside, runs. Caught by MalformedDirectCall (no-request-id | identity-not-text |
 * no-parameters), whose bodies carry a valid envelope as bait; the answer must be REQUEST_MALFORMED.
 */
import type { ApprovalEnvelope } from '../../model/profile/messages.ts';
import type { ExecutionResult } from '../../reference-impl/execution-layer/execution-layer.ts';
import { ExecutionLayer } from '../../reference-impl/execution-layer/execution-layer.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';

class FillingExecutionLayer extends ExecutionLayer {
  override execute(call: unknown): Promise<ExecutionResult> {
    if (typeof call !== 'object' || call === null || Array.isArray(call)) return super.execute(call);
    const c = call as Record<string, unknown>;
    const envelope = c.envelope as Partial<ApprovalEnvelope> | undefined;
    return super.execute({
      ...c,
      request_id: typeof c.request_id === 'string' ? c.request_id : envelope?.request_id,
      identity: typeof c.identity === 'string' ? c.identity : envelope?.identity,
      action: typeof c.action === 'string' ? c.action : envelope?.action,
      // The digest cannot give the parameters back: an empty object "will do".
      parameters: Object.hasOwn(c, 'parameters') ? c.parameters : {},
    });
  }
}

export const executionLayerFillsCallFromEnvelope: Mutant = {
  id: 'execution-layer-fills-call-from-envelope',
  breaks: 'the Execution Layer completes a call missing its request_id or identity from the envelope it carries, and runs it',
  expected: ['INV-6'],
  target: referenceTarget('mutant:execution-layer-fills-call-from-envelope', { makeExecutionLayer: (options) => new FillingExecutionLayer(options) }),
};
