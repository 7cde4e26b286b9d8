/**
 * The closed, versioned set of denial codes of the failclosed profile.
 *
 * One code per validation step and per row of the failure table, plus distinct replay codes.
 * A gate reports exactly one of these with every denial; a vendor whose gate uses other names
 * maps them here through its adapter. Adding, removing or renaming a code changes PROFILE_VERSION.
 */
export const PROFILE_VERSION = 'failclosed-profile/1.0' as const;

export interface DenialCodeInfo {
  /** The validation stage that reports it, in pipeline order. */
  readonly stage:
    | 'structure'
    | 'authentication'
    | 'replay'
    | 'policy'
    | 'envelope'
    | 'audit'
    | 'dispatch';
  /** Which invariants a wrong outcome for this code would break (a finding may cite several). */
  readonly invariants: readonly InvariantId[];
  readonly meaning: string;
}

export type InvariantId = 'INV-1' | 'INV-2' | 'INV-3' | 'INV-4' | 'INV-5' | 'INV-6';
export const INVARIANT_IDS: readonly InvariantId[] = ['INV-1', 'INV-2', 'INV-3', 'INV-4', 'INV-5', 'INV-6'];

export const DENIAL_CODES = {
  REQUEST_MALFORMED: {
    stage: 'structure',
    invariants: ['INV-3', 'INV-4'],
    meaning: 'The body is not strict JSON, is too large or too deep, has duplicate keys, misses a field or has a field of the wrong type.',
  },
  NONCE_MALFORMED: {
    stage: 'structure',
    invariants: ['INV-3'],
    meaning: 'The nonce does not have the profile format (16 to 128 characters of [A-Za-z0-9_-]).',
  },
  KEY_UNKNOWN: {
    stage: 'authentication',
    invariants: ['INV-3'],
    meaning: 'The key_id is not in the identity key registry, or belongs to another identity.',
  },
  KEY_REVOKED: {
    stage: 'authentication',
    invariants: ['INV-3'],
    meaning: 'The key_id is registered but revoked.',
  },
  SIGNATURE_INVALID: {
    stage: 'authentication',
    invariants: ['INV-3'],
    meaning: 'The request signature does not verify over the canonical signed fields.',
  },
  TIMESTAMP_STALE: {
    stage: 'authentication',
    invariants: ['INV-3', 'INV-4'],
    meaning: 'The request timestamp is older than the acceptance window.',
  },
  TIMESTAMP_FUTURE: {
    stage: 'authentication',
    invariants: ['INV-3', 'INV-4'],
    meaning: 'The request timestamp is further in the future than the acceptance window.',
  },
  REPLAY_DETECTED: {
    stage: 'replay',
    invariants: ['INV-3'],
    meaning: '(identity, action, nonce) was already accepted inside the replay window.',
  },
  NONCE_STORE_UNAVAILABLE: {
    stage: 'replay',
    invariants: ['INV-3', 'INV-4'],
    meaning: 'The nonce store is down or did not answer in time.',
  },
  NONCE_WRITE_UNCONFIRMED: {
    stage: 'replay',
    invariants: ['INV-3', 'INV-4'],
    meaning: 'The nonce claim was sent but its durable, linearizable write could not be confirmed.',
  },
  CONTROL_PLANE_UNAVAILABLE: {
    stage: 'policy',
    invariants: ['INV-1', 'INV-4'],
    meaning: 'The Control Plane could not be reached or answered with a server error.',
  },
  CONTROL_PLANE_TIMEOUT: {
    stage: 'policy',
    invariants: ['INV-1', 'INV-4'],
    meaning: 'The Control Plane did not answer before the deadline.',
  },
  CONTROL_PLANE_MALFORMED: {
    stage: 'policy',
    invariants: ['INV-1', 'INV-4'],
    meaning: 'The Control Plane answer is not a well-formed decision.',
  },
  POLICY_DENIED: {
    stage: 'policy',
    invariants: ['INV-1'],
    meaning: 'The Control Plane evaluated policy and denied the request.',
  },
  ENVELOPE_MISSING: {
    stage: 'envelope',
    invariants: ['INV-1', 'INV-6'],
    meaning: 'An "allow" came without an approval envelope (an unsigned allow), or a direct call carried none.',
  },
  ENVELOPE_SIGNATURE_INVALID: {
    stage: 'envelope',
    invariants: ['INV-1', 'INV-4', 'INV-6'],
    meaning: 'The envelope is not signed by a trusted Control Plane key (unknown key id or bad signature).',
  },
  ENVELOPE_EXPIRED: {
    stage: 'envelope',
    invariants: ['INV-3', 'INV-4'],
    meaning: 'The clock is at or after the envelope expires_at.',
  },
  ENVELOPE_NOT_YET_VALID: {
    stage: 'envelope',
    invariants: ['INV-3', 'INV-4'],
    meaning: 'The envelope issued_at is in the future.',
  },
  ENVELOPE_BINDING_MISMATCH: {
    stage: 'envelope',
    invariants: ['INV-2'],
    meaning: 'The envelope is bound to another request id, identity, action or parameter digest.',
  },
  ENVELOPE_REPLAYED: {
    stage: 'dispatch',
    invariants: ['INV-3', 'INV-6'],
    meaning: 'The approval_id was already consumed: an approval is single use.',
  },
  AUDIT_UNAVAILABLE: {
    stage: 'audit',
    invariants: ['INV-5'],
    meaning: 'The intent record could not be written durably before dispatch (audit before effect).',
  },
  EXECUTION_UNAVAILABLE: {
    stage: 'dispatch',
    invariants: ['INV-4'],
    meaning: 'The Execution Layer could not be reached (partition); the request is dropped, never queued.',
  },
  EXECUTION_UNCONFIRMED: {
    stage: 'dispatch',
    invariants: ['INV-4'],
    meaning: 'The approved request was dispatched but its outcome could not be confirmed; never reported as success.',
  },
} as const satisfies Record<string, DenialCodeInfo>;

export type DenialCode = keyof typeof DENIAL_CODES;
export const ALL_DENIAL_CODES = Object.keys(DENIAL_CODES) as DenialCode[];

export function isDenialCode(value: unknown): value is DenialCode {
  return typeof value === 'string' && Object.hasOwn(DENIAL_CODES, value);
}
