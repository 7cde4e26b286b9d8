/** Breaks INV-3 (its scoping, a false replay denial): the nonce key is (action, nonce), so bob's request is refused because alice used the same nonce. Caught by SameNonceOtherIdentity. */
import { canonicalize } from '../../model/profile/canonical-json.ts';
import type { ClientRequest } from '../../model/profile/messages.ts';
import { Gate } from '../../reference-impl/gate/gate.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';

class UnscopedNonceGate extends Gate {
  protected override nonceKeyOf(request: ClientRequest): string {
    return canonicalize([request.action, request.nonce]);
  }
}

export const nonceScopedWithoutIdentity: Mutant = {
  id: 'nonce-scoped-without-identity',
  breaks: 'the nonce key leaves out the identity',
  expected: ['INV-3'],
  target: referenceTarget('mutant:nonce-scoped-without-identity', { makeGate: (deps) => new UnscopedNonceGate(deps) }),
};
