// Authentication checks of a structurally valid request, and envelope checks (CONTRACT.md §3, §4).
// Both return the list of every failing check's code (empty = pass); callers report the first.
import { constantTimeEqual } from './canonical.mjs';
import { decodePublicKey, verifyMessage } from './ed25519.mjs';
import { isEnvelopeShape } from './messages.mjs';
import { defect } from './defects.mjs';

/**
 * Client key registry (FAILCLOSED_IDENTITY_KEYS). A key_id listed for two identities (or with two
 * different public keys) authenticates nobody.
 */
export class IdentityRegistry {
  constructor(keys) {
    this.byKeyId = new Map();
    for (const k of keys) {
      const prev = this.byKeyId.get(k.key_id);
      const entry = { identity: k.identity, publicKeyText: k.public_key, publicKey: decodePublicKey(k.public_key), revoked: k.state === 'revoked' };
      if (!prev) this.byKeyId.set(k.key_id, entry);
      else if (prev.ambiguous || prev.identity !== entry.identity || prev.publicKeyText !== entry.publicKeyText) {
        this.byKeyId.set(k.key_id, { ambiguous: true });
      } else prev.revoked ||= entry.revoked; // listed twice: revoked wins
    }
  }
  lookup(keyId, identity) {
    const e = this.byKeyId.get(keyId);
    if (!e || e.ambiguous || e.identity !== identity || !e.publicKey) return null;
    return e;
  }
}

/** Stage 2 (authentication): key, signature, freshness. */
export function authenticationFailures(req, { registry, nowSec, windowSec }) {
  const codes = [];
  const key = registry.lookup(req.key_id, req.identity);
  if (!key) codes.push('KEY_UNKNOWN');
  else {
    if (key.revoked) codes.push('KEY_REVOKED');
    if (!verifyMessage(req, key.publicKey)) codes.push('SIGNATURE_INVALID');
  }
  if (req.timestamp < nowSec - windowSec) codes.push('TIMESTAMP_STALE');
  if (req.timestamp > nowSec + windowSec) codes.push('TIMESTAMP_FUTURE');
  return codes;
}

/** Trusted Control Plane keys (FAILCLOSED_CONTROL_PLANE_KEYS): key_id -> public key bytes. */
export function trustedKeyMap(keys) {
  return new Map(keys.map((k) => [k.key_id, decodePublicKey(k.public_key)]));
}

/**
 * Approval envelope against what is about to be executed.
 * bound = { request_id, identity, action, parameters_digest }.
 * Order: missing; not an envelope / untrusted key / bad signature (stop); then window and binding.
 */
export function envelopeFailures(envelope, bound, { trustedKeys, nowSec }) {
  if (envelope === undefined || envelope === null) return ['ENVELOPE_MISSING'];
  if (!isEnvelopeShape(envelope)) return ['ENVELOPE_SIGNATURE_INVALID'];
  const key = trustedKeys.get(envelope.key_id);
  if (!key || !verifyMessage(envelope, key)) return ['ENVELOPE_SIGNATURE_INVALID'];
  const codes = [];
  if (nowSec < envelope.issued_at) codes.push('ENVELOPE_NOT_YET_VALID');
  const expired = defect('expiry-off-by-one') ? nowSec > envelope.expires_at : nowSec >= envelope.expires_at; // DEFECT when on
  if (expired) codes.push('ENVELOPE_EXPIRED');
  const bindingOk =
    constantTimeEqual(envelope.request_id, bound.request_id) &
    constantTimeEqual(envelope.identity, bound.identity) &
    constantTimeEqual(envelope.action, bound.action) &
    constantTimeEqual(envelope.parameters_digest, bound.parameters_digest);
  if (!bindingOk) codes.push('ENVELOPE_BINDING_MISMATCH');
  return codes;
}
