/**
 * Breaks INV-3: the Gate looks a key up by its key_id alone, so a registered, active key signs for
 * any identity — alice's request signed with bob's key executes. Every other key mismatch the suite
 * sends is an unregistered key, which this Gate still refuses: only `KeyOfAnotherIdentity` (issue
 * 10, class 6) catches it.
 */
import type { DenialCode } from '../../model/profile/denial-codes.ts';
import type { ClientRequest } from '../../model/profile/messages.ts';
import { authenticateRequest } from '../../model/profile/request-checks.ts';
import { nowSec } from '../../reference-impl/clock.ts';
import { Gate } from '../../reference-impl/gate/gate.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';

class KeyIdOnlyGate extends Gate {
  protected override authenticationFailures(request: ClientRequest): DenialCode[] {
    // "The key id is unique anyway": whoever the key is registered to, it is taken as the claimant's.
    const keys = this.deps.identityKeys().map((key) => (key.key_id === request.key_id ? { ...key, identity: request.identity } : key));
    return authenticateRequest(request, keys, nowSec(this.clock), this.settings.acceptanceWindowSec);
  }
}

export const keyAcceptedForAnotherIdentity: Mutant = {
  id: 'key-accepted-for-another-identity',
  breaks: "a request signed with another identity's registered, active key is accepted",
  expected: ['INV-3'],
  target: referenceTarget('mutant:key-accepted-for-another-identity', { makeGate: (deps) => new KeyIdOnlyGate(deps) }),
};
