// Approval envelope verification (profile: "Approval envelope"). Shared library: the Gate and
// the Execution Layer each call it on their own, with their own trusted keys and clock.
import { validate } from './schemas.js';
import { digestEquals, verifySignature } from './crypto.js';
import { Denial } from './codes.js';

/**
 * @param envelope  the envelope as received (any JSON value, or undefined)
 * @param bound     { request_id, identity, action, parameters_digest } of what is executed;
 *                  parameters_digest MUST be recomputed by the caller from the parameters it runs
 * @param trusted   Map key_id -> KeyObject (the Control Plane keys, nothing else)
 * @param nowSec    the verifier's clock, unix seconds (an integer)
 * Throws a Denial; returns the envelope when valid.
 */
export function verifyEnvelope(envelope, bound, trusted, nowSec) {
  if (envelope === undefined || envelope === null) {
    throw new Denial('ENVELOPE_MISSING', 'no approval envelope');
  }
  if (!validate('envelope', envelope).ok) {
    throw new Denial('ENVELOPE_SIGNATURE_INVALID', 'not an approval envelope');
  }
  const key = trusted.get(envelope.key_id);
  if (!key) throw new Denial('ENVELOPE_SIGNATURE_INVALID', 'envelope key id is not a trusted Control Plane key');
  if (!verifySignature(key, envelope, envelope.signature)) {
    throw new Denial('ENVELOPE_SIGNATURE_INVALID', 'envelope signature does not verify');
  }
  if (nowSec < envelope.issued_at) throw new Denial('ENVELOPE_NOT_YET_VALID', 'envelope issued in the future');
  if (nowSec >= envelope.expires_at) throw new Denial('ENVELOPE_EXPIRED', 'envelope expired');
  // Evaluate every binding before deciding, so timing does not depend on which field differs.
  const sameRequest = envelope.request_id === bound.request_id;
  const sameIdentity = envelope.identity === bound.identity;
  const sameAction = envelope.action === bound.action;
  const sameDigest = digestEquals(envelope.parameters_digest, bound.parameters_digest);
  if (!(sameRequest && sameIdentity && sameAction && sameDigest)) {
    throw new Denial('ENVELOPE_BINDING_MISMATCH', 'envelope is bound to another request');
  }
  return envelope;
}
