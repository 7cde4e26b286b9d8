/**
 * The profile's messages: client Request, Approval Envelope, Control Plane answer, Audit Record,
 * Gateway Event and key registry entries — their types, validators and signing helpers.
 *
 * Validators take untrusted values (already read by the strict JSON reader) and either return the
 * typed value or a list of problems with JSON paths. They never throw.
 */
import type { DenialCode } from './denial-codes.ts';
import { isDenialCode } from './denial-codes.ts';
import type { JsonValue } from './canonical-json.ts';
import type { Digest } from './digest.ts';
import { isDigest } from './digest.ts';
import type { KeyId, KeyPair } from './signing.ts';
import { isKeyId, signCanonical, verifyCanonical } from './signing.ts';
import { fromBase64Url } from './encoding.ts';

// ---------------------------------------------------------------- formats

export const NONCE_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;
/** request_id, approval_id, record_id, trace_id. */
export const ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
/** identity and action names. */
export const NAME_PATTERN = /^[A-Za-z0-9._:@/-]{1,128}$/;
export const SIGNATURE_LENGTH = 86; // base64url, no padding, of 64 bytes
export const DEFAULT_ACCEPTANCE_WINDOW_SEC = 300;

// ---------------------------------------------------------------- types

/** What a client sends to the Gate. Every field but `signature` is signed. */
export interface ClientRequest {
  request_id: string;
  identity: string;
  action: string;
  parameters: JsonValue;
  /** integer unix seconds */
  timestamp: number;
  nonce: string;
  key_id: KeyId;
  signature: string;
}
export type UnsignedRequest = Omit<ClientRequest, 'signature'>;
export const REQUEST_FIELDS = [
  'request_id', 'identity', 'action', 'parameters', 'timestamp', 'nonce', 'key_id', 'signature',
] as const;

/** Signed by the Control Plane; binds one request's identity, action and exact parameters. */
export interface ApprovalEnvelope {
  approval_id: string;
  request_id: string;
  identity: string;
  action: string;
  parameters_digest: Digest;
  /** integer unix seconds; the envelope is not valid before it */
  issued_at: number;
  /** integer unix seconds; the envelope is not valid at or after it */
  expires_at: number;
  key_id: KeyId;
  signature: string;
}
export type UnsignedEnvelope = Omit<ApprovalEnvelope, 'signature'>;
export const ENVELOPE_FIELDS = [
  'approval_id', 'request_id', 'identity', 'action', 'parameters_digest', 'issued_at', 'expires_at', 'key_id', 'signature',
] as const;

/** The Control Plane's answer to a policy question. Only an allow carries (and needs) a signature. */
export type ControlPlaneAnswer =
  | { decision: 'allow'; envelope: ApprovalEnvelope }
  | { decision: 'deny'; reason?: string };

/** The question the Gate asks the Control Plane. */
export interface PolicyQuestion {
  request_id: string;
  identity: string;
  action: string;
  parameters: JsonValue;
  parameters_digest: Digest;
}

export type AuditDecision = 'allow' | 'deny';
export type AuditStage = 'intent' | 'final';
export type ExecutionOutcome = 'executed' | 'failed' | 'unknown';

/**
 * One link of the audit hash chain. `record_hash` = sha256 of the canonical record without it.
 * An approved request whose outcome the Gate cannot confirm closes as a denial: decision "deny",
 * code EXECUTION_UNCONFIRMED, its approval_id, and outcome "unknown".
 */
export interface AuditRecord {
  record_id: string;
  /** integer unix milliseconds */
  timestamp_ms: number;
  /** the claimed identity, or "unknown" when the request did not parse that far */
  identity: string;
  decision: AuditDecision;
  /** "intent" is written before dispatch; "final" closes the request */
  stage: AuditStage;
  /** sha256 of the exact request bytes as received */
  request_hash: Digest;
  trace_id: string;
  /** sha256 of the canonical parameters when the request parsed, else of the empty string */
  data_hash: Digest;
  request_id?: string;
  action?: string;
  /** denials only */
  code?: DenialCode;
  /** execution records: intent and final of an approved request */
  approval_id?: string;
  outcome?: ExecutionOutcome;
  /** record_hash of the previous record; the genesis record has ZERO_DIGEST */
  prev_hash: Digest;
  record_hash: Digest;
}

export type GatewayEventKind = 'accepted' | 'completed' | 'failed';
/** Emitted by the Gate and keyed by request id, for operators and evidence correlation. */
export interface GatewayEvent {
  request_id: string;
  trace_id: string;
  event: GatewayEventKind;
  timestamp_ms: number;
  code?: DenialCode;
}

export type KeyState = 'active' | 'revoked';
/** An identity key registry entry. */
export interface IdentityKey {
  key_id: KeyId;
  identity: string;
  /** base64url of the 32-byte Ed25519 public key */
  public_key: string;
  state: KeyState;
}
/** A Control Plane signing key the Gate and the Execution Layer trust. */
export interface TrustedKey {
  key_id: KeyId;
  public_key: string;
}

// ---------------------------------------------------------------- signing

function withoutSignature<T extends { signature: string }>(message: T): Omit<T, 'signature'> {
  const { signature: _ignored, ...fields } = message;
  return fields;
}

export function signRequest(unsigned: UnsignedRequest, key: KeyPair): ClientRequest {
  return { ...unsigned, signature: signCanonical(unsigned, key.secretKey) };
}

export function verifyRequestSignature(request: ClientRequest, publicKey: Uint8Array): boolean {
  return verifyCanonical(withoutSignature(request), request.signature, publicKey);
}

export function signEnvelope(unsigned: UnsignedEnvelope, key: KeyPair): ApprovalEnvelope {
  return { ...unsigned, signature: signCanonical(unsigned, key.secretKey) };
}

export function verifyEnvelopeSignature(envelope: ApprovalEnvelope, publicKey: Uint8Array): boolean {
  return verifyCanonical(withoutSignature(envelope), envelope.signature, publicKey);
}

// ---------------------------------------------------------------- validation

export interface Problem {
  path: string;
  message: string;
}
export type Validation<T> =
  | { ok: true; value: T }
  | { ok: false; problems: Problem[] };

type Check = (value: unknown) => string | undefined;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const str = (pattern?: RegExp): Check => (v) =>
  typeof v !== 'string' ? 'must be a string' : pattern && !pattern.test(v) ? `must match ${pattern}` : undefined;
const unixInt: Check = (v) =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? undefined : 'must be a non-negative safe integer';
const keyId: Check = (v) => (isKeyId(v) ? undefined : 'must be "ed25519/<id>"');
const digest: Check = (v) => (isDigest(v) ? undefined : 'must be "sha256:<64 lowercase hex>"');
const signature: Check = (v) =>
  typeof v === 'string' && v.length === SIGNATURE_LENGTH && fromBase64Url(v)?.length === 64
    ? undefined
    : 'must be the base64url (no padding) of 64 bytes';
const publicKey: Check = (v) =>
  typeof v === 'string' && fromBase64Url(v)?.length === 32 ? undefined : 'must be the base64url of 32 bytes';
const oneOf = (...allowed: string[]): Check => (v) =>
  typeof v === 'string' && allowed.includes(v) ? undefined : `must be one of ${allowed.join(', ')}`;
const anyJson: Check = () => undefined;
const denialCode: Check = (v) => (isDenialCode(v) ? undefined : 'must be a profile denial code');

function validateObject<T>(
  value: unknown,
  required: Record<string, Check>,
  optional: Record<string, Check> = {},
  path = '$',
): Validation<T> {
  if (!isPlainObject(value)) return { ok: false, problems: [{ path, message: 'must be an object' }] };
  const problems: Problem[] = [];
  for (const [field, check] of Object.entries(required)) {
    if (!Object.hasOwn(value, field)) {
      problems.push({ path: `${path}.${field}`, message: 'is missing' });
      continue;
    }
    const message = check(value[field]);
    if (message) problems.push({ path: `${path}.${field}`, message });
  }
  for (const [field, check] of Object.entries(optional)) {
    if (!Object.hasOwn(value, field)) continue;
    const message = check(value[field]);
    if (message) problems.push({ path: `${path}.${field}`, message });
  }
  for (const field of Object.keys(value)) {
    if (!Object.hasOwn(required, field) && !Object.hasOwn(optional, field)) {
      problems.push({ path: `${path}.${field}`, message: 'is not a field of this message' });
    }
  }
  return problems.length === 0 ? { ok: true, value: value as T } : { ok: false, problems };
}

const REQUEST_CHECKS: Record<string, Check> = {
  request_id: str(ID_PATTERN),
  identity: str(NAME_PATTERN),
  action: str(NAME_PATTERN),
  parameters: anyJson,
  timestamp: unixInt,
  nonce: str(),
  key_id: keyId,
  signature,
};

/**
 * Structure check of a client request. The nonce format is its own step so that the Gate can
 * report NONCE_MALFORMED distinctly from REQUEST_MALFORMED.
 */
export function validateRequest(
  value: unknown,
): { ok: true; value: ClientRequest } | { ok: false; code: Extract<DenialCode, 'REQUEST_MALFORMED' | 'NONCE_MALFORMED'>; problems: Problem[] } {
  const result = validateObject<ClientRequest>(value, REQUEST_CHECKS);
  if (!result.ok) return { ok: false, code: 'REQUEST_MALFORMED', problems: result.problems };
  if (!NONCE_PATTERN.test(result.value.nonce)) {
    return { ok: false, code: 'NONCE_MALFORMED', problems: [{ path: '$.nonce', message: `must match ${NONCE_PATTERN}` }] };
  }
  return result;
}

const ENVELOPE_CHECKS: Record<string, Check> = {
  approval_id: str(ID_PATTERN),
  request_id: str(ID_PATTERN),
  identity: str(NAME_PATTERN),
  action: str(NAME_PATTERN),
  parameters_digest: digest,
  issued_at: unixInt,
  expires_at: unixInt,
  key_id: keyId,
  signature,
};

export function validateEnvelope(value: unknown, path = '$'): Validation<ApprovalEnvelope> {
  return validateObject<ApprovalEnvelope>(value, ENVELOPE_CHECKS, {}, path);
}

export function validateControlPlaneAnswer(value: unknown): Validation<ControlPlaneAnswer> {
  if (!isPlainObject(value)) return { ok: false, problems: [{ path: '$', message: 'must be an object' }] };
  if (value.decision === 'deny') {
    return validateObject<ControlPlaneAnswer>(value, { decision: oneOf('deny') }, { reason: str() });
  }
  if (value.decision === 'allow') {
    const shape = validateObject<ControlPlaneAnswer>(value, { decision: oneOf('allow'), envelope: anyJson });
    if (!shape.ok) return shape;
    const envelope = validateEnvelope(value.envelope, '$.envelope');
    return envelope.ok ? shape : envelope;
  }
  return { ok: false, problems: [{ path: '$.decision', message: 'must be "allow" or "deny"' }] };
}

const AUDIT_REQUIRED: Record<string, Check> = {
  record_id: str(ID_PATTERN),
  timestamp_ms: unixInt,
  identity: str(),
  decision: oneOf('allow', 'deny'),
  stage: oneOf('intent', 'final'),
  request_hash: digest,
  trace_id: str(ID_PATTERN),
  data_hash: digest,
  prev_hash: digest,
  record_hash: digest,
};
const AUDIT_OPTIONAL: Record<string, Check> = {
  request_id: str(),
  action: str(),
  code: denialCode,
  approval_id: str(ID_PATTERN),
  outcome: oneOf('executed', 'failed', 'unknown'),
};

/** Field-level validation plus the profile's rules on which fields each kind of record carries. */
export function validateAuditRecord(value: unknown, path = '$'): Validation<AuditRecord> {
  const result = validateObject<AuditRecord>(value, AUDIT_REQUIRED, AUDIT_OPTIONAL, path);
  if (!result.ok) return result;
  const r = result.value;
  const problems: Problem[] = [];
  if (r.decision === 'deny' && r.stage === 'final' && r.code === undefined) {
    problems.push({ path: `${path}.code`, message: 'a denial record carries a denial code' });
  }
  if (r.decision === 'allow' && r.code !== undefined) {
    problems.push({ path: `${path}.code`, message: 'an allow record carries no denial code' });
  }
  if (r.decision === 'allow' && r.approval_id === undefined) {
    problems.push({ path: `${path}.approval_id`, message: 'an execution record carries the approval id' });
  }
  if (r.decision === 'allow' && r.stage === 'final' && r.outcome === undefined) {
    problems.push({ path: `${path}.outcome`, message: 'a final execution record carries the outcome' });
  }
  if (r.decision === 'deny' && r.outcome === 'executed') {
    problems.push({ path: `${path}.outcome`, message: 'a denial record cannot say the request executed' });
  }
  if (r.decision === 'allow' && r.stage === 'final' && r.outcome !== undefined && r.outcome !== 'executed') {
    problems.push({ path: `${path}.outcome`, message: 'an allow closes only as executed: a failed or unconfirmed execution closes as a denial' });
  }
  if (r.code === 'EXECUTION_UNCONFIRMED' && r.outcome !== 'unknown') {
    problems.push({ path: `${path}.outcome`, message: 'an unconfirmed execution closes with outcome "unknown"' });
  }
  if (r.outcome === 'unknown' && r.code !== 'EXECUTION_UNCONFIRMED') {
    problems.push({ path: `${path}.outcome`, message: 'only an unconfirmed execution (EXECUTION_UNCONFIRMED) has outcome "unknown"; a dispatch the Execution Layer refused or never received "failed"' });
  }
  if (r.stage === 'intent' && r.outcome !== undefined) {
    problems.push({ path: `${path}.outcome`, message: 'an intent record has no outcome yet' });
  }
  if (r.stage === 'intent' && r.decision !== 'allow') {
    problems.push({ path: `${path}.stage`, message: 'only an approved request has an intent record' });
  }
  return problems.length === 0 ? result : { ok: false, problems };
}

export function validateGatewayEvent(value: unknown): Validation<GatewayEvent> {
  return validateObject<GatewayEvent>(
    value,
    { request_id: str(), trace_id: str(ID_PATTERN), event: oneOf('accepted', 'completed', 'failed'), timestamp_ms: unixInt },
    { code: denialCode },
  );
}

export function validateIdentityKey(value: unknown, path = '$'): Validation<IdentityKey> {
  return validateObject<IdentityKey>(
    value,
    { key_id: keyId, identity: str(NAME_PATTERN), public_key: publicKey, state: oneOf('active', 'revoked') },
    {},
    path,
  );
}

export function validateTrustedKey(value: unknown, path = '$'): Validation<TrustedKey> {
  return validateObject<TrustedKey>(value, { key_id: keyId, public_key: publicKey }, {}, path);
}
