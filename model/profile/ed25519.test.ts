/**
 * The fast Ed25519 (OpenSSL where it agrees) against the profile's strict oracle (@noble/curves,
 * zip215 off), on every input we can think of: Wycheproof's published cases, random honest
 * signatures and their mutations, and crafted edge cases — non-canonical S, R and A, small-order
 * and mixed-order keys, and signatures whose R carries a torsion component (valid only under the
 * cofactored equation the oracle checks, never under OpenSSL's cofactorless one).
 */
import { readFileSync } from 'node:fs';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signEd25519, verifyEd25519, verifyStrictOracle } from './ed25519.ts';

const Point = ed25519.Point;
const L = Point.Fn.ORDER;
const P = Point.Fp.ORDER;
const hexBytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));
const le = (n: bigint, length = 32) => {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
};
const fromLe = (bytes: Uint8Array) => bytes.reduceRight((n, b) => (n << 8n) | BigInt(b), 0n);
const mod = (n: bigint, m: bigint) => ((n % m) + m) % m;

/** Both verifiers on one input; the oracle's verdict. */
function agree(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  const oracle = verifyStrictOracle(signature, message, publicKey);
  expect(verifyEd25519(signature, message, publicKey), `fast verifier disagrees with the strict oracle (oracle: ${oracle})`).toBe(oracle);
  return oracle;
}

/** The eight points of small order: the torsion a crafted key or R can carry. */
const TORSION = (() => {
  const found = new Map<string, InstanceType<typeof Point>>();
  // Multiply random points by L: what is left lies in the small-order subgroup.
  for (let i = 1; found.size < 8 && i < 200; i++) {
    let candidate;
    try {
      candidate = Point.fromBytes(sha512(Uint8Array.of(i)).slice(0, 32), false);
    } catch {
      continue;
    }
    const t = candidate.multiplyUnsafe(L - 1n).add(candidate); // [L]P
    found.set(Buffer.from(t.toBytes()).toString('hex'), t);
  }
  return [...found.values()];
})();

/** A signature (R, S) on `message` under secret scalar `a` with R = rB + T: cofactored-valid, cofactorless-invalid when T ≠ 0. */
function torsionSignature(seed: Uint8Array, message: Uint8Array, torsion: InstanceType<typeof Point>, keyTorsion?: InstanceType<typeof Point>) {
  const { scalar } = ed25519.utils.getExtendedPublicKey(seed);
  const A = Point.BASE.multiply(scalar).add(keyTorsion ?? Point.ZERO);
  const publicKey = A.toBytes();
  const r = mod(fromLe(sha512(Uint8Array.of(...seed, ...message))), L) || 1n;
  const R = Point.BASE.multiply(r).add(torsion);
  const k = mod(fromLe(sha512(Uint8Array.of(...R.toBytes(), ...publicKey, ...message))), L);
  const S = mod(r + k * scalar, L);
  return { signature: Uint8Array.of(...R.toBytes(), ...le(S)), publicKey };
}

describe('Ed25519: node:crypto where it agrees, the strict verifier where it decides', () => {
  it('signs byte for byte as @noble/curves does (Ed25519 signing is deterministic)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 300 }), (seed, message) => {
        expect(Buffer.from(signEd25519(message, seed))).toEqual(Buffer.from(ed25519.sign(message, seed)));
      }),
      { numRuns: 200 },
    );
  });

  it('gives every Wycheproof Ed25519 case its published verdict, as the strict oracle does', () => {
    const suite = JSON.parse(readFileSync(new URL('../../conformance/vectors/external/wycheproof/ed25519_test.json', import.meta.url), 'utf8')) as {
      testGroups: { publicKey: { pk: string }; tests: { tcId: number; msg: string; sig: string; result: 'valid' | 'invalid' }[] }[];
    };
    let cases = 0;
    for (const group of suite.testGroups) {
      const publicKey = hexBytes(group.publicKey.pk);
      for (const test of group.tests) {
        const signature = hexBytes(test.sig);
        cases += 1;
        if (signature.length !== 64 || publicKey.length !== 32) {
          expect(test.result, `case ${test.tcId}`).toBe('invalid'); // the caller's length check refuses it
          continue;
        }
        expect(agree(signature, hexBytes(test.msg), publicKey), `case ${test.tcId}`).toBe(test.result === 'valid');
      }
    }
    expect(cases).toBe(151);
  });

  it('agrees on random honest signatures and on every one-bit mutation of them', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 64 }), fc.nat({ max: 64 * 8 - 1 }), fc.nat({ max: 32 * 8 - 1 }), (seed, message, sigBit, keyBit) => {
        const publicKey = ed25519.getPublicKey(seed);
        const signature = signEd25519(message, seed);
        expect(agree(signature, message, publicKey)).toBe(true);
        const flipped = Uint8Array.from(signature);
        flipped[sigBit >> 3]! ^= 1 << (sigBit & 7);
        agree(flipped, message, publicKey);
        const otherKey = Uint8Array.from(publicKey);
        otherKey[keyBit >> 3]! ^= 1 << (keyBit & 7);
        agree(signature, message, otherKey);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses the malleated S + L and S = L, as the oracle does', () => {
    const seed = new Uint8Array(32).fill(7);
    const message = Uint8Array.of(1, 2, 3);
    const publicKey = ed25519.getPublicKey(seed);
    const signature = signEd25519(message, seed);
    const S = fromLe(signature.slice(32));
    for (const s of [S + L, L, L + 1n, (1n << 256n) - 1n]) {
      const malleated = Uint8Array.of(...signature.slice(0, 32), ...le(mod(s, 1n << 256n)));
      expect(agree(malleated, message, publicKey)).toBe(false);
    }
  });

  it('refuses non-canonical encodings of R and A, and small-order keys, as the oracle does', () => {
    const seed = new Uint8Array(32).fill(9);
    const message = Uint8Array.of(4, 5);
    const publicKey = ed25519.getPublicKey(seed);
    const signature = signEd25519(message, seed);
    // y ≥ p for A and R: the same point written the long way.
    for (const y of [P, P + 1n, P + 2n, (1n << 255n) - 1n]) {
      agree(signature, message, le(y));
      agree(Uint8Array.of(...le(y), ...signature.slice(32)), message, publicKey);
    }
    // x = 0 with the sign bit set: no such encoding in strict decoding.
    const negativeZero = le(1n | (1n << 255n));
    expect(agree(signature, message, negativeZero)).toBe(false);
    // Every small-order key, with R = identity and S = 0 (OpenSSL accepts those; the profile does not).
    const identity = Point.ZERO.toBytes();
    expect(TORSION.length).toBe(8);
    for (const t of TORSION) expect(agree(Uint8Array.of(...identity, ...new Uint8Array(32)), message, t.toBytes())).toBe(false);
  });

  it('accepts, as the oracle does, what only the cofactored equation accepts: R or A with a torsion component', () => {
    const message = Uint8Array.of(42);
    let acceptedOnlyByOracle = 0;
    for (const [i, t] of TORSION.entries()) {
      const seed = new Uint8Array(32).fill(i + 1);
      const onR = torsionSignature(seed, message, t);
      if (agree(onR.signature, message, onR.publicKey) && !t.equals(Point.ZERO)) acceptedOnlyByOracle += 1;
      const mixed = torsionSignature(seed, message, Point.ZERO, t);
      agree(mixed.signature, message, mixed.publicKey);
    }
    // The fallback is really taken: seven torsion points make seven signatures OpenSSL alone refuses.
    expect(acceptedOnlyByOracle).toBe(7);
  });
});
