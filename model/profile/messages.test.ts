import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ZERO_DIGEST, digestJson } from './digest.ts';
import type { AuditRecord, UnsignedEnvelope, UnsignedRequest } from './messages.ts';
import {
  signEnvelope,
  signRequest,
  validateAuditRecord,
  validateControlPlaneAnswer,
  validateEnvelope,
  validateGatewayEvent,
  validateIdentityKey,
  validateRequest,
  verifyEnvelopeSignature,
  verifyRequestSignature,
} from './messages.ts';
import { publicKeyToText, testKeyPair } from './signing.ts';

const alice = testKeyPair('alice');
const controlPlane = testKeyPair('control-plane');

const unsignedRequest: UnsignedRequest = {
  request_id: 'req-1',
  identity: 'alice',
  action: 'payments.transfer',
  parameters: { to: 'bob', amount: 10 },
  timestamp: 1_767_225_600,
  nonce: 'nonce-0000000000000001',
  key_id: alice.keyId,
};
const request = signRequest(unsignedRequest, alice);

const unsignedEnvelope: UnsignedEnvelope = {
  approval_id: 'approval-1',
  request_id: 'req-1',
  identity: 'alice',
  action: 'payments.transfer',
  parameters_digest: digestJson({ to: 'bob', amount: 10 }),
  issued_at: 1_767_225_600,
  expires_at: 1_767_225_660,
  key_id: controlPlane.keyId,
};
const envelope = signEnvelope(unsignedEnvelope, controlPlane);

describe('client request', () => {
  it('accepts a signed request and verifies its signature over every field but the signature', () => {
    expect(validateRequest(request)).toEqual({ ok: true, value: request });
    expect(verifyRequestSignature(request, alice.publicKey)).toBe(true);
    expect(verifyRequestSignature({ ...request, request_id: 'req-2' }, alice.publicKey)).toBe(false);
    expect(verifyRequestSignature({ ...request, key_id: 'ed25519/other' }, alice.publicKey)).toBe(false);
  });

  it('reports every missing, extra or mistyped field as REQUEST_MALFORMED with its path', () => {
    const { timestamp: _t, ...missing } = request;
    const result = validateRequest({ ...missing, extra: 1, identity: 7 });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.code).toBe('REQUEST_MALFORMED');
    expect(result.problems.map((p) => p.path).sort()).toEqual(['$.extra', '$.identity', '$.timestamp']);
  });

  it.each([
    ['a float timestamp', { timestamp: 1.5 }],
    ['a negative timestamp', { timestamp: -1 }],
    ['a string timestamp', { timestamp: '1767225600' }],
    ['a key id without the ed25519/ prefix', { key_id: 'alice' }],
    ['a short signature', { signature: 'AAAA' }],
    ['a request id with spaces', { request_id: 'req 1' }],
  ])('rejects %s', (_name, change) => {
    expect(validateRequest({ ...request, ...change })).toMatchObject({ ok: false, code: 'REQUEST_MALFORMED' });
  });

  it('reports a malformed nonce with its own code', () => {
    expect(validateRequest({ ...request, nonce: 'short' })).toMatchObject({ ok: false, code: 'NONCE_MALFORMED' });
    expect(validateRequest({ ...request, nonce: 'x'.repeat(129) })).toMatchObject({ ok: false, code: 'NONCE_MALFORMED' });
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        const result = validateRequest(value);
        expect(typeof result.ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });
});

describe('approval envelope and Control Plane answer', () => {
  it('accepts a signed envelope and an allow carrying it, and a bare deny', () => {
    expect(validateEnvelope(envelope).ok).toBe(true);
    expect(verifyEnvelopeSignature(envelope, controlPlane.publicKey)).toBe(true);
    expect(verifyEnvelopeSignature({ ...envelope, expires_at: envelope.expires_at + 1 }, controlPlane.publicKey)).toBe(false);
    expect(validateControlPlaneAnswer({ decision: 'allow', envelope }).ok).toBe(true);
    expect(validateControlPlaneAnswer({ decision: 'deny', reason: 'policy' }).ok).toBe(true);
  });

  it('rejects an allow without an envelope, an unknown decision and a bad digest', () => {
    expect(validateControlPlaneAnswer({ decision: 'allow' }).ok).toBe(false);
    expect(validateControlPlaneAnswer({ decision: 'maybe' }).ok).toBe(false);
    expect(validateControlPlaneAnswer('allow').ok).toBe(false);
    expect(validateEnvelope({ ...envelope, parameters_digest: 'sha256:ABC' }).ok).toBe(false);
    expect(validateControlPlaneAnswer({ decision: 'allow', envelope: { ...envelope, signature: undefined } }).ok).toBe(false);
  });
});

describe('audit record and gateway event', () => {
  const base = {
    record_id: 'rec-1',
    timestamp_ms: 1_767_225_600_000,
    identity: 'alice',
    request_hash: digestJson('body'),
    trace_id: 'trace-1',
    data_hash: digestJson({ to: 'bob' }),
    prev_hash: ZERO_DIGEST,
    record_hash: digestJson('x'),
  };
  const denial = { ...base, decision: 'deny', stage: 'final', code: 'POLICY_DENIED' } as AuditRecord;
  const intent = { ...base, decision: 'allow', stage: 'intent', approval_id: 'approval-1' } as AuditRecord;
  const executed = { ...base, decision: 'allow', stage: 'final', approval_id: 'approval-1', outcome: 'executed' } as AuditRecord;

  it('accepts denial, intent and execution records', () => {
    for (const record of [denial, intent, executed]) expect(validateAuditRecord(record)).toEqual({ ok: true, value: record });
  });

  it.each([
    ['a denial without a code', { ...denial, code: undefined }],
    ['an unknown code', { ...denial, code: 'NOPE' }],
    ['an allow with a code', { ...executed, code: 'POLICY_DENIED' }],
    ['an execution record without approval id', { ...executed, approval_id: undefined }],
    ['a final execution record without outcome', { ...executed, outcome: undefined }],
    ['an intent record for a denial', { ...intent, decision: 'deny', code: 'POLICY_DENIED' }],
    ['a bare hex hash', { ...denial, prev_hash: '0'.repeat(64) }],
  ])('rejects %s', (_name, record) => {
    const cleaned = Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
    expect(validateAuditRecord(cleaned).ok).toBe(false);
  });

  it('validates gateway events and identity key entries', () => {
    expect(validateGatewayEvent({ request_id: 'req-1', trace_id: 'trace-1', event: 'accepted', timestamp_ms: 1 }).ok).toBe(true);
    expect(validateGatewayEvent({ request_id: 'req-1', trace_id: 'trace-1', event: 'started', timestamp_ms: 1 }).ok).toBe(false);
    const key = { key_id: alice.keyId, identity: 'alice', public_key: publicKeyToText(alice.publicKey), state: 'active' };
    expect(validateIdentityKey(key).ok).toBe(true);
    expect(validateIdentityKey({ ...key, state: 'suspended' }).ok).toBe(false);
    expect(validateIdentityKey({ ...key, public_key: 'AAAA' }).ok).toBe(false);
  });
});
