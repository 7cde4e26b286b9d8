/**
 * Generated request data: parameters, identities, request ids and nonces, drawn from arbitraries
 * that shrink (a value that breaks a gate shrinks toward the smallest such value: a leaf, then
 * `null`, shorter strings, fewer members).
 *
 * Every value drawn here is one the profile accepts (no lone surrogate, finite numbers), so the
 * model's prediction for a request carrying it is the scenario's; the values the profile refuses
 * are sent by a command of their own (`RefusedSpelling`). Parameters stay far below the contract's
 * limits unless their shape says otherwise: `at-depth-limit` nests them so the request is exactly
 * JSON depth 32, `at-size-limit` pads them so the request is exactly 64 KiB (both MUST be
 * accepted, CONTRACT.md section 3).
 */
import fc from 'fast-check';
import type { JsonValue } from '../../model/profile/canonical-json.ts';

/** Numbers at the edges of IEEE 754 doubles and of their shortest ECMAScript spelling. */
export const EDGE_NUMBERS: readonly number[] = [
  0,
  -0,
  1,
  -1,
  5e-324,
  -5e-324,
  2.2250738585072014e-308,
  1e-7,
  1e-6,
  0.1 + 0.2,
  1 / 3,
  4.35,
  2 ** 53 - 1,
  2 ** 53,
  -(2 ** 53 - 1),
  2 ** 53 + 2,
  1e20,
  123456789012345680000,
  1e21,
  -1e21,
  1.5e300,
  Number.MAX_VALUE,
];

/**
 * Keys whose UTF-16 order (the canonical one) differs from code-point order (a character beyond
 * the BMP sorts before U+FF61 by its high surrogate, after it by code point) and from locale order
 * (`B` before `a`, `_` after `B`, `é` after `f`), integer-like keys (a JS object lists them first,
 * in numeric order: `9` before `10`), and keys a careless reader treats specially.
 */
export const TRICKY_KEYS: readonly string[] = [
  'a',
  'B',
  'b',
  'A',
  '_',
  '-',
  '1',
  '10',
  '9',
  '01',
  'é',
  'e\u0301',
  'f',
  'z',
  '\u{1F600}',
  '\uff61',
  '\u{1D49C}',
  'ß',
  '',
  ' ',
  '\u2028',
  '"',
  '\\',
  '\u0000',
  'amount',
  'to',
  '__proto__',
  'constructor',
];

/** Strings that need escapes, hold characters beyond the BMP, combining marks or separators. */
export const TRICKY_STRINGS: readonly string[] = [
  '',
  'x',
  'é',
  'e\u0301',
  '\u{1F600}',
  '\u{1D49C}\u{1F600}',
  '\u2028\u2029',
  '\u0000\u001f\u007f',
  '"\\/',
  'tab\tnewline\n',
  '\uffff',
  '\ufeff',
  '\u00a0',
  '</script>',
];

export const numberArbitrary: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(...EDGE_NUMBERS),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

export const stringArbitrary: fc.Arbitrary<string> = fc.oneof(fc.constantFrom(...TRICKY_STRINGS), fc.string({ maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 6 }));

export const keyArbitrary: fc.Arbitrary<string> = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...TRICKY_KEYS) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) });

/** An object made from entries as own data properties: `__proto__` is an ordinary key. */
export function objectOf(entries: readonly (readonly [string, JsonValue])[]): { [key: string]: JsonValue } {
  return Object.fromEntries(entries);
}

const leafArbitrary: fc.Arbitrary<JsonValue> = fc.oneof(fc.constant(null), fc.boolean(), numberArbitrary, stringArbitrary);

const { value: valueArbitrary, object: objectArbitrary } = fc.letrec<{ value: JsonValue; array: JsonValue; object: JsonValue }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', maxDepth: 5, depthIdentifier: 'json' }, leafArbitrary, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4, depthIdentifier: 'json' }),
  object: fc.uniqueArray(fc.tuple(keyArbitrary, tie('value')), { maxLength: 5, selector: ([key]) => key, depthIdentifier: 'json' }).map(objectOf),
}));

/** Any JSON value the profile accepts: nested objects and arrays (empty ones too), edge numbers, tricky keys and strings. */
export const jsonValueArbitrary: fc.Arbitrary<JsonValue> = valueArbitrary;

/** Parameters: mostly an object (as actions take), sometimes any JSON value. */
export const parametersArbitrary: fc.Arbitrary<JsonValue> = fc.oneof({ weight: 1, arbitrary: jsonValueArbitrary }, { weight: 4, arbitrary: objectArbitrary });

/** How the parameters are shaped against the contract's limits. */
export type ParametersShape = 'value' | 'at-depth-limit' | 'at-size-limit';

export interface GeneratedData {
  /** both have active keys; the scenario decides which key signs */
  identity: 'alice' | 'bob';
  parameters: JsonValue;
  shape: ParametersShape;
  /** characters of the ID format after the harness's unique prefix (request ids are at most 128) */
  requestIdSuffix: string;
  /** 16…128: the nonce's length (its first 16 characters are unique to the request) */
  nonceLength: number;
  /** characters of the nonce alphabet after the unique part */
  nonceFill: string;
}

const ID_CHARS = [...'ABCXYZabcxyz0189._:-'];
const NONCE_CHARS = [...'ABCXYZabcxyz0189_-'];

export function generatedDataArbitrary(): fc.Arbitrary<GeneratedData> {
  return fc.record({
    identity: fc.constantFrom('alice', 'bob'),
    parameters: parametersArbitrary,
    shape: fc.oneof({ weight: 8, arbitrary: fc.constant('value' as const) }, { weight: 1, arbitrary: fc.constantFrom('at-depth-limit' as const, 'at-size-limit' as const) }),
    requestIdSuffix: fc.string({ unit: fc.constantFrom(...ID_CHARS), maxLength: 100 }),
    nonceLength: fc.oneof(fc.integer({ min: 16, max: 128 }), fc.constantFrom(16, 128)),
    nonceFill: fc.string({ unit: fc.constantFrom(...NONCE_CHARS), maxLength: 112 }),
  });
}

/**
 * One fixed value with every edge at once, for the prelude: keys in all the orders above, the
 * edge numbers, characters beyond the BMP, escapes, empty containers, arrays in arrays.
 */
export const EDGE_PARAMETERS: JsonValue = objectOf([
  ['to', 'bob'],
  ['amount', 10],
  ['B', 'upper'],
  ['a', 'lower'],
  ['_', 'underscore'],
  ['10', 'ten'],
  ['9', 'nine'],
  ['\u{1F600}', 'beyond the BMP'],
  ['\uff61', 'halfwidth'],
  ['é', 'e acute'],
  ['f', 'f'],
  ['numbers', [...EDGE_NUMBERS]],
  ['strings', [...TRICKY_STRINGS]],
  ['empty', objectOf([['object', objectOf([])], ['array', []], ['string', '']])],
  ['nested', [[objectOf([['z', [null, true, false]], ['y', objectOf([['x', -0]])]])]]],
]);

/** JSON nesting depth as the profile counts it: a scalar 0, `[]` 1. */
export function jsonDepth(value: JsonValue): number {
  if (value === null || typeof value !== 'object') return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  let deepest = 0;
  for (const child of children) deepest = Math.max(deepest, jsonDepth(child));
  return deepest + 1;
}

/** `value` wrapped in arrays and objects (keys from TRICKY_KEYS) until it is `depth` deep. */
export function nestTo(value: JsonValue, depth: number): JsonValue {
  let out = value;
  for (let level = jsonDepth(value); level < depth; level++) {
    out = level % 2 === 0 ? [out] : objectOf([[TRICKY_KEYS[level % TRICKY_KEYS.length]!, out]]);
  }
  return out;
}
