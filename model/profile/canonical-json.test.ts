import { readFileSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonValue } from './canonical-json.ts';
import {
  CanonicalJsonError,
  DEFAULT_JSON_LIMITS,
  StrictJsonError,
  canonicalBytes,
  canonicalize,
  findLoneSurrogate,
  parseStrictJson,
} from './canonical-json.ts';
import { fromHex, toHex, utf8Encode } from './encoding.ts';

function parseError(input: string | Uint8Array, limits?: Parameters<typeof parseStrictJson>[1]): StrictJsonError {
  try {
    parseStrictJson(input, limits);
  } catch (error) {
    if (error instanceof StrictJsonError) return error;
    throw error;
  }
  throw new Error(`expected a StrictJsonError for ${String(input)}`);
}

/** Raw JSON text → canonical text, through our reader. */
const jcs = (text: string): string => canonicalize(parseStrictJson(text));

describe('RFC 8785 published examples', () => {
  it('§3.2.2 / §3.2.4: numbers, string escapes and literals', () => {
    const input = String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`;
    const expected = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
    expect(jcs(input)).toBe(expected);
    // §3.2.4 gives the UTF-8 bytes of the result.
    expect(toHex(canonicalBytes(parseStrictJson(input)))).toBe(
      '7b226c69746572616c73223a5b6e756c6c2c747275652c66616c73655d2c226e756d62657273223a5b3333333333333333332e33' +
        '3333333333332c31652b33302c342e352c302e3030322c31652d32375d2c22737472696e67223a22e282ac245c75303030665c6e' +
        '4127425c225c5c5c5c5c222f227d',
    );
  });

  it('§3.2.3: properties sorted by UTF-16 code units', () => {
    const input = String.raw`{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }`;
    // Read the order off the text: Object.keys would list the integer-like key "1" first.
    const values = [...jcs(input).matchAll(/:"([^"]*)"/g)].map((match) => match[1]);
    expect(values).toEqual(['Carriage Return', 'One', 'Control', 'Latin Small Letter O With Diaeresis', 'Euro Sign', 'Emoji: Grinning Face', 'Hebrew Letter Dalet With Dagesh']);
    expect(jcs(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis",' +
        '"€":"Euro Sign","😀":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('literals are written as themselves', () => {
    expect(jcs('[ null , true , false ]')).toBe('[null,true,false]');
    expect(canonicalize(null)).toBe('null');
  });

  // Appendix B: IEEE-754 bit patterns and their canonical text.
  const ieeeTable: Array<[string, string]> = [
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ];
  const fromBits = (hex: string): number => new DataView(fromHex(hex)!.buffer).getFloat64(0);

  it.each(ieeeTable)('Appendix B: %s → %s', (bits, expected) => {
    const value = fromBits(bits);
    expect(canonicalize(value)).toBe(expected);
    // The canonical text reads back as the same double (except -0, which canonicalizes to 0).
    expect(Object.is(parseStrictJson(expected), value === 0 ? 0 : value)).toBe(true);
  });

  it.each(['7fffffffffffffff', '7ff0000000000000', 'fff0000000000000'])('Appendix B: %s (NaN/Infinity) is an error', (bits) => {
    expect(() => canonicalize(fromBits(bits))).toThrow(CanonicalJsonError);
  });
});

describe('the RFC 8785 author\'s reference files (conformance/vectors/external/rfc8785)', () => {
  const dir = new URL('../../conformance/vectors/external/rfc8785/', import.meta.url);
  const names = readdirSync(new URL('input/', dir)).filter((n) => n.endsWith('.json'));
  it('has the six published cases', () => expect(names.sort()).toEqual(['arrays.json', 'french.json', 'structures.json', 'unicode.json', 'values.json', 'weird.json']));
  it.each(names)('reads %s strictly and writes its canonical output byte for byte', (name) => {
    const input = readFileSync(new URL(`input/${name}`, dir));
    const expected = readFileSync(new URL(`output/${name}`, dir));
    expect(Buffer.from(canonicalBytes(parseStrictJson(input)))).toEqual(expected);
  });
});

describe('canonicalize', () => {
  it.each([
    ['1e21', '1e+21'],
    ['1E-7', '1e-7'],
    ['-0', '0'],
    ['-0.0', '0'],
    ['0.1', '0.1'],
    ['1.0', '1'],
    ['100', '100'],
  ])('number %s → %s', (input, expected) => {
    expect(jcs(input)).toBe(expected);
  });

  it('escapes only quote, backslash and C0 controls; \\u2028, non-ASCII and DEL stay literal', () => {
    expect(canonicalize('\u0000\u0001\u001f\b\t\n\f\r"\\/\u007f\u2028\u2029é')).toBe(
      '"\\u0000\\u0001\\u001f\\b\\t\\n\\f\\r\\"\\\\/\u007f\u2028\u2029é"',
    );
    expect(jcs('"\\u00e9"')).toBe(jcs('"é"'));
  });

  it('agrees with JSON.stringify on strings without lone surrogates', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(canonicalize(text)).toBe(JSON.stringify(text));
      }),
    );
  });

  it('handles nested and empty containers', () => {
    expect(canonicalize({ b: [{ d: 1, c: {} }, []], a: { z: null, y: [true] } })).toBe(
      '{"a":{"y":[true],"z":null},"b":[{"c":{},"d":1},[]]}',
    );
    expect(canonicalize(Object.create(null) as object)).toBe('{}');
  });

  it.each<[string, unknown]>([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', [Number.NEGATIVE_INFINITY]],
    ['lone high surrogate in a string', 'a\ud800b'],
    ['lone low surrogate in a string', ['\udc00']],
    ['reversed pair', '\ude00\ud83d'],
    ['lone surrogate in a key', { '\ud800': 1 }],
    ['undefined', undefined],
    ['undefined member', { a: undefined }],
    ['undefined element', [undefined]],
    ['sparse array', [1, , 3]], // eslint-disable-line no-sparse-arrays
    ['function', () => 1],
    ['symbol', Symbol('s')],
    ['symbol-keyed member', { [Symbol('s')]: 1 }],
    ['bigint', 10n],
    ['Date', new Date(0)],
    ['Map', new Map()],
    ['boxed number', Object(1) as unknown],
    ['class instance', new (class Point { x = 1; })()],
    ['accessor property', Object.defineProperty({}, 'a', { get: () => 1, enumerable: true })],
  ])('rejects %s', (_name, value) => {
    expect(() => canonicalize(value)).toThrow(CanonicalJsonError);
  });

  it('does not read array elements inherited through the prototype', () => {
    const sparse = [1, , 3]; // eslint-disable-line no-sparse-arrays
    Object.setPrototypeOf(sparse, Object.assign(Object.create(Array.prototype) as object, { 1: 2 }));
    expect(Array.isArray(sparse)).toBe(true);
    expect(() => canonicalize(sparse)).toThrow(CanonicalJsonError);
  });

  it('rejects cycles but accepts shared (acyclic) references', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalize(cyclic)).toThrow(CanonicalJsonError);
    const cyclicArray: unknown[] = [];
    cyclicArray.push([cyclicArray]);
    expect(() => canonicalize(cyclicArray)).toThrow(CanonicalJsonError);
    const shared = { x: 1 };
    expect(canonicalize([shared, { shared }])).toBe('[{"x":1},{"shared":{"x":1}}]');
  });

  it('treats an own "__proto__" data property as an ordinary key', () => {
    const parsed = parseStrictJson('{"b":1,"__proto__":{"polluted":true},"a":2}');
    expect(canonicalize(parsed)).toBe('{"__proto__":{"polluted":true},"a":2,"b":1}');
  });
});

describe('parseStrictJson', () => {
  it('reads every JSON type', () => {
    expect(parseStrictJson(' {"a":[1,-2.5e3,"x\\ny",true,false,null,{}],"b":{"c":[]}} ')).toEqual({
      a: [1, -2500, 'x\ny', true, false, null, {}],
      b: { c: [] },
    });
    expect(parseStrictJson('"\\ud83d\\ude00"')).toBe('😀');
    expect(parseStrictJson('"\\ud83d\ude00"')).toBe('😀'); // escaped high surrogate + raw low one
    expect(parseStrictJson('1e-400')).toBe(0); // underflow is finite
    expect(Object.is(parseStrictJson('-0'), -0)).toBe(true);
  });

  it('reads bytes as UTF-8', () => {
    expect(parseStrictJson(utf8Encode('{"é":"€😀"}'))).toEqual({ é: '€😀' });
  });

  it('makes __proto__, constructor and prototype plain own data properties, polluting nothing', () => {
    const text = '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"prototype":1}';
    const parsed = parseStrictJson(text) as Record<string, unknown>;
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.hasOwn(parsed, '__proto__')).toBe(true);
    expect(Object.hasOwn(parsed, 'constructor')).toBe(true);
    expect(Object.keys(parsed)).toEqual(['__proto__', 'constructor', 'prototype']);
    expect((parsed as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect((Object.prototype as { polluted?: unknown }).polluted).toBeUndefined();
    expect(canonicalize(parsed)).toBe(canonicalize(JSON.parse(text)));
    expect(parseError('{"__proto__":1,"__proto__":2}').reason).toBe('duplicate-key');
  });

  const rejections: Array<[string, string | Uint8Array, StrictJsonError['reason'], Partial<typeof DEFAULT_JSON_LIMITS>?]> = [
    ['empty input', '', 'syntax'],
    ['whitespace only', '  ', 'syntax'],
    ['trailing comma in array', '[1,2,]', 'syntax'],
    ['trailing comma in object', '{"a":1,}', 'syntax'],
    ['trailing garbage', '{} x', 'syntax'],
    ['two values', '1 2', 'syntax'],
    ['leading zero', '01', 'syntax'],
    ['bare minus', '-', 'syntax'],
    ['dot without digits', '1.', 'syntax'],
    ['leading dot', '.5', 'syntax'],
    ['plus sign', '+1', 'syntax'],
    ['NaN literal', 'NaN', 'syntax'],
    ['Infinity literal', 'Infinity', 'syntax'],
    ['hex number', '0x10', 'syntax'],
    ['single quotes', "{'a':1}", 'syntax'],
    ['unquoted key', '{a:1}', 'syntax'],
    ['comment', '[1 /* c */]', 'syntax'],
    ['raw control character in string', '"a\u0001b"', 'syntax'],
    ['raw newline in string', '"a\nb"', 'syntax'],
    ['bad escape', '"\\x41"', 'syntax'],
    ['short \\u escape', '"\\u12"', 'syntax'],
    ['unterminated string', '"abc', 'syntax'],
    ['unterminated array', '[1', 'syntax'],
    ['truncated literal', 'tru', 'syntax'],
    ['non-JSON whitespace (NBSP)', '\u00a01', 'syntax'],
    ['BOM as text', '\ufeff{}', 'syntax'],
    ['BOM as bytes', fromHex('efbbbf7b7d')!, 'syntax'],
    ['duplicate key', '{"a":1,"a":2}', 'duplicate-key'],
    ['escaped duplicate key', '{"a":1,"\\u0061":2}', 'duplicate-key'],
    ['nested duplicate key', '[{"x":{"k":1,"k":1}}]', 'duplicate-key'],
    ['invalid UTF-8 byte', fromHex('22ff22')!, 'invalid-utf8'],
    ['overlong UTF-8', fromHex('22c0af22')!, 'invalid-utf8'],
    ['UTF-8 encoded surrogate', fromHex('22eda08022')!, 'invalid-utf8'],
    ['truncated UTF-8', fromHex('22e282')!, 'invalid-utf8'],
    ['code point above U+10FFFF', fromHex('22f490808022')!, 'invalid-utf8'],
    ['escaped lone high surrogate', '"\\ud800"', 'lone-surrogate'],
    ['escaped lone low surrogate', '"\\udc00x"', 'lone-surrogate'],
    ['escaped reversed pair', '"\\ude00\\ud83d"', 'lone-surrogate'],
    ['raw lone surrogate in a string input', '"\ud800"', 'lone-surrogate'],
    ['lone surrogate in a key', '{"\\ud800":1}', 'lone-surrogate'],
    ['1e400', '1e400', 'non-finite-number'],
    ['-1e400', '[-1e400]', 'non-finite-number'],
    ['too deep (default 64)', '['.repeat(65) + ']'.repeat(65), 'too-deep'],
    ['too deep objects', '{"a":'.repeat(3) + '1' + '}'.repeat(3), 'too-deep', { maxDepth: 2 }],
    ['empty container counts as a level', '[[]]', 'too-deep', { maxDepth: 1 }],
    ['too large string', '"' + 'x'.repeat(20) + '"', 'too-large', { maxBytes: 21 }],
    ['too large by UTF-8 length', '"éé"', 'too-large', { maxBytes: 5 }],
    ['too large bytes', utf8Encode('[1,2,3]'), 'too-large', { maxBytes: 6 }],
  ];

  it.each(rejections)('rejects %s', (_name, input, reason, limits) => {
    expect(parseError(input, limits).reason).toBe(reason);
  });

  it('names a leading BOM as such', () => {
    expect(parseError('\ufeff{}').message).toMatch(/byte order mark/);
    expect(parseError(fromHex('efbbbf7b7d')!).offset).toBe(0);
  });

  it('accepts inputs exactly at the limits', () => {
    expect(parseStrictJson('['.repeat(64) + ']'.repeat(64))).toBeDefined();
    expect(parseStrictJson('"éé"', { maxBytes: 6 })).toBe('éé');
    expect(parseStrictJson('1', { maxDepth: 0 })).toBe(1);
    expect(parseError('[]', { maxDepth: 0 }).reason).toBe('too-deep');
  });

  it('does not let an explicit undefined switch a limit off', () => {
    expect(parseError('[[1]]', { maxDepth: 1, maxBytes: undefined } as unknown as Partial<typeof DEFAULT_JSON_LIMITS>).reason).toBe('too-deep');
    expect(parseError('['.repeat(65) + ']'.repeat(65), { maxDepth: undefined } as unknown as Partial<typeof DEFAULT_JSON_LIMITS>).reason).toBe('too-deep');
  });

  it('survives depth far beyond the call stack when a caller raises maxDepth', () => {
    const depth = 200_000;
    const parsed = parseStrictJson('['.repeat(depth) + ']'.repeat(depth), { maxDepth: depth, maxBytes: 2 * depth });
    expect(Array.isArray(parsed)).toBe(true);
  });

  it('reports offsets', () => {
    expect(parseError('{"a":1,"a":2}').offset).toBe(7);
    expect(parseError('[1, x]').offset).toBe(4);
    expect(parseError(fromHex('5b3122ff')!).offset).toBe(3);
    // byte offsets of overlong, surrogate and out-of-range sequences, which a valid lead byte starts
    expect(parseError(fromHex('5b22e080802c')!).offset).toBe(2);
    expect(parseError(fromHex('5b22eda0802c')!).offset).toBe(2);
    expect(parseError(fromHex('5b22f49080802c')!).offset).toBe(2);
  });
});

// ---------------------------------------------------------------- properties

/** Strings including every kind of character, escapes-to-be and the dangerous keys. */
const anyString = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.constantFrom('a', '"', '\\', '\n', '\u0000', '\u001f', '\u2028', 'é', '😀', '\ud83d\ude00', '\ufeff') }),
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'),
);
const anyNumber = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.constantFrom(-0, 1e21, 1e-7, 5e-324, Number.MAX_VALUE, 9007199254740993),
);

/** Arbitrary JSON values built the way the reader builds them (own data properties). */
const { json: anyJson } = fc.letrec<{ json: JsonValue }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    anyNumber,
    anyString,
    fc.array(tie('json'), { maxLength: 5 }),
    fc
      .uniqueArray(fc.tuple(anyString, tie('json')), { maxLength: 5, selector: ([key]) => key })
      .map((members) => {
        const object: Record<string, JsonValue> = {};
        for (const [key, value] of members) {
          Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
        }
        return object;
      }),
  ),
}));

function reverseKeys(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value === null || typeof value !== 'object') return value;
  const reversed: Record<string, JsonValue> = {};
  for (const key of Object.keys(value).reverse()) {
    Object.defineProperty(reversed, key, { value: reverseKeys(value[key]!), writable: true, enumerable: true, configurable: true });
  }
  return reversed;
}

describe('properties', () => {
  it('canonicalize is idempotent through the strict reader, as text and as bytes', () => {
    fc.assert(
      fc.property(anyJson, (value) => {
        const canonical = canonicalize(value);
        expect(canonicalize(parseStrictJson(canonical))).toBe(canonical);
        expect(canonicalize(parseStrictJson(canonicalBytes(value)))).toBe(canonical);
      }),
      { numRuns: 500 },
    );
  });

  it('does not depend on key insertion order', () => {
    fc.assert(
      fc.property(anyJson, (value) => {
        expect(canonicalize(reverseKeys(value))).toBe(canonicalize(value));
      }),
      { numRuns: 500 },
    );
  });

  it('canonical text is valid JSON that JSON.parse reads back to an equal value', () => {
    fc.assert(
      fc.property(anyJson, (value) => {
        const canonical = canonicalize(value);
        expect(findLoneSurrogate(canonical)).toBe(-1);
        expect(canonicalize(JSON.parse(canonical))).toBe(canonical);
      }),
      { numRuns: 300 },
    );
  });

  it('parseStrictJson agrees with JSON.parse on valid duplicate-free JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'binary' }), fc.constantFrom(undefined, 2), (value, indent) => {
        const text = JSON.stringify(value, null, indent);
        expect(parseStrictJson(text)).toStrictEqual(JSON.parse(text));
        expect(canonicalize(parseStrictJson(text))).toBe(canonicalize(JSON.parse(text)));
      }),
      { numRuns: 500 },
    );
  });

  it('parseStrictJson agrees with JSON.parse on arbitrary number spellings', () => {
    const numberText = fc
      .tuple(
        fc.boolean(),
        fc.oneof(fc.constant('0'), fc.stringMatching(/^[1-9][0-9]{0,25}$/)),
        fc.option(fc.stringMatching(/^[0-9]{1,25}$/), { nil: undefined }),
        fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), fc.stringMatching(/^[0-9]{1,3}$/)), { nil: undefined }),
      )
      .map(([negative, int, fraction, exponent]) =>
        `${negative ? '-' : ''}${int}${fraction === undefined ? '' : '.' + fraction}${exponent === undefined ? '' : exponent.join('')}`,
      );
    fc.assert(
      fc.property(numberText, (text) => {
        const expected = JSON.parse(text) as number;
        if (Number.isFinite(expected)) expect(Object.is(parseStrictJson(text), expected)).toBe(true);
        else expect(parseError(text).reason).toBe('non-finite-number');
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws anything but StrictJsonError on arbitrary bytes or text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.string({ unit: fc.constantFrom('{', '}', '[', ']', ',', ':', '"', '\\', 'u', '1', 'e', '-', ' ', 'a', '\ud800') })), (input) => {
        try {
          const value = parseStrictJson(input);
          // Whatever it accepts is canonicalizable JSON.
          expect(() => canonicalize(value)).not.toThrow();
        } catch (error) {
          expect(error).toBeInstanceOf(StrictJsonError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
