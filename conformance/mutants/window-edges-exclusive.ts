/**
 * A false denial (no safety invariant breaks): the acceptance window's edges are exclusive — a
 * timestamp exactly `now − window` is stale and `now + window` is in the future — where the
 * contract keeps both edges inside. Caught by TimestampAtEdge(stale-edge / future-edge).
 */
import type { DenialCode } from '../../model/profile/denial-codes.ts';
import type { ClientRequest } from '../../model/profile/messages.ts';
import { authenticateRequest } from '../../model/profile/request-checks.ts';
import { nowSec } from '../../reference-impl/clock.ts';
import { Gate } from '../../reference-impl/gate/gate.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';

class ExclusiveEdgesGate extends Gate {
  protected override authenticationFailures(request: ClientRequest): DenialCode[] {
    // Whole seconds: "strictly inside w" is "inside w − 1, edges included".
    return authenticateRequest(request, this.deps.identityKeys(), nowSec(this.clock), this.settings.acceptanceWindowSec - 1);
  }
}

export const windowEdgesExclusive: Mutant = {
  id: 'window-edges-exclusive',
  breaks: 'the acceptance window excludes its edges: now − window and now + window are refused',
  expected: [],
  target: referenceTarget('mutant:window-edges-exclusive', { makeGate: (deps) => new ExclusiveEdgesGate(deps) }),
};
