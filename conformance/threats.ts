/**
 * Named threat scenarios. Every command carries one, with the invariants it defends, so a failure
 * says which invariant broke and how.
 */
import type { InvariantId } from '../model/profile/denial-codes.ts';

export const THREATS = {
  'happy-path': 'a valid request executes exactly once',
  'forged-request': 'a request signed by the wrong key, an unknown key or a revoked key',
  'stale-request': 'a request outside the acceptance window, or a Gate clock skewed',
  'malformed-input': 'bodies that are not strict JSON, miss fields, repeat keys or carry a bad nonce',
  replay: 'a request, a nonce or an approval used twice — in sequence, concurrently, or across a restart',
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
} as const;

export type Threat = keyof typeof THREATS;

export interface Tagged {
  readonly threat: Threat;
  readonly invariants: readonly InvariantId[];
}
