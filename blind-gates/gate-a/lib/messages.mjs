// Message formats of failclosed-profile/1.0 (contract schemas/), as small hand-written checks.
import { isObject } from './strict-json.mjs';

export const DENIAL_CODES = new Set([
  'REQUEST_MALFORMED', 'NONCE_MALFORMED', 'KEY_UNKNOWN', 'KEY_REVOKED', 'SIGNATURE_INVALID',
  'TIMESTAMP_STALE', 'TIMESTAMP_FUTURE', 'REPLAY_DETECTED', 'NONCE_STORE_UNAVAILABLE',
  'NONCE_WRITE_UNCONFIRMED', 'CONTROL_PLANE_UNAVAILABLE', 'CONTROL_PLANE_TIMEOUT',
  'CONTROL_PLANE_MALFORMED', 'POLICY_DENIED', 'ENVELOPE_MISSING', 'ENVELOPE_SIGNATURE_INVALID',
  'ENVELOPE_EXPIRED', 'ENVELOPE_NOT_YET_VALID', 'ENVELOPE_BINDING_MISMATCH', 'ENVELOPE_REPLAYED',
  'AUDIT_UNAVAILABLE', 'EXECUTION_UNAVAILABLE', 'EXECUTION_UNCONFIRMED',
]);

const RE = {
  nonce: /^[A-Za-z0-9_-]{16,128}$/,
  id: /^[A-Za-z0-9._:-]{1,128}$/,
  name: /^[A-Za-z0-9._:@/-]{1,128}$/,
  keyId: /^ed25519\/[A-Za-z0-9._-]{1,64}$/,
  digest: /^sha256:[0-9a-f]{64}$/,
  signature: /^[A-Za-z0-9_-]{85}[AQgw]$/,
  publicKey: /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/,
};

const str = (re) => (v) => typeof v === 'string' && re.test(v);
export const isId = str(RE.id);
export const isName = str(RE.name);
export const isKeyId = str(RE.keyId);
export const isDigest = str(RE.digest);
export const isSignatureText = str(RE.signature);
export const isPublicKeyText = str(RE.publicKey);
export const isNonce = str(RE.nonce);
export const isUnixTime = (v) => Number.isSafeInteger(v) && v >= 0;
export const hasOwn = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

/** Exactly these keys (required + optional), no others. Returns the unknown keys. */
function unknownKeys(obj, allowed) {
  return Object.keys(obj).filter((k) => !allowed.includes(k));
}

const REQUEST_FIELDS = ['request_id', 'identity', 'action', 'parameters', 'timestamp', 'nonce', 'key_id', 'signature'];

/**
 * Structure check of a client request (request.schema.json).
 * -> { ok: true } | { ok: false, code: 'REQUEST_MALFORMED' | 'NONCE_MALFORMED', reason }
 * NONCE_MALFORMED only when the nonce (a string) is the one thing wrong.
 */
export function checkRequestStructure(v) {
  if (!isObject(v)) return { ok: false, code: 'REQUEST_MALFORMED', reason: 'body is not a JSON object' };
  const extra = unknownKeys(v, REQUEST_FIELDS);
  if (extra.length) return { ok: false, code: 'REQUEST_MALFORMED', reason: `unknown field ${extra[0]}` };
  for (const f of REQUEST_FIELDS) {
    if (!hasOwn(v, f)) return { ok: false, code: 'REQUEST_MALFORMED', reason: `missing field ${f}` };
  }
  const bad = [];
  if (!isId(v.request_id)) bad.push('request_id');
  if (!isName(v.identity)) bad.push('identity');
  if (!isName(v.action)) bad.push('action');
  if (!isUnixTime(v.timestamp)) bad.push('timestamp');
  if (!isKeyId(v.key_id)) bad.push('key_id');
  if (!isSignatureText(v.signature)) bad.push('signature');
  if (typeof v.nonce !== 'string') bad.push('nonce');
  if (bad.length) return { ok: false, code: 'REQUEST_MALFORMED', reason: `bad field ${bad[0]}` };
  if (!isNonce(v.nonce)) return { ok: false, code: 'NONCE_MALFORMED', reason: 'nonce must be 16-128 of [A-Za-z0-9_-]' };
  return { ok: true };
}

const ENVELOPE_FIELDS = ['approval_id', 'request_id', 'identity', 'action', 'parameters_digest', 'issued_at', 'expires_at', 'key_id', 'signature'];

/** envelope.schema.json */
export function isEnvelopeShape(e) {
  if (!isObject(e)) return false;
  if (unknownKeys(e, ENVELOPE_FIELDS).length) return false;
  if (!ENVELOPE_FIELDS.every((f) => hasOwn(e, f))) return false;
  return isId(e.approval_id) && isId(e.request_id) && isName(e.identity) && isName(e.action) &&
    isDigest(e.parameters_digest) && isUnixTime(e.issued_at) && isUnixTime(e.expires_at) &&
    isKeyId(e.key_id) && isSignatureText(e.signature);
}

/** execution-result.schema.json -> normalised result or null. */
export function parseExecutionResult(v) {
  if (!isObject(v)) return null;
  if (v.status === 'executed') {
    if (unknownKeys(v, ['status', 'effect_id', 'approval_id']).length) return null;
    if (!isId(v.effect_id) || !isId(v.approval_id)) return null;
    return { status: 'executed', effect_id: v.effect_id, approval_id: v.approval_id };
  }
  if (v.status === 'denied') {
    if (unknownKeys(v, ['status', 'code', 'reason']).length) return null;
    if (!DENIAL_CODES.has(v.code)) return null;
    if (hasOwn(v, 'reason') && typeof v.reason !== 'string') return null;
    return { status: 'denied', code: v.code };
  }
  return null;
}

/** The call fields other than the envelope (execution-call.schema.json). */
export function checkExecutionCallFields(v) {
  if (unknownKeys(v, ['envelope', 'request_id', 'identity', 'action', 'parameters']).length) return false;
  return isId(v.request_id) && isName(v.identity) && isName(v.action) && hasOwn(v, 'parameters');
}
