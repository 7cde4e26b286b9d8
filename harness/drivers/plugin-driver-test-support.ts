/**
 * A faulty gate behind a plug-in driver, for the tests: a library whose "allow-listed payee" fast
 * path dispatches transfers to dave when the Control Plane cannot be reached (INV-1, INV-4). Only a
 * command that pays dave during an outage reaches it — the example RetryAfterOutage does; no
 * built-in command pays dave — so a failure against it is the plug-in command's finding.
 */
import { defineDriver } from '../api/index.ts';
import type { ApprovalEnvelope, ClientRequest } from '../../model/profile/messages.ts';
import type { GateDependencies } from '../../reference-impl/gate/gate.ts';
import { Denial, Gate } from '../../reference-impl/gate/gate.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';

class AllowListedPayeeGate extends Gate {
  private readonly unapproved = new WeakSet<ApprovalEnvelope>();
  constructor(deps: GateDependencies) {
    super(deps);
  }
  protected override async askControlPlane(request: ClientRequest): Promise<ApprovalEnvelope> {
    try {
      return await super.askControlPlane(request);
    } catch (error) {
      const payee = (request.parameters as { to?: unknown } | null)?.to;
      if (!(error instanceof Denial) || error.code !== 'CONTROL_PLANE_UNAVAILABLE' || payee !== 'dave') throw error;
      const standIn = { approval_id: `allow-listed-${request.request_id}` } as ApprovalEnvelope;
      this.unapproved.add(standIn);
      return standIn;
    }
  }
  protected override dispatch(request: ClientRequest, envelope: ApprovalEnvelope): Promise<string> {
    return super.dispatch(request, (this.unapproved.has(envelope) ? undefined : envelope) as ApprovalEnvelope);
  }
}

const faulty = referenceTarget('allow-listed payee gate', { makeGate: (deps) => new AllowListedPayeeGate(deps) });

export default defineDriver({ name: 'allow-listed payee gate', start: (env) => faulty.start(env) });
