/**
 * Generates the profile's test vectors: jcs.json, requests.json, envelopes.json.
 *
 *   npx tsx conformance/vectors/generate.ts
 *
 * Deterministic — fixed public test keys (testKeyPair), fixed clock, no randomness; Ed25519
 * signatures are deterministic — so vectors.test.ts can rebuild every file in memory and demand
 * identical bytes: the published vectors cannot drift from the code.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { DEFAULT_JSON_LIMITS, StrictJsonError, canonicalize, parseStrictJson } from '../../model/profile/canonical-json.ts';
import type { DenialCode } from '../../model/profile/denial-codes.ts';
import { PROFILE_VERSION } from '../../model/profile/denial-codes.ts';
import { digestJson, sha256Digest } from '../../model/profile/digest.ts';
import { fromHex, toHex, utf8DecodeStrict, utf8Encode } from '../../model/profile/encoding.ts';
import type { IdentityKey, TrustedKey } from '../../model/profile/messages.ts';
import { DEFAULT_ACCEPTANCE_WINDOW_SEC } from '../../model/profile/messages.ts';
import type { KeyPair } from '../../model/profile/signing.ts';
import { TEST_KEY_SEED_PREFIX, publicKeyToText, signCanonical, testKeyPair } from '../../model/profile/signing.ts';

/** 2026-01-01T00:00:00Z: the clock of every vector. */
export const VECTOR_NOW = 1_767_225_600;
export const VECTOR_FILES = ['jcs.json', 'requests.json', 'envelopes.json'] as const;
export type VectorFileName = (typeof VECTOR_FILES)[number];

const KEY_WARNING =
  'FIXED PUBLIC TEST KEYS: anyone can derive their secrets from the published seed rule. Never use them outside tests.';

export interface Expected {
  verdict: 'accept' | 'deny';
  /** Every check that fails, in the profile's order; a gate may report any one of them. */
  codes: DenialCode[];
}

const accept = (): Expected => ({ verdict: 'accept', codes: [] });
const deny = (...codes: DenialCode[]): Expected => ({ verdict: 'deny', codes });

function testKeyEntry(name: string) {
  const key = testKeyPair(name);
  return {
    name,
    key_id: key.keyId,
    seed_hex: toHex(key.secretKey),
    public_key: publicKeyToText(key.publicKey),
  };
}

/** Signing input and signature of a message, plus what was really signed when it was tampered with. */
function signatureFields(message: Record<string, JsonValue>, signer: KeyPair | undefined, signedOver: Record<string, JsonValue> | undefined) {
  const { signature, ...fields } = message;
  const signingInput = canonicalize(fields);
  const originalInput = signedOver === undefined ? undefined : canonicalize(signedOver);
  return {
    ...(signer === undefined ? {} : { signed_by: signer.keyId }),
    signing_input: signingInput,
    signing_input_hex: toHex(utf8Encode(signingInput)),
    ...(originalInput !== undefined && originalInput !== signingInput ? { signed_over: originalInput } : {}),
    ...(signature === undefined ? {} : { signature }),
  };
}

// ---------------------------------------------------------------- jcs.json

function buildJcs() {
  const cases: Array<{ name: string; input_json: string; note?: string }> = [
    {
      name: 'rfc8785-sorting-example',
      input_json:
        '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One",' +
        '"\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}',
      note: 'RFC 8785 §3.2.3: keys sort by UTF-16 code units, so U+1F600 (a surrogate pair D83D DE00) sorts before U+FB33.',
    },
    {
      name: 'rfc8785-main-example',
      input_json:
        '{\n  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],\n' +
        '  "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n  "literals": [null, true, false]\n}',
      note: 'RFC 8785 §3.2.2 / §3.2.4.',
    },
    { name: 'rfc8785-literals', input_json: '[ null , true , false ]' },
    { name: 'key-sort-is-by-code-unit-not-numeric-or-case-folded', input_json: '{"b":1,"B":2,"10":3,"9":4,"a":5,"":6}' },
    { name: 'nested-objects-sorted-at-every-level', input_json: '{"z":{"b":[3,{"y":1,"x":2}],"a":{}},"a":[]}' },
    { name: 'array-order-is-kept', input_json: '[3,1,2,[],{},[2,1]]' },
    { name: 'whitespace-removed', input_json: ' \n\t{ "a" : [ 1 , 2 ] ,\r\n "b" : { } } ' },
    { name: 'empty-object', input_json: '{}' },
    { name: 'empty-array', input_json: '[]' },
    { name: 'proto-key-is-an-ordinary-key', input_json: '{"b":2,"__proto__":{"polluted":true},"constructor":1}' },
    { name: 'number-1e21', input_json: '1e21', note: 'From 1e21 on, ECMAScript switches to exponent notation.' },
    { name: 'number-1e20', input_json: '1e20' },
    { name: 'number-1E-7', input_json: '1E-7', note: 'Below 1e-6, ECMAScript switches to exponent notation.' },
    { name: 'number-1e-7', input_json: '1e-7' },
    { name: 'number-0.000001', input_json: '0.000001' },
    { name: 'number-minus-zero', input_json: '-0', note: 'Minus zero is written 0.' },
    { name: 'number-minus-zero-float', input_json: '-0.0' },
    { name: 'number-0.1', input_json: '0.1' },
    { name: 'number-1.0', input_json: '1.0', note: 'Trailing fractional zeros vanish: 1.0 and 1 have the same canonical form.' },
    { name: 'number-333333333.33333329', input_json: '333333333.33333329' },
    { name: 'number-1E30', input_json: '1E30' },
    { name: 'number-4.50', input_json: '4.50' },
    { name: 'number-2e-3', input_json: '2e-3' },
    { name: 'number-1e-27', input_json: '0.000000000000000000000000001' },
    {
      name: 'number-9007199254740993-loses-precision',
      input_json: '9007199254740993',
      note: 'Not representable as a double: it is read as 9007199254740992. Send large integers as strings.',
    },
    { name: 'number-max-double', input_json: '1.7976931348623157e308' },
    { name: 'number-min-subnormal', input_json: '-5e-324' },
    { name: 'number-underflow-to-zero', input_json: '1e-400', note: 'Underflow rounds to 0 and is accepted; overflow (1e400) is rejected.' },
    { name: 'numbers-in-context', input_json: '{"n":[1e21,1E-7,-0,1e-7,0.1,333333333.33333329,1E30,4.50,2e-3,1e-27,9007199254740993]}' },
    {
      name: 'string-line-and-paragraph-separators-literal',
      input_json: '"\\u2028\\u2029"',
      note: 'Unlike some JSON encoders, JCS writes U+2028/U+2029 literally.',
    },
    {
      name: 'string-control-characters',
      input_json: '"\\u0000\\u0001\\u0008\\u0009\\u000a\\u000c\\u000d\\u001f\\u007f"',
      note: 'C0 controls use the short escapes where they exist, else lowercase \\u00xx; DEL (U+007F) is literal.',
    },
    { name: 'string-escaped-e-acute', input_json: '"\\u00e9"', note: 'Same canonical form as the literal é.' },
    { name: 'string-literal-e-acute', input_json: '"é"' },
    { name: 'string-solidus-unescaped', input_json: '"\\/a/b"' },
    { name: 'string-quote-and-backslash', input_json: '"\\"\\\\"' },
    { name: 'string-uppercase-escape-hex', input_json: '"\\u00C9\\u00c9"' },
    { name: 'string-escaped-surrogate-pair', input_json: '"\\ud83d\\ude00"' },
    { name: 'string-no-unicode-normalization', input_json: '["\\u00e9","e\\u0301"]', note: 'NFC and NFD spellings stay different.' },
  ];

  const rejects: Array<{ name: string; text?: string; hex?: string; reason: StrictJsonError['reason'] }> = [
    { name: 'duplicate-key', text: '{"a":1,"a":2}', reason: 'duplicate-key' },
    { name: 'escaped-duplicate-key', text: '{"a":1,"\\u0061":2}', reason: 'duplicate-key' },
    { name: 'nested-duplicate-key', text: '{"p":{"k":1,"k":1}}', reason: 'duplicate-key' },
    { name: 'lone-high-surrogate', text: '"\\ud800"', reason: 'lone-surrogate' },
    { name: 'lone-low-surrogate', text: '["\\udc00"]', reason: 'lone-surrogate' },
    { name: 'lone-surrogate-in-key', text: '{"\\ud83d":1}', reason: 'lone-surrogate' },
    { name: 'number-1e400', text: '1e400', reason: 'non-finite-number' },
    { name: 'number-minus-1e400', text: '[-1e400]', reason: 'non-finite-number' },
    { name: 'trailing-comma-array', text: '[1,2,]', reason: 'syntax' },
    { name: 'trailing-comma-object', text: '{"a":1,}', reason: 'syntax' },
    { name: 'trailing-garbage', text: '{} x', reason: 'syntax' },
    { name: 'leading-zero', text: '01', reason: 'syntax' },
    { name: 'nan-literal', text: 'NaN', reason: 'syntax' },
    { name: 'single-quotes', text: "{'a':1}", reason: 'syntax' },
    { name: 'comment', text: '[1 /* c */]', reason: 'syntax' },
    { name: 'empty-input', text: '', reason: 'syntax' },
    { name: 'bom', hex: 'efbbbf7b7d', reason: 'syntax' },
    { name: 'raw-control-character-in-string', hex: '2261016222', reason: 'syntax' },
    { name: 'invalid-utf8-byte', hex: '22ff22', reason: 'invalid-utf8' },
    { name: 'invalid-utf8-overlong-solidus', hex: '22c0af22', reason: 'invalid-utf8' },
    { name: 'invalid-utf8-encoded-surrogate', hex: '22eda08022', reason: 'invalid-utf8' },
    { name: 'invalid-utf8-truncated', hex: '22e282', reason: 'invalid-utf8' },
    { name: 'too-deep-65-levels', text: '['.repeat(65) + ']'.repeat(65), reason: 'too-deep' },
  ];

  return {
    description:
      'RFC 8785 canonicalization (cases) and the strict reader (rejects). canonical = JCS text of input_json; canonical_hex = its UTF-8 bytes; digest = sha256 of those bytes.',
    profile: PROFILE_VERSION,
    reader_limits: DEFAULT_JSON_LIMITS,
    cases: cases.map(({ name, input_json, note }) => {
      const canonical = canonicalize(parseStrictJson(input_json));
      const bytes = utf8Encode(canonical);
      return { name, ...(note === undefined ? {} : { note }), input_json, canonical, canonical_hex: toHex(bytes), digest: sha256Digest(bytes) };
    }),
    rejects: rejects.map(({ name, text, hex, reason }) => {
      const bytes = hex !== undefined ? fromHex(hex)! : utf8Encode(text!);
      assertRejected(bytes, reason, name);
      // The text form is given only when it is valid UTF-8 without a BOM (readable and unambiguous).
      const readable = utf8DecodeStrict(bytes);
      const showText = readable !== undefined && !readable.startsWith('\ufeff');
      return { name, ...(showText ? { input_json: readable } : {}), input_hex: toHex(bytes), reason };
    }),
  };
}

function assertRejected(bytes: Uint8Array, reason: StrictJsonError['reason'], name: string): void {
  try {
    parseStrictJson(bytes);
  } catch (error) {
    if (error instanceof StrictJsonError && error.reason === reason) return;
    throw new Error(`vector ${name}: expected ${reason}, got ${String(error)}`);
  }
  throw new Error(`vector ${name}: expected ${reason}, but the input was accepted`);
}

// ---------------------------------------------------------------- requests.json

const ALICE = testKeyPair('alice');
const BOB = testKeyPair('bob');
const CAROL = testKeyPair('carol');
const MALLORY = testKeyPair('mallory');

const BASE_PARAMETERS = { amount: 250, currency: 'EUR', to: 'acct-42', memo: { ref: 'inv-7', lines: ['rent', 'march'] } };

interface RequestSpec {
  name: string;
  description: string;
  /** the fields to sign (key_id included) */
  fields: Record<string, JsonValue>;
  signer: KeyPair;
  /** change the signed request before sending it */
  tamper?: (signed: Record<string, JsonValue>) => Record<string, JsonValue>;
  /** send this text instead of the canonical form (to prove the order of keys does not matter) */
  bodyOf?: (request: Record<string, JsonValue>) => string;
  expected: Expected;
}

function requestFields(overrides: Record<string, JsonValue>): Record<string, JsonValue> {
  return {
    request_id: 'req-valid',
    identity: 'alice',
    action: 'payments.transfer',
    parameters: BASE_PARAMETERS,
    timestamp: VECTOR_NOW,
    nonce: 'nonce-valid-0000001',
    key_id: ALICE.keyId,
    ...overrides,
  };
}

function requestCase({ name, description, fields, signer, tamper, bodyOf, expected }: RequestSpec) {
  const signed = { ...fields, signature: signCanonical(fields, signer.secretKey) };
  const sent = tamper ? tamper(structuredClone(signed)) : signed;
  const body = bodyOf ? bodyOf(sent) : canonicalize(sent);
  const request = parseStrictJson(body) as Record<string, JsonValue>;
  return {
    name,
    description,
    request,
    body,
    ...signatureFields(request, signer, fields),
    request_hash: sha256Digest(body),
    parameters_digest: Object.hasOwn(request, 'parameters') ? digestJson(request.parameters) : null,
    expected,
  };
}

function buildRequests() {
  const identityKeys: IdentityKey[] = [
    { key_id: ALICE.keyId, identity: 'alice', public_key: publicKeyToText(ALICE.publicKey), state: 'active' },
    { key_id: BOB.keyId, identity: 'bob', public_key: publicKeyToText(BOB.publicKey), state: 'active' },
    { key_id: CAROL.keyId, identity: 'carol', public_key: publicKeyToText(CAROL.publicKey), state: 'revoked' },
  ];
  const window = DEFAULT_ACCEPTANCE_WINDOW_SEC;
  const single = (spec: RequestSpec) => requestCase(spec);
  const at = (suffix: string, overrides: Record<string, JsonValue> = {}) =>
    requestFields({ request_id: `req-${suffix}`, nonce: `nonce-${suffix}`.padEnd(19, '0'), ...overrides });

  const cases = [
    single({ name: 'valid', description: 'Authentic, fresh, well-formed.', fields: at('valid'), signer: ALICE, expected: accept() }),
    single({
      name: 'tampered-nested-parameter',
      description: 'parameters.memo.lines[1] changed after signing.',
      fields: at('tampered'),
      signer: ALICE,
      tamper: (r) => ({ ...r, parameters: { ...BASE_PARAMETERS, memo: { ref: 'inv-7', lines: ['rent', 'april'] } } }),
      expected: deny('SIGNATURE_INVALID'),
    }),
    single({
      name: 'parameter-key-order-changed',
      description:
        'The body lists top-level and nested keys in another order than the signing input. Signatures cover the canonical form, so this is valid. body is deliberately not canonical here.',
      fields: at('reordered'),
      signer: ALICE,
      bodyOf: (r) =>
        JSON.stringify({
          signature: r.signature,
          parameters: { to: 'acct-42', memo: { lines: ['rent', 'march'], ref: 'inv-7' }, currency: 'EUR', amount: 250 },
          nonce: r.nonce,
          key_id: r.key_id,
          timestamp: r.timestamp,
          action: r.action,
          identity: r.identity,
          request_id: r.request_id,
        }),
      expected: accept(),
    }),
    single({
      name: 'wrong-key',
      description: 'key_id names alice\'s key but bob\'s key signed.',
      fields: at('wrongkey'),
      signer: BOB,
      expected: deny('SIGNATURE_INVALID'),
    }),
    single({
      name: 'unknown-key',
      description: 'The key is not in the registry (its public key is listed under unregistered_keys).',
      fields: at('unknownkey', { identity: 'mallory', key_id: MALLORY.keyId }),
      signer: MALLORY,
      expected: deny('KEY_UNKNOWN'),
    }),
    single({
      name: 'key-of-another-identity',
      description: "alice's request signed with bob's registered key: a key authenticates only its own identity.",
      fields: at('otherkey', { key_id: BOB.keyId }),
      signer: BOB,
      expected: deny('KEY_UNKNOWN'),
    }),
    single({
      name: 'revoked-key',
      description: "carol's key is revoked; the signature itself is good.",
      fields: at('revoked', { identity: 'carol', key_id: CAROL.keyId }),
      signer: CAROL,
      expected: deny('KEY_REVOKED'),
    }),
    single({
      name: 'stale-timestamp',
      description: `timestamp = now - ${window + 1}.`,
      fields: at('stale', { timestamp: VECTOR_NOW - window - 1 }),
      signer: ALICE,
      expected: deny('TIMESTAMP_STALE'),
    }),
    single({
      name: 'future-timestamp',
      description: `timestamp = now + ${window + 1}.`,
      fields: at('future', { timestamp: VECTOR_NOW + window + 1 }),
      signer: ALICE,
      expected: deny('TIMESTAMP_FUTURE'),
    }),
    single({
      name: 'timestamp-at-window-start',
      description: `timestamp = now - ${window}: the window is inclusive.`,
      fields: at('edgepast', { timestamp: VECTOR_NOW - window }),
      signer: ALICE,
      expected: accept(),
    }),
    single({
      name: 'timestamp-at-window-end',
      description: `timestamp = now + ${window}: the window is inclusive.`,
      fields: at('edgefuture', { timestamp: VECTOR_NOW + window }),
      signer: ALICE,
      expected: accept(),
    }),
    single({
      name: 'malformed-nonce',
      description: 'nonce "short" is not 16-128 characters of [A-Za-z0-9_-]. Signed, so only the format is wrong.',
      fields: at('badnonce', { nonce: 'short' }),
      signer: ALICE,
      expected: deny('NONCE_MALFORMED'),
    }),
    single({
      name: 'missing-field',
      description: 'No "action" field (the signature covers the fields present).',
      fields: (({ action: _action, ...rest }) => rest)(at('missing')),
      signer: ALICE,
      expected: deny('REQUEST_MALFORMED'),
    }),
    single({
      name: 'timestamp-not-an-integer',
      description: 'timestamp is a string.',
      fields: at('tsstring', { timestamp: String(VECTOR_NOW) }),
      signer: ALICE,
      expected: deny('REQUEST_MALFORMED'),
    }),
    single({
      name: 'unknown-field',
      description: 'An extra signed field that is not part of the profile.',
      fields: at('extra', { priority: 'high' }),
      signer: ALICE,
      expected: deny('REQUEST_MALFORMED'),
    }),
    single({
      name: 'revoked-and-stale',
      description: 'Two checks fail: a gate may report either code.',
      fields: at('revokedstale', { identity: 'carol', key_id: CAROL.keyId, timestamp: VECTOR_NOW - 1000 }),
      signer: CAROL,
      expected: deny('KEY_REVOKED', 'TIMESTAMP_STALE'),
    }),
  ];

  const replayNonce = 'nonce-replay-000001';
  const sequences = [
    {
      name: 'replay-same-identity-action-nonce',
      description: 'A second request (new request_id, new signature) reuses identity, action and nonce of an accepted one.',
      sequence: [
        requestCase({ name: 'first', description: 'Accepted; claims the nonce.', fields: at('replay-a', { nonce: replayNonce }), signer: ALICE, expected: accept() }),
        requestCase({
          name: 'second',
          description: 'Same identity, action and nonce.',
          fields: at('replay-b', { nonce: replayNonce, timestamp: VECTOR_NOW + 1, parameters: { ...BASE_PARAMETERS, amount: 9999 } }),
          signer: ALICE,
          expected: deny('REPLAY_DETECTED'),
        }),
      ],
    },
    {
      name: 'replay-identical-bytes',
      description: 'The very same request sent twice.',
      sequence: [0, 1].map((index) =>
        requestCase({
          name: index === 0 ? 'first' : 'second',
          description: index === 0 ? 'Accepted; claims the nonce.' : 'Byte-identical resend.',
          fields: at('resend', { nonce: 'nonce-resend-000001' }),
          signer: ALICE,
          expected: index === 0 ? accept() : deny('REPLAY_DETECTED'),
        }),
      ),
    },
    {
      name: 'same-nonce-other-identity',
      description: 'Nonces are scoped by (identity, action): bob may use the nonce alice used.',
      sequence: [
        requestCase({ name: 'alice', description: 'Accepted.', fields: at('scope-a', { nonce: 'nonce-scoped-000001' }), signer: ALICE, expected: accept() }),
        requestCase({
          name: 'bob',
          description: 'Same action and nonce, other identity: accepted.',
          fields: at('scope-b', { nonce: 'nonce-scoped-000001', identity: 'bob', key_id: BOB.keyId }),
          signer: BOB,
          expected: accept(),
        }),
      ],
    },
    {
      name: 'same-nonce-other-action',
      description: 'Nonces are scoped by (identity, action): alice may reuse a nonce for another action.',
      sequence: [
        requestCase({ name: 'transfer', description: 'Accepted.', fields: at('scope-c', { nonce: 'nonce-scoped-000002' }), signer: ALICE, expected: accept() }),
        requestCase({
          name: 'refund',
          description: 'Same identity and nonce, other action: accepted.',
          fields: at('scope-d', { nonce: 'nonce-scoped-000002', action: 'payments.refund' }),
          signer: ALICE,
          expected: accept(),
        }),
      ],
    },
  ];

  return {
    description:
      'Client requests: verify each case with the identity key registry, now and acceptance_window_sec. signing_input is the canonical JSON of every field but "signature"; the signature is Ed25519 over its UTF-8 bytes, base64url without padding.',
    profile: PROFILE_VERSION,
    key_warning: KEY_WARNING,
    test_key_seed_rule: `seed = sha256(utf8("${TEST_KEY_SEED_PREFIX}" + name)); key_id = "ed25519/" + name`,
    test_keys: ['alice', 'bob', 'carol', 'mallory'].map(testKeyEntry),
    identity_keys: identityKeys,
    unregistered_keys: [{ key_id: MALLORY.keyId, public_key: publicKeyToText(MALLORY.publicKey) }],
    now: VECTOR_NOW,
    acceptance_window_sec: window,
    cases,
    sequences,
  };
}

// ---------------------------------------------------------------- envelopes.json

const CONTROL_PLANE = testKeyPair('control-plane');
const ROGUE = testKeyPair('rogue-control-plane');

const ENVELOPE_PARAMETERS_JSON =
  '{"amount":250,"currency":"EUR","items":[{"qty":1,"sku":"a-100"},{"qty":2,"sku":"b-200"}],"options":{"express":true,"notify":{"email":"a@example.test","sms":false}}}';

interface EnvelopeSpec {
  name: string;
  description: string;
  overrides?: Record<string, JsonValue>;
  /** undefined: the trusted Control Plane key */
  signer?: KeyPair;
  tamper?: (signed: Record<string, JsonValue>) => Record<string, JsonValue>;
  /** the envelope as presented, bypassing signing (missing / malformed cases) */
  raw?: JsonValue;
  bound?: Partial<{ request_id: string; identity: string; action: string; parameters_json: string }>;
  expected: Expected;
}

function buildEnvelopes() {
  const request = JSON.parse(
    canonicalize(
      (() => {
        const fields = requestFields({
          request_id: 'req-env-1',
          nonce: 'nonce-envelope-0001',
          parameters: parseStrictJson(ENVELOPE_PARAMETERS_JSON),
        });
        return { ...fields, signature: signCanonical(fields, ALICE.secretKey) };
      })(),
    ),
  ) as Record<string, JsonValue>;
  const parametersDigest = digestJson(request.parameters);

  const envelopeFields = (overrides: Record<string, JsonValue> = {}): Record<string, JsonValue> => ({
    approval_id: 'apr-1',
    request_id: 'req-env-1',
    identity: 'alice',
    action: 'payments.transfer',
    parameters_digest: parametersDigest,
    issued_at: VECTOR_NOW - 10,
    expires_at: VECTOR_NOW + 60,
    key_id: CONTROL_PLANE.keyId,
    ...overrides,
  });

  const envelopeCase = ({ name, description, overrides, signer = CONTROL_PLANE, tamper, raw, bound = {}, expected }: EnvelopeSpec) => {
    const boundTo = {
      request_id: 'req-env-1',
      identity: 'alice',
      action: 'payments.transfer',
      parameters_json: ENVELOPE_PARAMETERS_JSON,
      ...bound,
    };
    const parametersOfBound = { ...boundTo, parameters_digest: digestJson(parseStrictJson(boundTo.parameters_json)) };
    if (raw !== undefined) return { name, description, envelope: raw, bound: parametersOfBound, expected };
    const fields = envelopeFields(overrides);
    const signed = { ...fields, signature: signCanonical(fields, signer.secretKey) };
    const envelope = tamper ? tamper(signed) : signed;
    return { name, description, envelope, ...signatureFields(envelope, signer, fields), bound: parametersOfBound, expected };
  };

  const { parameters_digest: _omitted, ...withoutDigest } = envelopeFields();
  const cases = [
    envelopeCase({ name: 'valid', description: 'Signed by the trusted key, in its window, bound to the request.', expected: accept() }),
    envelopeCase({
      name: 'tampered-field',
      description: 'expires_at extended after signing.',
      tamper: (e) => ({ ...e, expires_at: VECTOR_NOW + 86_400 }),
      expected: deny('ENVELOPE_SIGNATURE_INVALID'),
    }),
    envelopeCase({
      name: 'tampered-binding',
      description: 'parameters_digest replaced after signing (by the digest of other parameters).',
      tamper: (e) => ({ ...e, parameters_digest: digestJson({ amount: 9999 }) }),
      expected: deny('ENVELOPE_SIGNATURE_INVALID'),
    }),
    envelopeCase({
      name: 'untrusted-key',
      description: 'Signed by a key that is not a trusted Control Plane key (listed under untrusted_keys).',
      overrides: { key_id: ROGUE.keyId },
      signer: ROGUE,
      expected: deny('ENVELOPE_SIGNATURE_INVALID'),
    }),
    envelopeCase({
      name: 'untrusted-signer-claims-trusted-key-id',
      description: 'key_id names the trusted key, but the untrusted key signed.',
      signer: ROGUE,
      expected: deny('ENVELOPE_SIGNATURE_INVALID'),
    }),
    envelopeCase({
      name: 'identity-key-is-not-a-control-plane-key',
      description: "Signed by alice's (registered) identity key.",
      overrides: { key_id: ALICE.keyId },
      signer: ALICE,
      expected: deny('ENVELOPE_SIGNATURE_INVALID'),
    }),
    envelopeCase({ name: 'missing', description: 'An allow without an envelope (null).', raw: null, expected: deny('ENVELOPE_MISSING') }),
    envelopeCase({
      name: 'malformed',
      description: 'No parameters_digest and no signature: not an envelope.',
      raw: withoutDigest,
      expected: deny('ENVELOPE_SIGNATURE_INVALID'),
    }),
    envelopeCase({
      name: 'expired',
      description: 'expires_at = now - 60.',
      overrides: { issued_at: VECTOR_NOW - 120, expires_at: VECTOR_NOW - 60 },
      expected: deny('ENVELOPE_EXPIRED'),
    }),
    envelopeCase({
      name: 'expires-at-now',
      description: 'expires_at = now: the end of the window is exclusive.',
      overrides: { expires_at: VECTOR_NOW },
      expected: deny('ENVELOPE_EXPIRED'),
    }),
    envelopeCase({
      name: 'expires-one-second-after-now',
      description: 'expires_at = now + 1: still valid.',
      overrides: { expires_at: VECTOR_NOW + 1 },
      expected: accept(),
    }),
    envelopeCase({
      name: 'not-yet-valid',
      description: 'issued_at = now + 60.',
      overrides: { issued_at: VECTOR_NOW + 60, expires_at: VECTOR_NOW + 120 },
      expected: deny('ENVELOPE_NOT_YET_VALID'),
    }),
    envelopeCase({
      name: 'issued-at-now',
      description: 'issued_at = now: the start of the window is inclusive.',
      overrides: { issued_at: VECTOR_NOW },
      expected: accept(),
    }),
    envelopeCase({
      name: 'other-request-id',
      description: 'Bound to another request_id.',
      overrides: { request_id: 'req-env-2' },
      expected: deny('ENVELOPE_BINDING_MISMATCH'),
    }),
    envelopeCase({ name: 'other-identity', description: 'Bound to another identity.', overrides: { identity: 'bob' }, expected: deny('ENVELOPE_BINDING_MISMATCH') }),
    envelopeCase({
      name: 'other-action',
      description: 'Bound to another action.',
      overrides: { action: 'payments.refund' },
      expected: deny('ENVELOPE_BINDING_MISMATCH'),
    }),
    envelopeCase({
      name: 'other-parameters-digest',
      description: 'Approved amount 251, request says 250.',
      overrides: { parameters_digest: digestJson({ ...(parseStrictJson(ENVELOPE_PARAMETERS_JSON) as Record<string, JsonValue>), amount: 251 }) },
      expected: deny('ENVELOPE_BINDING_MISMATCH'),
    }),
    envelopeCase({
      name: 'parameters-nested-key-order',
      description: 'The presented parameters list (nested) keys in another order: same canonical form, same digest.',
      bound: {
        parameters_json:
          '{"options":{"notify":{"sms":false,"email":"a@example.test"},"express":true},"items":[{"sku":"a-100","qty":1},{"sku":"b-200","qty":2}],"currency":"EUR","amount":250}',
      },
      expected: accept(),
    }),
    envelopeCase({
      name: 'parameters-array-order',
      description: 'The presented items are in another order: arrays are ordered, so this is other parameters.',
      bound: {
        parameters_json:
          '{"amount":250,"currency":"EUR","items":[{"qty":2,"sku":"b-200"},{"qty":1,"sku":"a-100"}],"options":{"express":true,"notify":{"email":"a@example.test","sms":false}}}',
      },
      expected: deny('ENVELOPE_BINDING_MISMATCH'),
    }),
    envelopeCase({
      name: 'parameters-number-spelling',
      description: 'qty written 1.0 and amount 2.5e2: the same numbers, the same canonical form and digest.',
      bound: {
        parameters_json:
          '{"amount":2.5e2,"currency":"EUR","items":[{"qty":1.0,"sku":"a-100"},{"qty":2,"sku":"b-200"}],"options":{"express":true,"notify":{"email":"a@example.test","sms":false}}}',
      },
      expected: accept(),
    }),
    envelopeCase({
      name: 'expired-and-mis-bound',
      description: 'Two checks fail: a gate may report either code.',
      overrides: { expires_at: VECTOR_NOW - 1, request_id: 'req-env-9' },
      expected: deny('ENVELOPE_EXPIRED', 'ENVELOPE_BINDING_MISMATCH'),
    }),
  ];

  const trustedKeys: TrustedKey[] = [{ key_id: CONTROL_PLANE.keyId, public_key: publicKeyToText(CONTROL_PLANE.publicKey) }];
  return {
    description:
      'Approval envelopes: check each envelope against its bound request (parameters_json read strictly, digest = sha256 of its canonical form), the trusted Control Plane keys and now. Valid from issued_at inclusive to expires_at exclusive.',
    profile: PROFILE_VERSION,
    key_warning: KEY_WARNING,
    test_key_seed_rule: `seed = sha256(utf8("${TEST_KEY_SEED_PREFIX}" + name)); key_id = "ed25519/" + name`,
    test_keys: ['control-plane', 'rogue-control-plane', 'alice'].map(testKeyEntry),
    trusted_keys: trustedKeys,
    untrusted_keys: [{ key_id: ROGUE.keyId, public_key: publicKeyToText(ROGUE.publicKey) }],
    now: VECTOR_NOW,
    request,
    request_parameters_digest: parametersDigest,
    cases,
  };
}

// ---------------------------------------------------------------- output

export function buildVectors(): Record<VectorFileName, unknown> {
  return { 'jcs.json': buildJcs(), 'requests.json': buildRequests(), 'envelopes.json': buildEnvelopes() };
}

/** The exact text of a vector file: two-space JSON, UTF-8, trailing newline. */
export function serializeVectorFile(content: unknown): string {
  return JSON.stringify(content, null, 2) + '\n';
}

export const VECTORS_DIR = dirname(fileURLToPath(import.meta.url));

function writeVectors(): void {
  for (const [name, content] of Object.entries(buildVectors())) {
    writeFileSync(join(VECTORS_DIR, name), serializeVectorFile(content), 'utf8');
    console.log(`wrote ${join(VECTORS_DIR, name)}`);
  }
}

const invokedAsScript = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedAsScript) writeVectors();
