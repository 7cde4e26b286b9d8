/** Breaks INV-3: the Gate ignores key revocation. */
import type { DenialCode } from '../../model/profile/denial-codes.ts';
import type { ClientRequest } from '../../model/profile/messages.ts';
import { Gate } from '../../reference-impl/gate/gate.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';

class RevocationBlindGate extends Gate {
  protected override authenticationFailures(request: ClientRequest): DenialCode[] {
    return super.authenticationFailures(request).filter((code) => code !== 'KEY_REVOKED');
  }
}

export const revokedKeyAccepted: Mutant = {
  id: 'revoked-key-accepted',
  breaks: 'a request signed with a revoked key is accepted',
  expected: ['INV-3'],
  target: referenceTarget('mutant:revoked-key-accepted', { makeGate: (deps) => new RevocationBlindGate(deps) }),
};
