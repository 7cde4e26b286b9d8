/**
 * A small builder of recorded Histories, for tests of the invariant predicates and of anything
 * else that consumes a History. It signs with the fixed public test keys, keeps the clock moving
 * forward, and writes audit records that form a correct hash chain — so a test adds exactly the
 * one wrong thing it is about.
 */
import type {
  DirectCall,
  Effect,
  ExecutionCallSeen,
  FaultKind,
  FaultSpan,
  GateResponse,
  History,
  HistoryConfig,
  HistoryEvent,
  HistoryKeys,
  Millis,
  PolicyAnswer,
} from './history.ts';
import type { JsonValue } from './profile/canonical-json.ts';
import { canonicalBytes } from './profile/canonical-json.ts';
import type { DenialCode } from './profile/denial-codes.ts';
import type { Digest } from './profile/digest.ts';
import { ZERO_DIGEST, digestJson, sha256Digest } from './profile/digest.ts';
import { toBase64Url, utf8Encode } from './profile/encoding.ts';
import type {
  ApprovalEnvelope,
  AuditRecord,
  ClientRequest,
  IdentityKey,
  PolicyQuestion,
  TrustedKey,
  UnsignedEnvelope,
  UnsignedRequest,
} from './profile/messages.ts';
import { DEFAULT_ACCEPTANCE_WINDOW_SEC, signEnvelope, signRequest } from './profile/messages.ts';
import { readRequest } from './profile/request-checks.ts';
import type { KeyPair } from './profile/signing.ts';
import { publicKeyToText, testKeyPair } from './profile/signing.ts';

/** The fixed test keys: two clients, a revoked key of alice's, the Control Plane and an impostor. */
export const TEST_KEYS = {
  alice: testKeyPair('alice'),
  bob: testKeyPair('bob'),
  aliceRevoked: testKeyPair('alice-revoked'),
  controlPlane: testKeyPair('control-plane'),
  /** signs well-formed envelopes that no system trusts */
  untrusted: testKeyPair('rogue-control-plane'),
} as const;

/** 2026-01-01T00:00:00Z: a fixed start keeps histories reproducible. */
export const HISTORY_START_MS: Millis = 1_767_225_600_000;
export const DEFAULT_ENVELOPE_TTL_SEC = 60;

export function identityKey(identity: string, key: KeyPair, state: IdentityKey['state'] = 'active'): IdentityKey {
  return { key_id: key.keyId, identity, public_key: publicKeyToText(key.publicKey), state };
}

export function trustedKey(key: KeyPair): TrustedKey {
  return { key_id: key.keyId, public_key: publicKeyToText(key.publicKey) };
}

export function defaultHistoryKeys(): HistoryKeys {
  return {
    identityKeys: [
      identityKey('alice', TEST_KEYS.alice),
      identityKey('bob', TEST_KEYS.bob),
      identityKey('alice', TEST_KEYS.aliceRevoked, 'revoked'),
    ],
    controlPlaneKeys: [trustedKey(TEST_KEYS.controlPlane)],
  };
}

/** An audit record before the chain fields are filled in. */
export type AuditDraft = Omit<AuditRecord, 'prev_hash' | 'record_hash'>;

/** Appends `draft` to a chain ending in `previous`, computing prev_hash and record_hash. */
export function chainRecord(draft: AuditDraft | { [key: string]: JsonValue }, previousHash: Digest): AuditRecord {
  const { prev_hash: _p, record_hash: _r, ...fields } = draft as { [key: string]: JsonValue };
  const linked = { ...fields, prev_hash: previousHash };
  return { ...linked, record_hash: digestJson(linked) } as unknown as AuditRecord;
}

/** Recomputes every prev_hash and record_hash, as a writer that owns the log would. */
export function rechainAudit(records: readonly JsonValue[], genesisPrevHash: Digest = ZERO_DIGEST): AuditRecord[] {
  const chained: AuditRecord[] = [];
  let previous = genesisPrevHash;
  for (const record of records) {
    const next = chainRecord(record as { [key: string]: JsonValue }, previous);
    chained.push(next);
    previous = next.record_hash;
  }
  return chained;
}

/** What the builder returns for a request it sent. */
export interface SentRequest {
  op: number;
  eventIndex: number;
  bytes: Uint8Array;
  requestHash: Digest;
  /** the request as signed, when the body was one */
  request: ClientRequest | undefined;
}

export interface ExecutedRequest {
  sent: SentRequest;
  request: ClientRequest;
  envelope: ApprovalEnvelope;
  traceId: string;
  policyIndex: number;
  effectIndex: number;
  responseIndex: number;
}

export interface BuilderOptions {
  startMs?: Millis;
  config?: Partial<HistoryConfig>;
  keys?: HistoryKeys;
}

type BodyInput = ClientRequest | JsonValue | Uint8Array;

export class HistoryBuilder {
  readonly config: HistoryConfig;
  readonly keys: HistoryKeys;
  readonly events: HistoryEvent[] = [];
  readonly audit: JsonValue[] = [];
  auditExported = true;
  now: Millis;
  private counter = 0;
  private nextOp = 1;

  constructor(options: BuilderOptions = {}) {
    this.now = options.startMs ?? HISTORY_START_MS;
    this.config = {
      acceptanceWindowSec: DEFAULT_ACCEPTANCE_WINDOW_SEC,
      replayWindowSec: 2 * DEFAULT_ACCEPTANCE_WINDOW_SEC,
      ...options.config,
    };
    this.keys = options.keys ?? defaultHistoryKeys();
  }

  get nowSec(): number {
    return Math.floor(this.now / 1000);
  }

  /** Moves the harness clock forward. */
  tick(ms = 10): this {
    this.now += ms;
    return this;
  }

  private unique(prefix: string): string {
    this.counter++;
    return `${prefix}-${String(this.counter).padStart(4, '0')}`;
  }

  freshNonce(): string {
    return this.unique('nonce-builder-000').replace(/[^A-Za-z0-9_-]/g, '');
  }

  private push(event: HistoryEvent): number {
    this.events.push(event);
    return this.events.length - 1;
  }

  // ------------------------------------------------------------ requests and responses

  /** A request signed by `signWith` (default: the key of the identity alice or bob). */
  request(fields: Partial<UnsignedRequest> = {}, signWith?: KeyPair): ClientRequest {
    const identity = fields.identity ?? 'alice';
    const key = signWith ?? (identity === 'bob' ? TEST_KEYS.bob : TEST_KEYS.alice);
    const unsigned: UnsignedRequest = {
      request_id: fields.request_id ?? this.unique('req'),
      identity,
      action: fields.action ?? 'payments.transfer',
      parameters: fields.parameters ?? { to: 'bob', amount: 10, memo: { tags: ['rent', 'march'] } },
      timestamp: fields.timestamp ?? this.nowSec,
      nonce: fields.nonce ?? this.freshNonce(),
      key_id: fields.key_id ?? key.keyId,
    };
    return signRequest(unsigned, key);
  }

  /** Records that these bytes were sent to the Gate. JSON values are sent in canonical form. */
  send(body: BodyInput | string): SentRequest {
    const bytes = body instanceof Uint8Array ? body : typeof body === 'string' ? utf8Encode(body) : canonicalBytes(body);
    const op = this.nextOp++;
    const eventIndex = this.push({ kind: 'request', op, at: this.now, body: toBase64Url(bytes) });
    const parsed = readRequest(bytes);
    return { op, eventIndex, bytes, requestHash: sha256Digest(bytes), request: parsed.ok ? parsed.request : undefined };
  }

  /** The same bytes again, as a new op. */
  resend(sent: SentRequest): SentRequest {
    return this.send(sent.bytes);
  }

  respond(
    sent: SentRequest,
    status: GateResponse['status'],
    extra: { code?: DenialCode | string; trace_id?: string; request_id?: string } = {},
  ): number {
    const response: GateResponse = { kind: 'response', op: sent.op, at: this.now, status };
    if (extra.code !== undefined) response.code = extra.code;
    if (extra.trace_id !== undefined) response.trace_id = extra.trace_id;
    const requestId = extra.request_id ?? sent.request?.request_id;
    if (requestId !== undefined) response.request_id = requestId;
    return this.push(response);
  }

  traceId(): string {
    return this.unique('trace');
  }

  // ------------------------------------------------------------ Control Plane

  question(request: ClientRequest): PolicyQuestion {
    return {
      request_id: request.request_id,
      identity: request.identity,
      action: request.action,
      parameters: request.parameters,
      parameters_digest: digestJson(request.parameters),
    };
  }

  /** An envelope bound to `request`, valid from now for DEFAULT_ENVELOPE_TTL_SEC, signed by `key`. */
  envelopeFor(request: ClientRequest, overrides: Partial<UnsignedEnvelope> = {}, key: KeyPair = TEST_KEYS.controlPlane): ApprovalEnvelope {
    const unsigned: UnsignedEnvelope = {
      approval_id: this.unique('appr'),
      request_id: request.request_id,
      identity: request.identity,
      action: request.action,
      parameters_digest: digestJson(request.parameters),
      issued_at: this.nowSec,
      expires_at: this.nowSec + DEFAULT_ENVELOPE_TTL_SEC,
      key_id: key.keyId,
      ...overrides,
    };
    return signEnvelope(unsigned, key);
  }

  /** The Gate asked about `request` (or sent this exact question) and got `answer`. */
  policy(about: ClientRequest | JsonValue, answer: PolicyAnswer): number {
    const question = isClientRequest(about) ? this.question(about) : about;
    return this.push({ kind: 'policy', at: this.now, question: question as unknown as JsonValue, answer });
  }

  /** A trusted allow for `request` (or an allow of the given envelope). */
  allow(request: ClientRequest, envelope: ApprovalEnvelope = this.envelopeFor(request)): { envelope: ApprovalEnvelope; eventIndex: number } {
    return { envelope, eventIndex: this.policy(request, { kind: 'allow', envelope: envelope as unknown as JsonValue }) };
  }

  // ------------------------------------------------------------ Execution Layer

  /** The Gate's call to the Execution Layer under `envelope`, as the harness saw it pass. */
  executionCall(request: Pick<ClientRequest, 'request_id'>, envelope: Pick<ApprovalEnvelope, 'approval_id'>, delivery: ExecutionCallSeen['delivery'] = 'now'): number {
    return this.push({ kind: 'execution-call', at: this.now, approval_id: envelope.approval_id, request_id: request.request_id, delivery });
  }

  effect(fields: Omit<Effect, 'kind' | 'at' | 'effect_id'> & { effect_id?: string }): number {
    return this.push({ kind: 'effect', at: this.now, ...fields, effect_id: fields.effect_id ?? this.unique('effect') });
  }

  /** The effect of executing `request` under `envelope`, exactly as approved. */
  effectOf(request: ClientRequest, envelope: ApprovalEnvelope, overrides: Partial<Omit<Effect, 'kind' | 'at'>> = {}): number {
    return this.effect({
      approval_id: envelope.approval_id,
      request_id: request.request_id,
      identity: request.identity,
      action: request.action,
      parameters: request.parameters,
      ...overrides,
    });
  }

  directCall(fields: Omit<DirectCall, 'kind' | 'at' | 'op'>): number {
    return this.push({ kind: 'direct-call', op: this.nextOp++, at: this.now, ...fields });
  }

  // ------------------------------------------------------------ faults

  /** Starts a fault now; heal it with `heal`, or leave it active (until null). */
  fault(fault: FaultKind, detail?: string): FaultSpan {
    const span: FaultSpan = { kind: 'fault', at: this.now, until: null, fault };
    if (detail !== undefined) span.detail = detail;
    this.push(span);
    return span;
  }

  heal(span: FaultSpan): this {
    span.until = this.now;
    span.untilIndex = this.events.length;
    return this;
  }

  // ------------------------------------------------------------ audit

  /** Appends a record to the audit chain, filling record_id, timestamp and the chain fields. */
  appendAudit(draft: Omit<AuditDraft, 'record_id' | 'timestamp_ms'> & Partial<Pick<AuditDraft, 'record_id' | 'timestamp_ms'>>): AuditRecord {
    const last = this.audit[this.audit.length - 1] as { record_hash?: Digest } | undefined;
    const record = chainRecord(
      { record_id: this.unique('rec'), timestamp_ms: this.now, ...draft } as AuditDraft,
      last?.record_hash ?? ZERO_DIGEST,
    );
    this.audit.push(record as unknown as JsonValue);
    return record;
  }

  /** The attribution fields of a record for these bytes: identity, hashes, request id, action. */
  attribution(sent: SentRequest): Pick<AuditDraft, 'identity' | 'request_hash' | 'data_hash'> & Partial<Pick<AuditDraft, 'request_id' | 'action'>> {
    const request = sent.request;
    if (!request) return { identity: 'unknown', request_hash: sent.requestHash, data_hash: sha256Digest('') };
    return {
      identity: request.identity,
      request_hash: sent.requestHash,
      data_hash: digestJson(request.parameters),
      request_id: request.request_id,
      action: request.action,
    };
  }

  auditDenial(sent: SentRequest, code: DenialCode, traceId: string): AuditRecord {
    return this.appendAudit({ ...this.attribution(sent), decision: 'deny', stage: 'final', trace_id: traceId, code });
  }

  auditIntent(sent: SentRequest, approvalId: string, traceId: string): AuditRecord {
    return this.appendAudit({ ...this.attribution(sent), decision: 'allow', stage: 'intent', trace_id: traceId, approval_id: approvalId });
  }

  auditOutcome(sent: SentRequest, approvalId: string, traceId: string, outcome: AuditRecord['outcome'] = 'executed'): AuditRecord {
    return this.appendAudit({
      ...this.attribution(sent),
      decision: 'allow',
      stage: 'final',
      trace_id: traceId,
      approval_id: approvalId,
      ...(outcome === undefined ? {} : { outcome }),
    });
  }

  // ------------------------------------------------------------ whole requests, done right

  /** Sent, allowed, intent audited, executed exactly as approved, audited, reported executed. */
  executeRequest(request: ClientRequest = this.request()): ExecutedRequest {
    const traceId = this.traceId();
    const sent = this.send(request);
    this.tick();
    const { envelope, eventIndex: policyIndex } = this.allow(request);
    this.auditIntent(sent, envelope.approval_id, traceId);
    this.tick();
    const effectIndex = this.effectOf(request, envelope);
    this.auditOutcome(sent, envelope.approval_id, traceId);
    this.tick();
    const responseIndex = this.respond(sent, 'executed', { trace_id: traceId });
    this.tick();
    return { sent, request, envelope, traceId, policyIndex, effectIndex, responseIndex };
  }

  /** Sent, asked, denied by policy, audited, reported denied. */
  denyByPolicy(request: ClientRequest = this.request()): { sent: SentRequest; traceId: string } {
    const traceId = this.traceId();
    const sent = this.send(request);
    this.tick();
    this.policy(request, { kind: 'deny' });
    this.auditDenial(sent, 'POLICY_DENIED', traceId);
    this.respond(sent, 'denied', { code: 'POLICY_DENIED', trace_id: traceId });
    this.tick();
    return { sent, traceId };
  }

  /** Sent, the Control Plane gave `answer`, denied with `code`, audited. */
  denyAfterPolicy(request: ClientRequest, answer: PolicyAnswer, code: DenialCode): { sent: SentRequest; traceId: string; policyIndex: number } {
    const traceId = this.traceId();
    const sent = this.send(request);
    this.tick();
    const policyIndex = this.policy(request, answer);
    this.auditDenial(sent, code, traceId);
    this.respond(sent, 'denied', { code, trace_id: traceId });
    this.tick();
    return { sent, traceId, policyIndex };
  }

  /** Sent and denied by the Gate's own checks, before the Control Plane is asked. */
  denyAtGate(body: BodyInput | string | SentRequest, code: DenialCode): { sent: SentRequest; traceId: string; responseIndex: number } {
    const traceId = this.traceId();
    const sent = isSentRequest(body) ? this.resend(body) : this.send(body);
    this.tick();
    this.auditDenial(sent, code, traceId);
    const responseIndex = this.respond(sent, 'denied', { code, trace_id: traceId });
    this.tick();
    return { sent, traceId, responseIndex };
  }

  build(): History {
    return structuredClone({
      config: this.config,
      keys: this.keys,
      events: this.events,
      audit: this.audit,
      auditExported: this.auditExported,
    });
  }
}

function isClientRequest(value: unknown): value is ClientRequest {
  return typeof value === 'object' && value !== null && 'signature' in value && 'nonce' in value;
}

function isSentRequest(value: unknown): value is SentRequest {
  return typeof value === 'object' && value !== null && 'requestHash' in value && 'bytes' in value;
}

/** Handles into the compliant traffic, for tests that add one wrong thing to it. */
export interface CompliantTraffic {
  executed: ExecutedRequest;
  policyDenied: { sent: SentRequest; traceId: string };
  malformed: { sent: SentRequest; traceId: string };
  replay: { sent: SentRequest; traceId: string };
  revokedKey: { sent: SentRequest; traceId: string };
  controlPlaneDown: { sent: SentRequest; traceId: string; policyIndex: number };
  forgedAllow: { sent: SentRequest; traceId: string; policyIndex: number };
  directCallIndex: number;
}

/**
 * Traffic a compliant system would produce: an executed request, a policy denial, a malformed
 * body, a replay of the executed bytes, a revoked key, a Control Plane outage, a forged allow and
 * a direct call without an envelope — each denied and audited as the profile says.
 */
export function addCompliantTraffic(b: HistoryBuilder): CompliantTraffic {
  const executed = b.executeRequest(
    b.request({ parameters: { to: 'bob', amount: 10, memo: { tags: ['rent', 'march'], nested: { a: 1, b: [1, 2] } } } }),
  );
  const policyDenied = b.denyByPolicy(b.request({ identity: 'bob', action: 'payments.refund', parameters: { order: 'o-17' } }));
  const malformed = b.denyAtGate('{"request_id": "broken", "identity": "alice"', 'REQUEST_MALFORMED');
  const replay = b.denyAtGate(executed.sent, 'REPLAY_DETECTED');
  const revokedKey = b.denyAtGate(b.request({ parameters: { to: 'carol', amount: 1 } }, TEST_KEYS.aliceRevoked), 'KEY_REVOKED');

  const outage = b.fault('control-plane-down');
  const controlPlaneDown = b.denyAfterPolicy(
    b.request({ parameters: { to: 'dave', amount: 2 } }),
    { kind: 'no-answer', reason: 'outage' },
    'CONTROL_PLANE_UNAVAILABLE',
  );
  b.heal(outage);

  const forgedRequest = b.request({ parameters: { to: 'erin', amount: 3 } });
  const forgedEnvelope = b.envelopeFor(forgedRequest, {}, TEST_KEYS.untrusted);
  const forgedAllow = b.denyAfterPolicy(
    forgedRequest,
    { kind: 'allow', envelope: forgedEnvelope as unknown as JsonValue },
    'ENVELOPE_SIGNATURE_INVALID',
  );

  const directCallIndex = b.directCall({
    identity: 'alice',
    action: 'payments.transfer',
    parameters: { to: 'mallory', amount: 1000 },
    status: 'denied',
    code: 'ENVELOPE_MISSING',
  });
  b.tick();
  return { executed, policyDenied, malformed, replay, revokedKey, controlPlaneDown, forgedAllow, directCallIndex };
}
