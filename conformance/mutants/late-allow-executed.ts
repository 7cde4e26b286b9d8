/**
 * Breaks INV-4: the Gate's deadline on the Control Plane only stops it waiting — the exchange stays
 * open, and an allow that arrives after the Gate answered CONTROL_PLANE_TIMEOUT is verified and
 * executed in the background, unaudited (blind gates A and B, defect `late-allow`). Caught by the
 * late allow the harness sends after the Gate answered (controlPlane.lateAllow, LateControlPlaneAllow).
 */
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { parseStrictJson } from '../../model/profile/canonical-json.ts';
import type { ClientRequest, PolicyQuestion } from '../../model/profile/messages.ts';
import type { GateDependencies } from '../../reference-impl/gate/gate.ts';
import { Gate } from '../../reference-impl/gate/gate.ts';
import type { ControlPlaneLink } from '../../reference-impl/gate/links.ts';
import { LinkError } from '../../reference-impl/gate/links.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';

/** How long the exchange is really kept open ("the deadline is enforced by the race, not the socket"). */
const KEEP_OPEN_MS = 10_000;

class LateAllowGate extends Gate {
  constructor(deps: GateDependencies, lateAnswers: { gate?: LateAllowGate }) {
    super({ ...deps, controlPlane: keptOpen(deps.controlPlane, (question, raw) => lateAnswers.gate?.actOnLateAnswer(question, raw)) });
    lateAnswers.gate = this;
  }

  /** The allow came after all: check it as any allow, and execute. */
  actOnLateAnswer(question: PolicyQuestion, raw: Uint8Array | JsonValue): void {
    let answer: JsonValue;
    try {
      answer = raw instanceof Uint8Array ? parseStrictJson(raw) : raw;
    } catch {
      return;
    }
    if (typeof answer !== 'object' || answer === null || Array.isArray(answer) || answer.decision !== 'allow') return;
    const request = { ...question, timestamp: 0, nonce: '', key_id: '', signature: '' } as unknown as ClientRequest;
    if (this.envelopeFailures(answer.envelope, request).length > 0) return;
    const call = { envelope: answer.envelope, request_id: question.request_id, identity: question.identity, action: question.action, parameters: question.parameters };
    this.deps.executionLayer.execute(call as never, AbortSignal.timeout(this.settings.executionDeadlineMs)).catch(() => undefined);
  }
}

/** The Gate's deadline answers the Gate; the exchange itself goes on, and a late answer is handed to `late`. */
function keptOpen(inner: ControlPlaneLink, late: (question: PolicyQuestion, raw: Uint8Array | JsonValue) => void): ControlPlaneLink {
  return {
    ask: (question, signal) =>
      new Promise((resolve, reject) => {
        let timedOut = false;
        signal.addEventListener('abort', () => ((timedOut = true), reject(new LinkError('timeout', 'no answer before the deadline'))), { once: true });
        inner.ask(question, AbortSignal.timeout(KEEP_OPEN_MS)).then(
          (raw) => (timedOut ? late(question, raw) : resolve(raw)),
          (error: unknown) => {
            if (!timedOut) reject(error);
          },
        );
      }),
  };
}

export const lateAllowExecuted: Mutant = {
  id: 'late-allow-executed',
  breaks: 'a Control Plane allow that arrives after the Gate answered CONTROL_PLANE_TIMEOUT is executed in the background',
  expected: ['INV-4'],
  target: referenceTarget('mutant:late-allow-executed', { makeGate: (deps) => new LateAllowGate(deps, {}) }),
};
