/**
 * The data generators and the byte spellings: every spelling reads back as the same value (same
 * canonical form), the canonical spelling is the canonical form, spellings shrink toward it, and
 * every generated value is one the profile accepts, within the contract's limits.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize, parseStrictJson } from '../../model/profile/canonical-json.ts';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { utf8Encode } from '../../model/profile/encoding.ts';
import { CANONICAL_SPELLING, FIXED_SPELLINGS, describeSpelling, isCanonicalSpelling, numberSpellings, spell, spellBytes, spellingArbitrary } from './json-spelling.ts';
import { EDGE_NUMBERS, EDGE_PARAMETERS, TRICKY_KEYS, generatedDataArbitrary, jsonDepth, jsonValueArbitrary, nestTo, objectOf } from './json-values.ts';

describe('byte spellings', () => {
  it('the canonical spelling is the RFC 8785 form', () => {
    fc.assert(fc.property(jsonValueArbitrary, (value) => spell(value, CANONICAL_SPELLING) === canonicalize(value)));
  });

  it('every spelling reads back, with the strict reader, as the same value', () => {
    fc.assert(
      fc.property(jsonValueArbitrary, spellingArbitrary(), (value, spelling) => {
        const text = spell(value, spelling);
        expect(canonicalize(parseStrictJson(utf8Encode(text)))).toBe(canonicalize(value));
      }),
      { numRuns: 500 },
    );
  });

  it('each fixed spelling of the edge value differs from the canonical bytes, and means the same', () => {
    const canonical = canonicalize(EDGE_PARAMETERS);
    const texts = FIXED_SPELLINGS.map((s) => spell(EDGE_PARAMETERS, s));
    for (const text of texts) {
      expect(text).not.toBe(canonical);
      expect(canonicalize(parseStrictJson(utf8Encode(text)))).toBe(canonical);
    }
    expect(new Set(texts).size).toBe(texts.length);
    // what each kind of spelling changes
    expect(spell({ b: 1, a: 2 }, FIXED_SPELLINGS[0]!)).toBe('{"b":1,"a":2}');
    expect(spell({ é: '😀' }, FIXED_SPELLINGS[3]!)).toMatch(/^\{"\\u00[eE]9":"\\u[dD]83[dD]\\u[dD][eE]00"\}$/);
    expect(spell([1], FIXED_SPELLINGS[4]!)).toMatch(/^\[1\.0+\]$/);
  });

  it('spells numbers as other decimal texts of the same double', () => {
    expect(numberSpellings(1)).toEqual(expect.arrayContaining(['1.0', '1e0', '10e-1']));
    expect(numberSpellings(0)).toEqual(expect.arrayContaining(['-0', '0.0', '0e0']));
    expect(numberSpellings(2 ** 53)).toContain('9007199254740993');
    expect(numberSpellings(1e21)).toEqual(expect.arrayContaining(['1e21', '1E+21', '10e20']));
    for (const n of [...EDGE_NUMBERS, 123.456, -7.5e-9]) {
      for (const text of numberSpellings(n)) {
        expect(text).toMatch(/^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/);
        expect(String(Number(text))).toBe(String(n));
      }
    }
  });

  it('keeps a pair of surrogates together, raw or escaped', () => {
    for (let seed = 0; seed < 50; seed++) {
      const text = spell('a😀b𝒜', { ...CANONICAL_SPELLING, escapes: 'random', seed });
      expect(parseStrictJson(utf8Encode(text))).toBe('a😀b𝒜');
    }
  });

  it('never grows a body past the limit: it keeps only the member order', () => {
    const value = objectOf([['b', 'é'.repeat(100)], ['a', 1]]);
    const limit = utf8Encode(canonicalize(value)).length;
    const bytes = spellBytes(value, { keyOrder: 'reverse', whitespace: 'pretty', escapes: 'non-ascii', numbers: 'fraction', seed: 1 }, limit);
    expect(bytes.length).toBe(limit);
    expect(new TextDecoder().decode(bytes).startsWith('{"b"')).toBe(true);
  });

  it('shrinks toward the canonical spelling', () => {
    // fast-check shrinks every field toward its first (canonical) choice and the seed toward 0
    const out = fc.check(fc.property(spellingArbitrary(), () => false), { seed: 1 });
    expect(out.counterexample?.[0]).toEqual(CANONICAL_SPELLING);
    expect(isCanonicalSpelling(CANONICAL_SPELLING)).toBe(true);
    expect(describeSpelling(FIXED_SPELLINGS.at(-1)!)).not.toContain(',');
  });
});

describe('generated data', () => {
  it('is always something the profile accepts (canonical form exists, the strict reader takes it)', () => {
    fc.assert(
      fc.property(generatedDataArbitrary(), (data) => {
        const text = canonicalize(data.parameters);
        expect(canonicalize(parseStrictJson(text))).toBe(text);
        expect(data.nonceLength).toBeGreaterThanOrEqual(16);
        expect(data.nonceLength).toBeLessThanOrEqual(128);
        expect(jsonDepth(data.parameters)).toBeLessThan(8);
      }),
      { numRuns: 300 },
    );
  });

  it('has keys whose UTF-16, code-point and locale orders differ', () => {
    const utf16 = [...TRICKY_KEYS].sort();
    const codePoint = [...TRICKY_KEYS].sort((a, b) => {
      const [x, y] = [[...a].map((c) => c.codePointAt(0)!), [...b].map((c) => c.codePointAt(0)!)];
      for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
      return x.length - y.length;
    });
    const locale = [...TRICKY_KEYS].sort((a, b) => a.localeCompare(b));
    expect(utf16).not.toEqual(codePoint);
    expect(utf16).not.toEqual(locale);
    // a JavaScript object lists integer-like keys first: not the canonical order
    expect(Object.keys(objectOf(TRICKY_KEYS.map((k) => [k, null])))).not.toEqual(utf16);
  });

  it('keeps __proto__ an ordinary member', () => {
    const value = objectOf([['__proto__', 1]]) as { [key: string]: JsonValue };
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(canonicalize(value)).toBe('{"__proto__":1}');
  });

  it('nests to an exact depth', () => {
    expect(jsonDepth(nestTo(1, 31))).toBe(31);
    expect(jsonDepth(nestTo(EDGE_PARAMETERS, 31))).toBe(31);
    expect(jsonDepth({ parameters: nestTo([], 31) })).toBe(32);
  });
});
