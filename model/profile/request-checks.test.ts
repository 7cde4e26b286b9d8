import { describe, expect, it } from 'vitest';
import type { JsonValue } from './canonical-json.ts';
import { canonicalize } from './canonical-json.ts';
import { digestJson } from './digest.ts';
import { utf8Encode } from './encoding.ts';
import type { ApprovalEnvelope, ClientRequest, IdentityKey, TrustedKey, UnsignedEnvelope, UnsignedRequest } from './messages.ts';
import { signEnvelope, signRequest } from './messages.ts';
import { authenticateRequest, checkEnvelope, nonceKey, readRequest } from './request-checks.ts';
import type { KeyPair } from './signing.ts';
import { publicKeyToText, testKeyPair } from './signing.ts';

const NOW = 1_767_225_600;
const WINDOW = 300;

const alice = testKeyPair('alice');
const bob = testKeyPair('bob');
const carol = testKeyPair('carol');
const mallory = testKeyPair('mallory');
const controlPlane = testKeyPair('control-plane');
const rogue = testKeyPair('rogue-control-plane');

const registry: IdentityKey[] = [
  { key_id: alice.keyId, identity: 'alice', public_key: publicKeyToText(alice.publicKey), state: 'active' },
  { key_id: bob.keyId, identity: 'bob', public_key: publicKeyToText(bob.publicKey), state: 'active' },
  { key_id: carol.keyId, identity: 'carol', public_key: publicKeyToText(carol.publicKey), state: 'revoked' },
];
const trusted: TrustedKey[] = [{ key_id: controlPlane.keyId, public_key: publicKeyToText(controlPlane.publicKey) }];

function request(overrides: Partial<UnsignedRequest> = {}, signer: KeyPair = alice): ClientRequest {
  const unsigned: UnsignedRequest = {
    request_id: 'req-1',
    identity: 'alice',
    action: 'payments.transfer',
    parameters: { amount: 10, to: 'acct-42', memo: { lines: ['a', 'b'] } },
    timestamp: NOW,
    nonce: 'nonce-000000000001',
    key_id: alice.keyId,
    ...overrides,
  };
  return signRequest(unsigned, signer);
}

const authenticate = (req: ClientRequest, now = NOW) => authenticateRequest(req, registry, now, WINDOW);

describe('readRequest', () => {
  it('accepts a well-formed request given as text or bytes', () => {
    const body = canonicalize(request());
    expect(readRequest(body)).toEqual({ ok: true, request: request() });
    expect(readRequest(utf8Encode(body))).toEqual({ ok: true, request: request() });
  });

  it.each([
    ['not JSON', '{"request_id":'],
    ['duplicate key', canonicalize(request()).replace('{', '{"action":"x",')],
    ['invalid UTF-8', Uint8Array.of(0x7b, 0xff, 0x7d)],
    ['too deep', '['.repeat(65) + ']'.repeat(65)],
  ])('REQUEST_MALFORMED when the body is not strict JSON: %s', (_name, body) => {
    const result = readRequest(body);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.code).toBe('REQUEST_MALFORMED');
      expect(result.problems[0]?.message).toMatch(/not strict JSON/);
    }
  });

  it('honours custom limits', () => {
    const result = readRequest(canonicalize(request()), { maxBytes: 64 });
    expect(result.ok === false && result.problems[0]?.message).toMatch(/too-large/);
  });

  it('REQUEST_MALFORMED for a missing field, a wrong type or an extra field', () => {
    const { timestamp: _dropped, ...missing } = request();
    for (const value of [missing, { ...request(), timestamp: '1767225600' }, { ...request(), extra: 1 }, [request()]]) {
      const result = readRequest(JSON.stringify(value));
      expect(result.ok === false && result.code).toBe('REQUEST_MALFORMED');
    }
  });

  it('NONCE_MALFORMED for a nonce outside the profile format', () => {
    for (const nonce of ['short', 'x'.repeat(129), 'has space in it!!', 'ünïcödé-nonce-0001']) {
      const result = readRequest(canonicalize(request({ nonce })));
      expect(result.ok === false && result.code).toBe('NONCE_MALFORMED');
    }
  });
});

describe('authenticateRequest', () => {
  it('accepts an authentic, fresh request', () => {
    expect(authenticate(request())).toEqual([]);
  });

  it('accepts parameters re-ordered after signing (the signature covers the canonical form)', () => {
    const signed = request();
    const reordered: ClientRequest = { ...signed, parameters: { memo: { lines: ['a', 'b'] }, to: 'acct-42', amount: 10 } };
    expect(authenticate(reordered)).toEqual([]);
  });

  it('SIGNATURE_INVALID when a nested parameter changes after signing', () => {
    const signed = request();
    expect(authenticate({ ...signed, parameters: { amount: 10, to: 'acct-42', memo: { lines: ['a', 'c'] } } })).toEqual(['SIGNATURE_INVALID']);
  });

  it('SIGNATURE_INVALID when any signed field changes, request_id included', () => {
    const signed = request();
    for (const tampered of [
      { ...signed, request_id: 'req-2' },
      { ...signed, action: 'payments.refund' },
      { ...signed, nonce: 'nonce-000000000002' },
      { ...signed, timestamp: NOW + 1 },
    ]) {
      expect(authenticate(tampered)).toEqual(['SIGNATURE_INVALID']);
    }
  });

  it('SIGNATURE_INVALID when signed by another key than key_id names', () => {
    expect(authenticate(request({}, bob))).toEqual(['SIGNATURE_INVALID']);
  });

  it('KEY_UNKNOWN for an unregistered key, without checking the signature', () => {
    expect(authenticate(request({ key_id: mallory.keyId }, mallory))).toEqual(['KEY_UNKNOWN']);
    expect(authenticate(request({ key_id: mallory.keyId }, alice))).toEqual(['KEY_UNKNOWN']);
  });

  it("KEY_UNKNOWN for another identity's key, even with a good signature", () => {
    expect(authenticate(request({ key_id: bob.keyId }, bob))).toEqual(['KEY_UNKNOWN']);
  });

  it('KEY_UNKNOWN when the registry lists the key for two identities (ambiguous ⇒ fail closed)', () => {
    const ambiguous = [...registry, { ...registry[0]!, identity: 'bob' }];
    expect(authenticateRequest(request(), ambiguous, NOW, WINDOW)).toEqual(['KEY_UNKNOWN']);
  });

  it('conflicting registry entries for one key fail closed', () => {
    const aliceEntry = registry[0]!;
    const otherPublicKey = [...registry, { ...aliceEntry, public_key: publicKeyToText(bob.publicKey) }];
    expect(authenticateRequest(request(), otherPublicKey, NOW, WINDOW)).toEqual(['SIGNATURE_INVALID']);
    const alsoRevoked = [...registry, { ...aliceEntry, state: 'revoked' as const }];
    expect(authenticateRequest(request(), alsoRevoked, NOW, WINDOW)).toEqual(['KEY_REVOKED']);
  });

  it('KEY_REVOKED for a revoked key, and the signature is still checked', () => {
    const carolRequest = (signer: KeyPair) => request({ identity: 'carol', key_id: carol.keyId }, signer);
    expect(authenticate(carolRequest(carol))).toEqual(['KEY_REVOKED']);
    expect(authenticate(carolRequest(alice))).toEqual(['KEY_REVOKED', 'SIGNATURE_INVALID']);
  });

  it('SIGNATURE_INVALID when the registered public key is malformed', () => {
    const broken = registry.map((key) => (key.key_id === alice.keyId ? { ...key, public_key: 'not-a-key' } : key));
    expect(authenticateRequest(request(), broken, NOW, WINDOW)).toEqual(['SIGNATURE_INVALID']);
  });

  it('accepts timestamps exactly at now ± window and rejects one second beyond', () => {
    expect(authenticate(request({ timestamp: NOW - WINDOW }))).toEqual([]);
    expect(authenticate(request({ timestamp: NOW + WINDOW }))).toEqual([]);
    expect(authenticate(request({ timestamp: NOW - WINDOW - 1 }))).toEqual(['TIMESTAMP_STALE']);
    expect(authenticate(request({ timestamp: NOW + WINDOW + 1 }))).toEqual(['TIMESTAMP_FUTURE']);
    // the same request seen from a clock on the other side of the window
    expect(authenticate(request(), NOW + WINDOW + 1)).toEqual(['TIMESTAMP_STALE']);
  });

  it('reports every failing check, in a fixed order', () => {
    const carolStale = request({ identity: 'carol', key_id: carol.keyId, timestamp: NOW - 1000 }, bob);
    expect(authenticate(carolStale)).toEqual(['KEY_REVOKED', 'SIGNATURE_INVALID', 'TIMESTAMP_STALE']);
    expect(authenticate(request({ key_id: mallory.keyId, timestamp: NOW + 1000 }, mallory))).toEqual(['KEY_UNKNOWN', 'TIMESTAMP_FUTURE']);
  });
});

describe('checkEnvelope', () => {
  const parameters: JsonValue = { amount: 10, to: 'acct-42', memo: { lines: ['a', 'b'] } };
  const bound = { request_id: 'req-1', identity: 'alice', action: 'payments.transfer', parameters };

  function envelope(overrides: Partial<UnsignedEnvelope> = {}, signer: KeyPair = controlPlane): ApprovalEnvelope {
    return signEnvelope(
      {
        approval_id: 'apr-1',
        request_id: 'req-1',
        identity: 'alice',
        action: 'payments.transfer',
        parameters_digest: digestJson(parameters),
        issued_at: NOW - 10,
        expires_at: NOW + 60,
        key_id: controlPlane.keyId,
        ...overrides,
      },
      signer,
    );
  }
  const check = (value: unknown, boundTo = bound, now = NOW) => checkEnvelope(value, boundTo, trusted, now);

  it('accepts a valid envelope', () => {
    expect(check(envelope())).toEqual([]);
  });

  it('ENVELOPE_MISSING for no envelope', () => {
    expect(check(undefined)).toEqual(['ENVELOPE_MISSING']);
    expect(check(null)).toEqual(['ENVELOPE_MISSING']);
  });

  it('ENVELOPE_SIGNATURE_INVALID for a malformed envelope', () => {
    const { signature: _dropped, ...unsigned } = envelope();
    for (const value of [unsigned, { ...envelope(), extra: 1 }, 'allow', {}, [envelope()]]) {
      expect(check(value)).toEqual(['ENVELOPE_SIGNATURE_INVALID']);
    }
  });

  it('ENVELOPE_SIGNATURE_INVALID for a tampered field, and nothing else is reported', () => {
    expect(check({ ...envelope(), expires_at: NOW + 3600 })).toEqual(['ENVELOPE_SIGNATURE_INVALID']);
    // expired and mis-bound too, but unsigned content is not worth reading
    expect(check({ ...envelope(), request_id: 'req-2', expires_at: NOW - 1 })).toEqual(['ENVELOPE_SIGNATURE_INVALID']);
  });

  it('ENVELOPE_SIGNATURE_INVALID for an untrusted signer, whatever key_id it claims', () => {
    expect(check(envelope({ key_id: rogue.keyId }, rogue))).toEqual(['ENVELOPE_SIGNATURE_INVALID']);
    expect(check(envelope({}, rogue))).toEqual(['ENVELOPE_SIGNATURE_INVALID']);
    // a trusted identity key is not a Control Plane key
    expect(check(envelope({ key_id: alice.keyId }, alice))).toEqual(['ENVELOPE_SIGNATURE_INVALID']);
  });

  it('validity runs from issued_at inclusive to expires_at exclusive', () => {
    expect(check(envelope({ issued_at: NOW }))).toEqual([]);
    expect(check(envelope({ issued_at: NOW + 1 }))).toEqual(['ENVELOPE_NOT_YET_VALID']);
    expect(check(envelope({ expires_at: NOW + 1 }))).toEqual([]);
    expect(check(envelope({ expires_at: NOW }))).toEqual(['ENVELOPE_EXPIRED']);
    expect(check(envelope({ expires_at: NOW - 100 }))).toEqual(['ENVELOPE_EXPIRED']);
    expect(check(envelope({ issued_at: NOW + 5, expires_at: NOW }))).toEqual(['ENVELOPE_NOT_YET_VALID', 'ENVELOPE_EXPIRED']);
  });

  it('ENVELOPE_BINDING_MISMATCH for another request_id, identity, action or parameters', () => {
    expect(check(envelope({ request_id: 'req-2' }))).toEqual(['ENVELOPE_BINDING_MISMATCH']);
    expect(check(envelope({ identity: 'bob' }))).toEqual(['ENVELOPE_BINDING_MISMATCH']);
    expect(check(envelope({ action: 'payments.refund' }))).toEqual(['ENVELOPE_BINDING_MISMATCH']);
    expect(check(envelope({ parameters_digest: digestJson({ ...parameters, amount: 11 }) }))).toEqual(['ENVELOPE_BINDING_MISMATCH']);
    expect(check(envelope(), { ...bound, parameters: { amount: 10, to: 'acct-42', memo: { lines: ['b', 'a'] } } })).toEqual([
      'ENVELOPE_BINDING_MISMATCH',
    ]);
  });

  it('binds the canonical parameters: key order and number spelling do not matter', () => {
    expect(check(envelope(), { ...bound, parameters: { memo: { lines: ['a', 'b'] }, to: 'acct-42', amount: 10.0 } })).toEqual([]);
  });

  it('ENVELOPE_BINDING_MISMATCH when the presented parameters have no canonical form', () => {
    expect(check(envelope(), { ...bound, parameters: { amount: Number.NaN } })).toEqual(['ENVELOPE_BINDING_MISMATCH']);
  });

  it('reports every time and binding failure together', () => {
    expect(check(envelope({ expires_at: NOW, request_id: 'req-9' }))).toEqual(['ENVELOPE_EXPIRED', 'ENVELOPE_BINDING_MISMATCH']);
  });
});

describe('nonceKey', () => {
  it('scopes a nonce by identity and action, without ambiguity from separators', () => {
    expect(nonceKey('alice', 'pay', 'n')).toBe('["alice","pay","n"]');
    expect(nonceKey('alice', 'pay', 'n')).not.toBe(nonceKey('bob', 'pay', 'n'));
    expect(nonceKey('alice', 'pay', 'n')).not.toBe(nonceKey('alice', 'refund', 'n'));
    expect(nonceKey('a:b', 'c', 'n')).not.toBe(nonceKey('a', 'b:c', 'n'));
  });
});
