import { ed25519 } from '@noble/curves/ed25519.js';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalBytes } from './canonical-json.ts';
import { fromBase64Url, fromHex, toBase64Url, toHex } from './encoding.ts';
import {
  generateKeyPair,
  isKeyId,
  keyPairFromSeed,
  publicKeyFromText,
  publicKeyToText,
  signCanonical,
  testKeyPair,
  verifyCanonical,
} from './signing.ts';

const alice = testKeyPair('alice');
const bob = testKeyPair('bob');
const fields = { request_id: 'r-1', parameters: { amount: 10, to: 'x' }, timestamp: 1767225600 };

describe('keys', () => {
  it('derives RFC 8032 §7.1 TEST 1 from its seed', () => {
    const pair = keyPairFromSeed('ed25519/rfc8032-test1', fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60')!);
    expect(toHex(pair.publicKey)).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    expect(toHex(ed25519.sign(new Uint8Array(0), pair.secretKey))).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
  });

  it('test keys are fixed: seed = sha256("failclosed test key " + name)', () => {
    expect(alice.keyId).toBe('ed25519/alice');
    const independentSeed = createHash('sha256').update('failclosed test key alice', 'utf8').digest('hex');
    expect(toHex(alice.secretKey)).toBe(independentSeed);
    // Pinned: the published vectors depend on these exact keys.
    expect(independentSeed).toBe('c56c5e41a3beff37415e8c2b901b1f0b4aa55d286a2f78e6f64a930ab518cea5');
    expect(publicKeyToText(alice.publicKey)).toBe('T0yRb_1naCpC_9xKViadzMHGJaOF_kbpZKBG3OrhrDk');
    expect(publicKeyToText(bob.publicKey)).not.toBe(publicKeyToText(alice.publicKey));
  });

  it('generated keys are distinct and usable', () => {
    const a = generateKeyPair('ed25519/gen');
    const b = generateKeyPair('ed25519/gen');
    expect(toHex(a.secretKey)).not.toBe(toHex(b.secretKey));
    expect(verifyCanonical(fields, signCanonical(fields, a.secretKey), a.publicKey)).toBe(true);
  });

  it('refuses bad seeds and key ids', () => {
    expect(() => keyPairFromSeed('ed25519/x', new Uint8Array(31))).toThrow();
    expect(() => keyPairFromSeed('ed25519/x y' as 'ed25519/x', new Uint8Array(32))).toThrow();
    expect(() => testKeyPair('has space')).toThrow();
    expect(() => testKeyPair('')).toThrow();
  });

  it('isKeyId', () => {
    for (const good of ['ed25519/a', 'ed25519/cp-2026.01_x', `ed25519/${'k'.repeat(64)}`]) expect(isKeyId(good)).toBe(true);
    for (const bad of ['ed25519/', 'ed25519/a/b', 'ed25519/a b', 'rsa/a', `ed25519/${'k'.repeat(65)}`, 'ED25519/a', 7, undefined]) {
      expect(isKeyId(bad)).toBe(false);
    }
  });

  it('public key text round-trips and is strict', () => {
    expect(publicKeyFromText(publicKeyToText(alice.publicKey))).toEqual(alice.publicKey);
    expect(publicKeyToText(alice.publicKey)).toHaveLength(43);
    expect(publicKeyFromText(toBase64Url(new Uint8Array(31)))).toBeUndefined();
    expect(publicKeyFromText(publicKeyToText(alice.publicKey) + '=')).toBeUndefined();
  });
});

describe('signCanonical / verifyCanonical', () => {
  it('signs the canonical bytes: 86 characters of base64url, deterministic, order-independent', () => {
    const signature = signCanonical(fields, alice.secretKey);
    expect(signature).toMatch(/^[A-Za-z0-9_-]{86}$/);
    expect(signCanonical({ timestamp: fields.timestamp, parameters: { to: 'x', amount: 10 }, request_id: 'r-1' }, alice.secretKey)).toBe(signature);
    expect(ed25519.verify(fromBase64Url(signature)!, canonicalBytes(fields), alice.publicKey)).toBe(true);
    expect(verifyCanonical(fields, signature, alice.publicKey)).toBe(true);
  });

  it('fails with the wrong key', () => {
    expect(verifyCanonical(fields, signCanonical(fields, bob.secretKey), alice.publicKey)).toBe(false);
  });

  it('any single byte change of the signed bytes breaks verification', () => {
    const message = canonicalBytes(fields);
    const signature = fromBase64Url(signCanonical(fields, alice.secretKey))!;
    fc.assert(
      fc.property(fc.nat({ max: message.length - 1 }), fc.integer({ min: 1, max: 255 }), (index, delta) => {
        const tampered = Uint8Array.from(message);
        tampered[index] = (tampered[index]! + delta) & 0xff;
        expect(ed25519.verify(signature, tampered, alice.publicKey, { zip215: false })).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('any single byte change of the signature breaks verification', () => {
    const signature = fromBase64Url(signCanonical(fields, alice.secretKey))!;
    fc.assert(
      fc.property(fc.nat({ max: 63 }), fc.integer({ min: 1, max: 255 }), (index, delta) => {
        const tampered = Uint8Array.from(signature);
        tampered[index] = (tampered[index]! + delta) & 0xff;
        expect(verifyCanonical(fields, toBase64Url(tampered), alice.publicKey)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('any change of a signed field value breaks verification', () => {
    const signature = signCanonical(fields, alice.secretKey);
    fc.assert(
      fc.property(fc.jsonValue(), (replacement) => {
        fc.pre(JSON.stringify(replacement) !== JSON.stringify(fields.parameters));
        expect(verifyCanonical({ ...fields, parameters: replacement }, signature, alice.publicKey)).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it('never throws: bad base64, wrong lengths, non-canonical fields, bad keys ⇒ false', () => {
    const signature = signCanonical(fields, alice.secretKey);
    expect(verifyCanonical(fields, signature + '=', alice.publicKey)).toBe(false);
    expect(verifyCanonical(fields, signature.slice(0, -2), alice.publicKey)).toBe(false);
    expect(verifyCanonical(fields, signature + 'AA', alice.publicKey)).toBe(false);
    expect(verifyCanonical(fields, '', alice.publicKey)).toBe(false);
    expect(verifyCanonical(fields, 42 as unknown as string, alice.publicKey)).toBe(false);
    expect(verifyCanonical({ ...fields, bad: Number.NaN }, signature, alice.publicKey)).toBe(false);
    expect(verifyCanonical({ ...fields, bad: 'x\ud800' }, signature, alice.publicKey)).toBe(false);
    expect(verifyCanonical(fields, signature, alice.publicKey.subarray(0, 31))).toBe(false);
    expect(verifyCanonical(fields, signature, new Uint8Array(32).fill(0xff))).toBe(false);
    expect(verifyCanonical(fields, signature, 'key' as unknown as Uint8Array)).toBe(false);
  });

  it('is strict RFC 8032: a small-order or non-canonically encoded public key verifies nothing', () => {
    // With the identity point as key and R, and s = 0, the cofactored equation holds for every
    // message: lenient (ZIP-215) verifiers accept this "signature" on anything.
    const identity = new Uint8Array(32);
    identity[0] = 1;
    const identityNonCanonical = new Uint8Array(32).fill(0xff);
    identityNonCanonical[0] = 0xee;
    identityNonCanonical[31] = 0x7f; // y = p + 1
    const forged = toBase64Url(Uint8Array.from([...identity, ...new Uint8Array(32)]));
    for (const publicKey of [identity, identityNonCanonical]) {
      expect(ed25519.verify(fromBase64Url(forged)!, canonicalBytes(fields), publicKey, { zip215: true })).toBe(true);
      expect(verifyCanonical(fields, forged, publicKey)).toBe(false);
    }
  });

  it('round-trips for arbitrary JSON fields', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(verifyCanonical(value, signCanonical(value, bob.secretKey), bob.publicKey)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });
});
