import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64Url, fromHex, toBase64Url, toHex, utf8DecodeStrict, utf8Encode } from './encoding.ts';

describe('base64url', () => {
  it('matches RFC 4648 test vectors, without padding and with the URL alphabet', () => {
    const cases: Array<[string, string]> = [
      ['', ''],
      ['f', 'Zg'],
      ['fo', 'Zm8'],
      ['foo', 'Zm9v'],
      ['foob', 'Zm9vYg'],
      ['fooba', 'Zm9vYmE'],
      ['foobar', 'Zm9vYmFy'],
    ];
    for (const [plain, encoded] of cases) {
      expect(toBase64Url(utf8Encode(plain))).toBe(encoded);
      expect(fromBase64Url(encoded)).toEqual(utf8Encode(plain));
    }
    expect(toBase64Url(Uint8Array.of(0xfb, 0xff, 0xbf))).toBe('-_-_');
  });

  it('agrees with Node Buffer and round-trips', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const text = toBase64Url(bytes);
        expect(text).toBe(Buffer.from(bytes).toString('base64url'));
        expect(fromBase64Url(text)).toEqual(bytes);
      }),
    );
  });

  it.each([
    ['padding', 'Zg=='],
    ['padding (one)', 'Zm8='],
    ['standard alphabet +', '+/+/'],
    ['whitespace', 'Zm9v Yg'],
    ['newline', 'Zm9v\n'],
    ['impossible length', 'Zm9vY'],
    ['single character', 'Z'],
    ['non-zero trailing bits (2 chars)', 'Zh'],
    ['non-zero trailing bits (3 chars)', 'Zm9'],
    ['non-ASCII', 'Zm9vé'],
  ])('rejects %s', (_name, text) => {
    expect(fromBase64Url(text)).toBeUndefined();
  });

  it('has exactly one accepted spelling per byte string', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_') }), (text) => {
        const bytes = fromBase64Url(text);
        if (bytes !== undefined) expect(toBase64Url(bytes)).toBe(text);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('UTF-8', () => {
  it('round-trips well-formed strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(utf8DecodeStrict(utf8Encode(text))).toBe(text);
      }),
    );
  });

  it('keeps a leading BOM instead of silently dropping it', () => {
    expect(utf8DecodeStrict(Uint8Array.of(0xef, 0xbb, 0xbf, 0x61))).toBe('\ufeffa');
  });

  it.each([
    ['lone continuation byte', '80'],
    ['invalid byte', 'ff'],
    ['overlong slash', 'c0af'],
    ['overlong three-byte', 'e08080'],
    ['encoded surrogate', 'eda080'],
    ['above U+10FFFF', 'f4908080'],
    ['truncated sequence', 'e282'],
  ])('rejects %s', (_name, hex) => {
    expect(utf8DecodeStrict(fromHex(hex)!)).toBeUndefined();
  });
});

describe('hex', () => {
  it('round-trips in lowercase', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const hex = toHex(bytes);
        expect(hex).toBe(Buffer.from(bytes).toString('hex'));
        expect(fromHex(hex)).toEqual(bytes);
      }),
    );
    expect(fromHex('CAFE')).toEqual(Uint8Array.of(0xca, 0xfe));
  });

  it.each([['odd length', 'abc'], ['non-hex', 'zz'], ['sign', '+1'], ['whitespace', 'ab cd'], ['prefix', '0xab']])(
    'rejects %s',
    (_name, text) => {
      expect(fromHex(text)).toBeUndefined();
    },
  );
});
