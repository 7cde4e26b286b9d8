/** Breaks INV-4 (and INV-3, INV-6): an envelope counts as expired only after expires_at, so it is still honoured in its expiry second. Caught by the at-the-edge envelopes (ExpiredApproval(expired, edge), DirectCall(expired-at-edge)). */
import { checkEnvelope } from '../../model/profile/request-checks.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';
import { sharedEnvelopeCheck } from './support.ts';

export const expiryOffByOne: Mutant = {
  id: 'expiry-off-by-one',
  breaks: 'an envelope is expired only when now > expires_at (not now >= expires_at)',
  expected: ['INV-4', 'INV-3', 'INV-6'],
  target: referenceTarget(
    'mutant:expiry-off-by-one',
    sharedEnvelopeCheck((envelope, bound, trusted, now) => {
      const codes = checkEnvelope(envelope, bound, trusted, now);
      // ENVELOPE_EXPIRED is only ever reported for a well-formed envelope, so expires_at is a number.
      return codes.filter((code) => code !== 'ENVELOPE_EXPIRED' || now > (envelope as { expires_at: number }).expires_at);
    }),
  ),
};
