// The closed set of denial codes of failclosed-profile/1.0.
export const DENIAL_CODES = new Set([
  'REQUEST_MALFORMED', 'NONCE_MALFORMED', 'KEY_UNKNOWN', 'KEY_REVOKED', 'SIGNATURE_INVALID',
  'TIMESTAMP_STALE', 'TIMESTAMP_FUTURE', 'REPLAY_DETECTED', 'NONCE_STORE_UNAVAILABLE',
  'NONCE_WRITE_UNCONFIRMED', 'CONTROL_PLANE_UNAVAILABLE', 'CONTROL_PLANE_TIMEOUT',
  'CONTROL_PLANE_MALFORMED', 'POLICY_DENIED', 'ENVELOPE_MISSING', 'ENVELOPE_SIGNATURE_INVALID',
  'ENVELOPE_EXPIRED', 'ENVELOPE_NOT_YET_VALID', 'ENVELOPE_BINDING_MISMATCH', 'ENVELOPE_REPLAYED',
  'AUDIT_UNAVAILABLE', 'EXECUTION_UNAVAILABLE', 'EXECUTION_UNCONFIRMED',
]);

/** A denial carried through the pipeline: one code, a reason for people. */
export class Denial extends Error {
  constructor(code, reason) {
    super(`${code}: ${reason}`);
    if (!DENIAL_CODES.has(code)) throw new Error(`not a profile denial code: ${code}`);
    this.code = code;
    this.reason = reason;
  }
}
