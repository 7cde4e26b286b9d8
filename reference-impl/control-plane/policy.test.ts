import { describe, expect, it } from 'vitest';
import { TEST_KEYS } from '../../model/history-builder.ts';
import { digestJson } from '../../model/profile/digest.ts';
import { verifyEnvelopeSignature } from '../../model/profile/messages.ts';
import { ControlPlane } from './control-plane.ts';
import { PolicyError, evaluatePolicy, parsePolicy } from './policy.ts';

const policy = parsePolicy(
  JSON.stringify({
    rules: [
      { identity: 'alice', action: 'payments.transfer', effect: 'allow', constraints: { amount: { max: 100 }, 'meta.currency': { oneOf: ['EUR', 'USD'] } } },
      { identity: '*', action: 'payments.refund', effect: 'allow' },
      { identity: 'mallory', action: '*', effect: 'deny' },
    ],
  }),
);

describe('policy evaluation', () => {
  it('allows only what a rule allows, with every constraint holding', () => {
    expect(evaluatePolicy(policy, 'alice', 'payments.transfer', { amount: 100, meta: { currency: 'EUR' } }).allowed).toBe(true);
    expect(evaluatePolicy(policy, 'alice', 'payments.transfer', { amount: 100.5, meta: { currency: 'EUR' } }).allowed).toBe(false);
    expect(evaluatePolicy(policy, 'alice', 'payments.transfer', { amount: 1, meta: { currency: 'GBP' } }).allowed).toBe(false);
    expect(evaluatePolicy(policy, 'alice', 'payments.transfer', { amount: '1', meta: { currency: 'EUR' } }).allowed).toBe(false);
    expect(evaluatePolicy(policy, 'alice', 'payments.transfer', { meta: { currency: 'EUR' } }).allowed).toBe(false);
    expect(evaluatePolicy(policy, 'bob', 'payments.transfer', { amount: 1, meta: { currency: 'EUR' } }).allowed).toBe(false);
  });

  it('denies by default and lets a deny rule win over an allow', () => {
    expect(evaluatePolicy(policy, 'bob', 'payments.refund', {}).allowed).toBe(true);
    expect(evaluatePolicy(policy, 'mallory', 'payments.refund', {}).allowed).toBe(false);
    expect(evaluatePolicy(policy, 'alice', 'unknown.action', {}).allowed).toBe(false);
    expect(evaluatePolicy({ rules: [] }, 'alice', 'payments.refund', {}).allowed).toBe(false);
  });

  it.each([
    ['not JSON', '{rules:'],
    ['no rules array', '{"rules":{}}'],
    ['an unknown rule field', '{"rules":[{"identity":"a","action":"b","effect":"allow","when":1}]}'],
    ['a bad effect', '{"rules":[{"identity":"a","action":"b","effect":"maybe"}]}'],
    ['an unknown constraint', '{"rules":[{"identity":"a","action":"b","effect":"allow","constraints":{"x":{"below":3}}}]}'],
    ['a duplicate key', '{"rules":[],"rules":[]}'],
  ])('refuses a policy with %s, saying where', (_name, text) => {
    expect(() => parsePolicy(text)).toThrow(PolicyError);
  });
});

describe('the Control Plane', () => {
  const controlPlane = new ControlPlane({ policy, signingKeys: [TEST_KEYS.controlPlane], envelopeTtlSec: 30 });
  const question = (parameters: unknown, digest = digestJson(parameters)) => ({
    request_id: 'req-1',
    identity: 'alice',
    action: 'payments.transfer',
    parameters,
    parameters_digest: digest,
  });

  it('issues a signed envelope bound to the request, identity, action and exact parameters', () => {
    const parameters = { amount: 5, meta: { currency: 'EUR' } };
    const answer = controlPlane.decide(question(parameters));
    expect(answer.decision).toBe('allow');
    if (answer.decision !== 'allow') return;
    const e = answer.envelope;
    expect(e).toMatchObject({ request_id: 'req-1', identity: 'alice', action: 'payments.transfer', parameters_digest: digestJson(parameters), key_id: TEST_KEYS.controlPlane.keyId });
    expect(e.expires_at - e.issued_at).toBe(30);
    expect(verifyEnvelopeSignature(e, TEST_KEYS.controlPlane.publicKey)).toBe(true);
  });

  it('denies a question whose digest does not match its parameters, or that is not a question', () => {
    expect(controlPlane.decide(question({ amount: 5, meta: { currency: 'EUR' } }, digestJson({ amount: 6 }))).decision).toBe('deny');
    expect(controlPlane.decide('allow me').decision).toBe('deny');
    expect(controlPlane.decide({ ...question({ amount: 5, meta: { currency: 'EUR' } }), identity: 'a b' }).decision).toBe('deny');
  });

  it('rotates keys: the new key signs, the old one stays published until retired', () => {
    const cp = new ControlPlane({ policy, signingKeys: [TEST_KEYS.controlPlane] });
    cp.rotate(TEST_KEYS.bob);
    expect(cp.publicKeys().map((k) => k.key_id)).toEqual([TEST_KEYS.bob.keyId, TEST_KEYS.controlPlane.keyId]);
    const answer = cp.decide(question({ amount: 5, meta: { currency: 'EUR' } }));
    expect(answer.decision === 'allow' && answer.envelope.key_id).toBe(TEST_KEYS.bob.keyId);
    cp.retire(TEST_KEYS.controlPlane.keyId);
    expect(cp.publicKeys()).toHaveLength(1);
    expect(() => cp.retire(TEST_KEYS.bob.keyId)).toThrow();
  });
});
