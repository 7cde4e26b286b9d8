/**
 * A Gate that, when asking the Control Plane ends in one of the given denials, dispatches anyway:
 * with the envelope the answer carried if it carried one, else with none. Mutants 1–3 differ only
 * in which denials they "proceed" on. The Execution Layer stays the reference's, so whatever the
 * suite sees comes from this one Gate defect.
 */
import { randomUUID } from 'node:crypto';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { parseStrictJson } from '../../model/profile/canonical-json.ts';
import type { DenialCode } from '../../model/profile/denial-codes.ts';
import type { ApprovalEnvelope, ClientRequest } from '../../model/profile/messages.ts';
import type { GateDependencies } from '../../reference-impl/gate/gate.ts';
import { Denial, Gate } from '../../reference-impl/gate/gate.ts';

class FailOpenGate extends Gate {
  /** stand-in envelopes this Gate made up → what it really sends on (undefined: nothing) */
  private readonly standIns = new WeakMap<ApprovalEnvelope, JsonValue | undefined>();

  constructor(
    deps: GateDependencies,
    private readonly proceedOn: ReadonlySet<DenialCode>,
    /** the Control Plane's last raw answer per request id (captured on the link) */
    private readonly answers: Map<string, Uint8Array | JsonValue>,
  ) {
    super(deps);
  }

  protected override async askControlPlane(request: ClientRequest): Promise<ApprovalEnvelope> {
    try {
      return await super.askControlPlane(request);
    } catch (error) {
      if (!(error instanceof Denial) || !this.proceedOn.has(error.code)) throw error;
      const carried = envelopeIn(this.answers.get(request.request_id));
      // The Gate still needs an approval id for its own intent record.
      const standIn = { approval_id: `unapproved-${randomUUID()}` } as ApprovalEnvelope;
      this.standIns.set(standIn, carried);
      return standIn;
    } finally {
      this.answers.delete(request.request_id);
    }
  }

  protected override dispatch(request: ClientRequest, envelope: ApprovalEnvelope): Promise<string> {
    if (!this.standIns.has(envelope)) return super.dispatch(request, envelope);
    return super.dispatch(request, this.standIns.get(envelope) as unknown as ApprovalEnvelope);
  }
}

function envelopeIn(answer: Uint8Array | JsonValue | undefined): JsonValue | undefined {
  let value: JsonValue | undefined;
  try {
    value = answer instanceof Uint8Array ? parseStrictJson(answer) : answer;
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value.envelope : undefined;
}

export function failOpenGate(proceedOn: readonly DenialCode[]): (deps: GateDependencies) => Gate {
  return (deps) => {
    const answers = new Map<string, Uint8Array | JsonValue>();
    const controlPlane: GateDependencies['controlPlane'] = {
      ask: async (question, signal) => {
        const answer = await deps.controlPlane.ask(question, signal);
        answers.set(question.request_id, answer);
        return answer;
      },
    };
    return new FailOpenGate({ ...deps, controlPlane }, new Set(proceedOn), answers);
  };
}
