import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CanonicalJsonError } from './canonical-json.ts';
import { ZERO_DIGEST, digestJson, digestsEqual, isDigest, sha256Digest } from './digest.ts';
import { utf8Encode } from './encoding.ts';

describe('sha256Digest', () => {
  it('matches the FIPS 180-2 test vectors', () => {
    expect(sha256Digest('')).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Digest('abc')).toBe('sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('hashes a string as its UTF-8 bytes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(sha256Digest(text)).toBe(sha256Digest(utf8Encode(text)));
      }),
    );
  });
});

describe('digestJson', () => {
  it('hashes the canonical form, so spelling does not matter', () => {
    expect(digestJson({ b: [1.0, 'é'], a: null })).toBe(sha256Digest('{"a":null,"b":[1,"é"]}'));
    expect(digestJson({ a: 1, b: 2 })).toBe(digestJson({ b: 2, a: 1 }));
    expect(digestJson([1, 2])).not.toBe(digestJson([2, 1]));
  });

  it('refuses values without a canonical form', () => {
    expect(() => digestJson({ a: Number.NaN })).toThrow(CanonicalJsonError);
  });
});

describe('isDigest', () => {
  it('accepts exactly sha256: and 64 lowercase hex', () => {
    expect(isDigest(ZERO_DIGEST)).toBe(true);
    expect(ZERO_DIGEST).toBe(`sha256:${'0'.repeat(64)}`);
    expect(isDigest(sha256Digest('x'))).toBe(true);
    for (const bad of [
      `sha256:${'A'.repeat(64)}`,
      `sha256:${'0'.repeat(63)}`,
      `sha256:${'0'.repeat(65)}`,
      `SHA256:${'0'.repeat(64)}`,
      `sha512:${'0'.repeat(64)}`,
      '0'.repeat(64),
      `sha256:${'0'.repeat(64)}\n`,
      42,
      null,
    ]) {
      expect(isDigest(bad)).toBe(false);
    }
  });
});

describe('digestsEqual', () => {
  it('agrees with ===', () => {
    const nearDigests = fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 4 }), fc.uint8Array({ minLength: 1, maxLength: 4 }));
    fc.assert(
      fc.property(nearDigests, ([a, b]) => {
        const [x, y] = [sha256Digest(a), sha256Digest(b)];
        expect(digestsEqual(x, y)).toBe(x === y);
        expect(digestsEqual(x, x)).toBe(true);
      }),
    );
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(digestsEqual(a, b)).toBe(a === b);
      }),
    );
  });

  it('finds a difference in the last character and rejects different lengths', () => {
    const digest = sha256Digest('x');
    const lastFlipped = digest.slice(0, -1) + (digest.endsWith('0') ? '1' : '0');
    expect(digestsEqual(digest, lastFlipped)).toBe(false);
    expect(digestsEqual(digest, digest + '0')).toBe(false);
    expect(digestsEqual('', '')).toBe(true);
  });
});
