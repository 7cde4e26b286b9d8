/**
 * Breaks the rule that a Gate never claims what it cannot prove (CONTRACT.md section 5; named
 * INV-4 by the lost-confirmation scenarios): an answer from the Execution Layer is taken as "it
 * ran" unless it refuses in so many words — an error page, a 5xx, a result without its effect_id
 * are all reported executed. Caught by the lost confirmation in its other forms
 * (LostConfirmation(garbage | status-5xx | incomplete)), which must be answered EXECUTION_UNCONFIRMED.
 */
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { parseStrictJson } from '../../model/profile/canonical-json.ts';
import { isDenialCode } from '../../model/profile/denial-codes.ts';
import type { ApprovalEnvelope, ClientRequest } from '../../model/profile/messages.ts';
import { Denial, Gate } from '../../reference-impl/gate/gate.ts';
import { LinkError } from '../../reference-impl/gate/links.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';

class AnswerTrustedGate extends Gate {
  protected override async dispatch(request: ClientRequest, envelope: ApprovalEnvelope): Promise<string> {
    let raw: Uint8Array | JsonValue;
    try {
      raw = await this.deps.executionLayer.execute(
        { envelope: envelope as unknown as JsonValue, request_id: request.request_id, identity: request.identity, action: request.action, parameters: request.parameters },
        AbortSignal.timeout(this.settings.executionDeadlineMs),
        this.executionHeaders(),
      );
    } catch (error) {
      if (error instanceof LinkError && error.kind === 'unreachable') throw new Denial('EXECUTION_UNAVAILABLE', error.message);
      // The defect also over HTTP: a status line that is not 200 still "answered".
      if (error instanceof LinkError && error.kind === 'malformed') return 'answered';
      throw new Denial('EXECUTION_UNCONFIRMED', (error as Error).message);
    }
    let result: JsonValue;
    try {
      result = raw instanceof Uint8Array ? parseStrictJson(raw) : raw;
    } catch {
      return 'answered';
    }
    const fields = typeof result === 'object' && result !== null && !Array.isArray(result) ? result : {};
    if (fields.status === 'denied' && isDenialCode(fields.code)) throw new Denial(fields.code, 'the Execution Layer refused');
    return typeof fields.effect_id === 'string' ? fields.effect_id : 'answered';
  }
}

export const executionAnswerTrusted: Mutant = {
  id: 'execution-answer-trusted',
  breaks: 'any answer of the Execution Layer but an explicit refusal is reported executed: an error page, a 5xx, a result without effect_id',
  expected: ['INV-4'],
  target: referenceTarget('mutant:execution-answer-trusted', { makeGate: (deps) => new AnswerTrustedGate(deps) }),
};
