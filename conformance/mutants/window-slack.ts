/**
 * Breaks INV-3 and INV-4: the freshness check allows three seconds of "clock-skew tolerance"
 * beyond the configured acceptance window. Caught by TimestampAtEdge(past-stale-edge /
 * past-future-edge): one second beyond either edge must be refused.
 */
import type { DenialCode } from '../../model/profile/denial-codes.ts';
import type { ClientRequest } from '../../model/profile/messages.ts';
import { authenticateRequest } from '../../model/profile/request-checks.ts';
import { nowSec } from '../../reference-impl/clock.ts';
import { Gate } from '../../reference-impl/gate/gate.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';

const SLACK_SEC = 3;

class SlackGate extends Gate {
  protected override authenticationFailures(request: ClientRequest): DenialCode[] {
    return authenticateRequest(request, this.deps.identityKeys(), nowSec(this.clock), this.settings.acceptanceWindowSec + SLACK_SEC);
  }
}

export const windowSlack: Mutant = {
  id: 'window-slack',
  breaks: 'the acceptance window has 3 s of slack beyond its configured width',
  expected: ['INV-3', 'INV-4'],
  target: referenceTarget('mutant:window-slack', { makeGate: (deps) => new SlackGate(deps) }),
};
