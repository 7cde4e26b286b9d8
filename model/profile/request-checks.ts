/**
 * The profile's concrete request and envelope checks, as pure functions.
 *
 * Shared by the model's materializer, the invariant predicates, the test vectors and the offline
 * verifier, so that all of them derive the same verdict from the same bytes. This is not a gate:
 * no I/O, no replay store, no policy. Checks that can fail together all report, in a fixed order,
 * because a gate may legitimately report any one of them.
 */
import type { JsonValue, StrictJsonLimits } from './canonical-json.ts';
import { StrictJsonError, canonicalize, parseStrictJson } from './canonical-json.ts';
import type { DenialCode } from './denial-codes.ts';
import { digestJson, digestsEqual } from './digest.ts';
import type { ClientRequest, IdentityKey, Problem, TrustedKey } from './messages.ts';
import { validateEnvelope, validateRequest, verifyEnvelopeSignature, verifyRequestSignature } from './messages.ts';
import { publicKeyFromText } from './signing.ts';

export type ReadRequestResult =
  | { ok: true; request: ClientRequest }
  | { ok: false; code: Extract<DenialCode, 'REQUEST_MALFORMED' | 'NONCE_MALFORMED'>; problems: Problem[] };

/** Strict JSON read, then the structure check of a client request. */
export function readRequest(body: Uint8Array | string, limits?: Partial<StrictJsonLimits>): ReadRequestResult {
  let value: JsonValue;
  try {
    value = parseStrictJson(body, limits);
  } catch (error) {
    if (!(error instanceof StrictJsonError)) throw error;
    return {
      ok: false,
      code: 'REQUEST_MALFORMED',
      problems: [{ path: '$', message: `not strict JSON (${error.reason} at offset ${error.offset}): ${error.message}` }],
    };
  }
  const result = validateRequest(value);
  return result.ok ? { ok: true, request: result.value } : result;
}

/**
 * Signature, key registry and freshness of a structurally valid request. Returns every failing
 * check among KEY_UNKNOWN, KEY_REVOKED, SIGNATURE_INVALID, TIMESTAMP_STALE, TIMESTAMP_FUTURE (in
 * that order); empty means authentic and fresh. Timestamps exactly `window` away are accepted.
 *
 * A key_id registered to another identity is unknown for this one, even if it is also registered
 * to this identity: an ambiguous registry cannot authenticate anybody (fail closed).
 */
export function authenticateRequest(
  request: ClientRequest,
  identityKeys: readonly IdentityKey[],
  nowSec: number,
  acceptanceWindowSec: number,
): DenialCode[] {
  const codes: DenialCode[] = [];
  const entries = identityKeys.filter((key) => key.key_id === request.key_id);
  if (entries.length === 0 || entries.some((key) => key.identity !== request.identity)) {
    codes.push('KEY_UNKNOWN');
  } else {
    if (entries.some((key) => key.state !== 'active')) codes.push('KEY_REVOKED');
    // Every registered copy of the key must verify: conflicting registry entries fail closed.
    const verifies = entries.every((key) => {
      const publicKey = publicKeyFromText(key.public_key);
      return publicKey !== undefined && verifyRequestSignature(request, publicKey);
    });
    if (!verifies) codes.push('SIGNATURE_INVALID');
  }
  if (request.timestamp < nowSec - acceptanceWindowSec) codes.push('TIMESTAMP_STALE');
  if (request.timestamp > nowSec + acceptanceWindowSec) codes.push('TIMESTAMP_FUTURE');
  return codes;
}

/** What an approval envelope must be bound to: the request being executed. */
export interface EnvelopeBinding {
  request_id: string;
  identity: string;
  action: string;
  parameters: JsonValue;
}

/**
 * Validates an approval envelope for the request it is presented with. ENVELOPE_MISSING or
 * ENVELOPE_SIGNATURE_INVALID end the check (nothing unsigned is worth reading further); otherwise
 * every failing check among ENVELOPE_NOT_YET_VALID, ENVELOPE_EXPIRED, ENVELOPE_BINDING_MISMATCH.
 * Valid from issued_at inclusive to expires_at exclusive. Empty means valid.
 */
export function checkEnvelope(
  envelope: unknown,
  bound: EnvelopeBinding,
  trustedKeys: readonly TrustedKey[],
  nowSec: number,
): DenialCode[] {
  if (envelope === undefined || envelope === null) return ['ENVELOPE_MISSING'];
  const shape = validateEnvelope(envelope);
  if (!shape.ok) return ['ENVELOPE_SIGNATURE_INVALID'];
  const checked = shape.value;
  const signedByTrustedKey = trustedKeys.some((key) => {
    if (key.key_id !== checked.key_id) return false;
    const publicKey = publicKeyFromText(key.public_key);
    return publicKey !== undefined && verifyEnvelopeSignature(checked, publicKey);
  });
  if (!signedByTrustedKey) return ['ENVELOPE_SIGNATURE_INVALID'];

  const codes: DenialCode[] = [];
  if (nowSec < checked.issued_at) codes.push('ENVELOPE_NOT_YET_VALID');
  if (nowSec >= checked.expires_at) codes.push('ENVELOPE_EXPIRED');
  if (
    checked.request_id !== bound.request_id ||
    checked.identity !== bound.identity ||
    checked.action !== bound.action ||
    !parametersMatch(checked.parameters_digest, bound.parameters)
  ) {
    codes.push('ENVELOPE_BINDING_MISMATCH');
  }
  return codes;
}

function parametersMatch(approvedDigest: string, parameters: JsonValue): boolean {
  let actualDigest: string;
  try {
    actualDigest = digestJson(parameters);
  } catch {
    return false; // parameters that have no canonical form cannot be the approved ones
  }
  return digestsEqual(approvedDigest, actualDigest);
}

/** The replay store key: a nonce is single use per (identity, action). */
export function nonceKey(identity: string, action: string, nonce: string): string {
  return canonicalize([identity, action, nonce]);
}
