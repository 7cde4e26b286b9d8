/**
 * Named threat scenarios. Every command carries one, with the invariants it defends, so a failure
 * says which invariant broke and how.
 */
import type { InvariantId } from '../model/profile/denial-codes.ts';

export const THREATS = {
  'happy-path': 'a valid request executes exactly once',
  'forged-request': 'a request signed by the wrong key, an unknown key or a revoked key',
  'stale-request': 'a request outside the acceptance window or exactly at its edges, or a Gate clock skewed, rounded or moved',
  'malformed-input': 'bodies that are not strict JSON, miss fields, repeat keys or carry a bad nonce',
  replay: 'a request, a nonce or an approval used twice — in sequence, concurrently, across a restart, or after the clock moved on (and back)',
  'control-plane-failure': 'the Control Plane denies, is down, is slow, answers garbage',
  'forged-approval': 'an allow without an envelope, or with an envelope the Gate must not trust',
  'argument-swap': 'an approval bound to other parameters, another request, identity or action — or parameters rewritten in flight',
  'expired-approval': 'an envelope outside its validity window, also exactly at its edge',
  'nonce-store-failure': 'the nonce store is down or cannot confirm its write',
  'audit-failure': 'the audit log refuses the intent record',
  'partition-during-approval': 'the Execution Layer is cut off after approval; nothing may execute after the heal',
  'lost-confirmation': 'the Execution Layer executed but its answer was lost',
  'crash-restart': 'the system is killed and restarted; its memory of nonces and approvals must survive',
  bypass: 'calls straight to the Execution Layer with no, forged, expired, replayed or mismatched envelopes',
  burst: "up to the contract's limit of requests in flight at once: each decided, answered and audited as if alone",
  'late-answer': "a valid allow, or the Gate's own Execution Layer call, arrives after the Gate's deadline: nothing may run for a denial",
} as const;

export type Threat = keyof typeof THREATS;

/** The invariants each threat puts at stake. A happy path defends none: a Gate that refuses a
 *  valid request breaks no safety invariant, but it diverges from the model and fails the suite. */
export const THREAT_INVARIANTS: Record<Threat, readonly InvariantId[]> = {
  'happy-path': [],
  'forged-request': ['INV-3'],
  'stale-request': ['INV-3', 'INV-4'],
  'malformed-input': ['INV-3', 'INV-5'],
  replay: ['INV-3'],
  'control-plane-failure': ['INV-1', 'INV-4'],
  'forged-approval': ['INV-1', 'INV-4'],
  'argument-swap': ['INV-2'],
  'expired-approval': ['INV-3', 'INV-4'],
  'nonce-store-failure': ['INV-3', 'INV-4'],
  'audit-failure': ['INV-5', 'INV-4'],
  'partition-during-approval': ['INV-4'],
  'lost-confirmation': ['INV-4'],
  'crash-restart': ['INV-3'],
  bypass: ['INV-6'],
  burst: ['INV-3', 'INV-5'],
  'late-answer': ['INV-4'],
};

export interface Tagged {
  readonly threat: Threat;
  readonly invariants: readonly InvariantId[];
}
