/** Breaks INV-4 (and INV-3): Gate and Execution Layer never treat an envelope as expired. */
import { checkEnvelope } from '../../model/profile/request-checks.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';
import { sharedEnvelopeCheck } from './support.ts';

export const expiryIgnored: Mutant = {
  id: 'expiry-ignored',
  breaks: 'Gate and Execution Layer ignore expires_at',
  expected: ['INV-4', 'INV-3'],
  target: referenceTarget(
    'mutant:expiry-ignored',
    sharedEnvelopeCheck((envelope, bound, trusted, now) => checkEnvelope(envelope, bound, trusted, now).filter((code) => code !== 'ENVELOPE_EXPIRED')),
  ),
};
