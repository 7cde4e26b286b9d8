/** Breaks INV-4 (and INV-3): a nonce store that is down or cannot confirm its write is taken as "claimed". */
import type { ClientRequest } from '../../model/profile/messages.ts';
import type { GateDependencies } from '../../reference-impl/gate/gate.ts';
import { Denial, Gate } from '../../reference-impl/gate/gate.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';

class NonceStoreDownAllowsGate extends Gate {
  protected override async claimNonce(request: ClientRequest): Promise<void> {
    try {
      await super.claimNonce(request);
    } catch (error) {
      if (error instanceof Denial && (error.code === 'NONCE_STORE_UNAVAILABLE' || error.code === 'NONCE_WRITE_UNCONFIRMED')) return;
      throw error;
    }
  }
}

export const nonceStoreDownAllows: Mutant = {
  id: 'nonce-store-down-allows',
  breaks: 'a ClaimStoreError from the nonce store is treated as "claimed"',
  expected: ['INV-4', 'INV-3'],
  target: referenceTarget('mutant:nonce-store-down-allows', { makeGate: (deps: GateDependencies) => new NonceStoreDownAllowsGate(deps) }),
};
