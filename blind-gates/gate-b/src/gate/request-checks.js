// Stages 1 (structure) and 2 (authentication) of the Gate: pure functions of the bytes, the key
// registry, the window and the clock — also what the vector tests drive.
import { parseStrict, isJsonObject } from '../profile/strict-json.js';
import { validate } from '../profile/schemas.js';
import { digestValue, EMPTY_DIGEST, verifySignature } from '../profile/crypto.js';
import { Denial } from '../profile/codes.js';
import { defect } from '../defects.js';

const UNKNOWN = Object.freeze({ identity: 'unknown', data_hash: EMPTY_DIGEST });

/** Attribution of a request that passed the structure check (or failed it only on its nonce). */
function attributionOf(request) {
  return {
    identity: request.identity,
    request_id: request.request_id,
    action: request.action,
    data_hash: digestValue(request.parameters),
  };
}

/**
 * Stage 1. Returns { request, attribution } or throws a Denial with `attribution` attached.
 */
export function checkStructure(bytes) {
  let value;
  try {
    value = parseStrict(bytes);
  } catch (err) {
    throw Object.assign(new Denial('REQUEST_MALFORMED', `not strict JSON (${err.reason})`), { attribution: UNKNOWN });
  }
  const v = validate('request', value);
  if (v.ok) return { request: value, attribution: attributionOf(value) };
  const onlyNonce = isJsonObject(value) && typeof value.nonce === 'string' && v.errors.every((e) => e.path === '/nonce');
  if (onlyNonce) {
    throw Object.assign(new Denial('NONCE_MALFORMED', 'nonce is not 16-128 of [A-Za-z0-9_-]'), { attribution: attributionOf(value) });
  }
  const where = v.errors.map((e) => `${e.path || '/'} ${e.message}`).slice(0, 3).join('; ');
  throw Object.assign(new Denial('REQUEST_MALFORMED', `not a request: ${where}`), { attribution: UNKNOWN });
}

/**
 * Stage 2. `registry`: key_id -> { identity, state, key }. Throws a Denial.
 */
export function checkAuthentication(request, registry, windowSec, nowSec) {
  const entry = registry.get(request.key_id);
  if (!entry || entry.identity !== request.identity) {
    throw new Denial('KEY_UNKNOWN', 'key id is not registered for this identity');
  }
  if (entry.state !== 'active') throw new Denial('KEY_REVOKED', 'key is revoked');
  const ts = request.timestamp;
  if (defect('window-off-by-one')) {
    if (ts <= nowSec - windowSec) throw new Denial('TIMESTAMP_STALE', 'timestamp is older than the acceptance window');
    if (ts >= nowSec + windowSec) throw new Denial('TIMESTAMP_FUTURE', 'timestamp is too far in the future');
  } else {
    if (ts < nowSec - windowSec) throw new Denial('TIMESTAMP_STALE', 'timestamp is older than the acceptance window');
    if (ts > nowSec + windowSec) throw new Denial('TIMESTAMP_FUTURE', 'timestamp is too far in the future');
  }
  if (!verifySignature(entry.key, request, request.signature)) {
    throw new Denial('SIGNATURE_INVALID', 'request signature does not verify');
  }
}
