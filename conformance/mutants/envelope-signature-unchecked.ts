/** Breaks INV-1 and INV-6: Gate and Execution Layer share an envelope check that never verifies the signature (an untrusted or forged key is accepted). */
import { trustedKey } from '../../model/history-builder.ts';
import { signEnvelope, validateEnvelope } from '../../model/profile/messages.ts';
import { checkEnvelope } from '../../model/profile/request-checks.ts';
import { testKeyPair } from '../../model/profile/signing.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';
import { sharedEnvelopeCheck } from './support.ts';

// Re-signing with a key the check then trusts skips exactly the signature step: window and binding
// are still the profile's own code.
const ANY_KEY = testKeyPair('mutant-any-signer');

export const envelopeSignatureUnchecked: Mutant = {
  id: 'envelope-signature-unchecked',
  breaks: 'Gate and Execution Layer skip the envelope signature check',
  expected: ['INV-1', 'INV-6'],
  target: referenceTarget(
    'mutant:envelope-signature-unchecked',
    sharedEnvelopeCheck((envelope, bound, _trusted, now) => {
      const shape = validateEnvelope(envelope);
      if (!shape.ok) return checkEnvelope(envelope, bound, [], now);
      const { signature: _ignored, ...unsigned } = shape.value;
      return checkEnvelope(signEnvelope({ ...unsigned, key_id: ANY_KEY.keyId }, ANY_KEY), bound, [trustedKey(ANY_KEY)], now);
    }),
  ),
};
