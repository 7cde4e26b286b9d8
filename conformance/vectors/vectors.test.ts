/**
 * The published vectors are reproduced byte for byte by our primitives, give exactly the expected
 * verdicts through the shared checks, and are exactly what the generator produces from the code.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { StrictJsonError, canonicalize, parseStrictJson } from '../../model/profile/canonical-json.ts';
import type { DenialCode } from '../../model/profile/denial-codes.ts';
import { digestJson, sha256Digest } from '../../model/profile/digest.ts';
import { fromHex, toHex, utf8Encode } from '../../model/profile/encoding.ts';
import type { IdentityKey, TrustedKey } from '../../model/profile/messages.ts';
import { validateIdentityKey, validateTrustedKey } from '../../model/profile/messages.ts';
import { authenticateRequest, checkEnvelope, nonceKey, readRequest } from '../../model/profile/request-checks.ts';
import { TEST_KEY_SEED_PREFIX, publicKeyFromText, publicKeyToText, signCanonical, testKeyPair, verifyCanonical } from '../../model/profile/signing.ts';
import type { Expected } from './generate.ts';
import { VECTORS_DIR, VECTOR_FILES, buildVectors, serializeVectorFile } from './generate.ts';

// ---------------------------------------------------------------- file shapes

interface TestKey { name: string; key_id: string; seed_hex: string; public_key: string }
interface Signed {
  signed_by?: string;
  signing_input?: string;
  signing_input_hex?: string;
  signed_over?: string;
  signature?: string;
}
interface JcsFile {
  cases: Array<{ name: string; input_json: string; canonical: string; canonical_hex: string; digest: string }>;
  rejects: Array<{ name: string; input_json?: string; input_hex: string; reason: StrictJsonError['reason'] }>;
}
interface RequestStep extends Signed {
  name: string;
  request: Record<string, JsonValue>;
  body: string;
  request_hash: string;
  parameters_digest: string | null;
  expected: Expected;
}
interface RequestsFile {
  test_keys: TestKey[];
  identity_keys: IdentityKey[];
  unregistered_keys: Array<{ key_id: string; public_key: string }>;
  now: number;
  acceptance_window_sec: number;
  cases: RequestStep[];
  sequences: Array<{ name: string; sequence: RequestStep[] }>;
}
interface EnvelopeCase extends Signed {
  name: string;
  envelope: JsonValue;
  bound: { request_id: string; identity: string; action: string; parameters_json: string; parameters_digest: string };
  expected: Expected;
}
interface EnvelopesFile {
  test_keys: TestKey[];
  trusted_keys: TrustedKey[];
  untrusted_keys: Array<{ key_id: string; public_key: string }>;
  now: number;
  request: Record<string, JsonValue>;
  request_parameters_digest: string;
  cases: EnvelopeCase[];
}

/** Our own strict reader loads the files: they must pass it too. */
const load = <T,>(name: string): T => parseStrictJson(readFileSync(join(VECTORS_DIR, name))) as unknown as T;
const jcs = load<JcsFile>('jcs.json');
const requests = load<RequestsFile>('requests.json');
const envelopes = load<EnvelopesFile>('envelopes.json');

const allTestKeys = new Map([...requests.test_keys, ...envelopes.test_keys].map((key) => [key.key_id, key]));

function secretOf(keyId: string | undefined): Uint8Array {
  const entry = keyId === undefined ? undefined : allTestKeys.get(keyId);
  if (entry === undefined) throw new Error(`no test key ${String(keyId)}`);
  return fromHex(entry.seed_hex)!;
}

function withoutSignature(message: Record<string, JsonValue>): Record<string, JsonValue> {
  const { signature: _signature, ...fields } = message;
  return fields;
}

/** signing_input, its hex and the signature are what our primitives produce, byte for byte. */
function expectSignatureReproduced(message: Record<string, JsonValue>, signed: Signed): void {
  expect(signed.signing_input).toBe(canonicalize(withoutSignature(message)));
  expect(signed.signing_input_hex).toBe(toHex(utf8Encode(signed.signing_input!)));
  expect(signed.signature).toBe(message.signature);
  // Ed25519 is deterministic: re-signing what was signed must give the very same signature.
  const signedOver = parseStrictJson(signed.signed_over ?? signed.signing_input!);
  expect(signCanonical(signedOver, secretOf(signed.signed_by))).toBe(signed.signature);
  if (signed.signed_over !== undefined) expect(signed.signed_over).not.toBe(signed.signing_input);
}

const verdictOf = (codes: DenialCode[]): Expected['verdict'] => (codes.length === 0 ? 'accept' : 'deny');

describe('the vector files', () => {
  it('are exactly what the generator produces (vectors cannot drift from the code)', () => {
    const built = buildVectors();
    for (const name of VECTOR_FILES) {
      expect(readFileSync(join(VECTORS_DIR, name), 'utf8'), `${name} is stale: run npx tsx conformance/vectors/generate.ts`).toBe(
        serializeVectorFile(built[name]),
      );
    }
    expect(readdirSync(VECTORS_DIR).filter((file) => file.endsWith('.json')).sort()).toEqual([...VECTOR_FILES].sort());
  });

  it('use the documented fixed test keys', () => {
    for (const key of allTestKeys.values()) {
      const pair = testKeyPair(key.name);
      expect(key.key_id).toBe(pair.keyId);
      expect(key.seed_hex).toBe(toHex(pair.secretKey));
      expect(sha256Digest(TEST_KEY_SEED_PREFIX + key.name)).toBe(`sha256:${key.seed_hex}`);
      expect(key.public_key).toBe(publicKeyToText(pair.publicKey));
    }
  });

  it('cover every code and reason they are meant to', () => {
    const requestCodes = new Set([...requests.cases, ...requests.sequences.flatMap((s) => s.sequence)].flatMap((c) => c.expected.codes));
    expect([...requestCodes].sort()).toEqual(
      ['KEY_REVOKED', 'KEY_UNKNOWN', 'NONCE_MALFORMED', 'REPLAY_DETECTED', 'REQUEST_MALFORMED', 'SIGNATURE_INVALID', 'TIMESTAMP_FUTURE', 'TIMESTAMP_STALE'],
    );
    const envelopeCodes = new Set(envelopes.cases.flatMap((c) => c.expected.codes));
    expect([...envelopeCodes].sort()).toEqual(
      ['ENVELOPE_BINDING_MISMATCH', 'ENVELOPE_EXPIRED', 'ENVELOPE_MISSING', 'ENVELOPE_NOT_YET_VALID', 'ENVELOPE_SIGNATURE_INVALID'],
    );
    expect(new Set(jcs.rejects.map((r) => r.reason))).toEqual(
      new Set(['syntax', 'duplicate-key', 'invalid-utf8', 'lone-surrogate', 'non-finite-number', 'too-deep']),
    );
    for (const c of [...requests.cases, ...envelopes.cases]) expect(c.expected.verdict).toBe(verdictOf(c.expected.codes));
    for (const group of [[...jcs.cases, ...jcs.rejects], [...requests.cases, ...requests.sequences], envelopes.cases]) {
      const names = group.map((c) => c.name);
      expect(new Set(names).size, 'case names are unique within a file').toBe(names.length);
    }
  });
});

describe('jcs.json', () => {
  it.each(jcs.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const canonical = canonicalize(parseStrictJson(c.input_json));
    expect(canonical).toBe(c.canonical);
    expect(toHex(utf8Encode(canonical))).toBe(c.canonical_hex);
    expect(sha256Digest(fromHex(c.canonical_hex)!)).toBe(c.digest);
    // An independent reader of the same text agrees.
    expect(canonicalize(JSON.parse(c.input_json))).toBe(c.canonical);
  });

  it('\\u00e9 and a literal é have the same canonical form', () => {
    const byName = new Map(jcs.cases.map((c) => [c.name, c]));
    expect(byName.get('string-escaped-e-acute')?.canonical).toBe(byName.get('string-literal-e-acute')?.canonical);
    expect(byName.get('number-1.0')?.canonical).toBe('1');
    expect(byName.get('number-9007199254740993-loses-precision')?.canonical).toBe('9007199254740992');
  });

  it.each(jcs.rejects.map((r) => [r.name, r] as const))('rejects %s', (_name, r) => {
    const reasonFor = (input: string | Uint8Array): string | undefined => {
      try {
        parseStrictJson(input);
        return undefined;
      } catch (error) {
        return error instanceof StrictJsonError ? error.reason : `unexpected ${String(error)}`;
      }
    };
    expect(reasonFor(fromHex(r.input_hex)!)).toBe(r.reason);
    if (r.input_json !== undefined) {
      expect(toHex(utf8Encode(r.input_json))).toBe(r.input_hex);
      expect(reasonFor(r.input_json)).toBe(r.reason);
    }
  });
});

describe('requests.json', () => {
  it('registry entries are well-formed, the unregistered key is not registered', () => {
    for (const key of requests.identity_keys) expect(validateIdentityKey(key).ok).toBe(true);
    for (const key of requests.unregistered_keys) {
      expect(publicKeyFromText(key.public_key)).toBeDefined();
      expect(requests.identity_keys.some((registered) => registered.key_id === key.key_id || registered.public_key === key.public_key)).toBe(false);
    }
  });

  /** The verdict pipeline of a gate, minus policy: read, authenticate, claim the nonce. */
  function verdict(step: RequestStep, claimedNonces: Set<string>): DenialCode[] {
    const read = readRequest(utf8Encode(step.body));
    if (!read.ok) return [read.code];
    const codes = authenticateRequest(read.request, requests.identity_keys, requests.now, requests.acceptance_window_sec);
    if (codes.length > 0) return codes;
    const key = nonceKey(read.request.identity, read.request.action, read.request.nonce);
    if (claimedNonces.has(key)) return ['REPLAY_DETECTED'];
    claimedNonces.add(key);
    return [];
  }

  function expectStepReproduced(step: RequestStep): void {
    expect(parseStrictJson(step.body)).toStrictEqual(step.request);
    expectSignatureReproduced(step.request, step);
    expect(step.request_hash).toBe(sha256Digest(utf8Encode(step.body)));
    expect(step.parameters_digest).toBe(Object.hasOwn(step.request, 'parameters') ? digestJson(step.request.parameters) : null);
  }

  it.each(requests.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expectStepReproduced(c);
    expect(verdict(c, new Set())).toEqual(c.expected.codes);
    const authentic = verifyCanonical(parseStrictJson(c.signing_input!), c.signature!, publicKeyFromText(allTestKeys.get(c.signed_by!)!.public_key)!);
    expect(authentic).toBe(c.signed_over === undefined);
  });

  it('the body of every case but one is the canonical form of its request', () => {
    const nonCanonical = requests.cases.filter((c) => c.body !== canonicalize(c.request)).map((c) => c.name);
    expect(nonCanonical).toEqual(['parameter-key-order-changed']);
  });

  it('all cases and sequences, run in file order against one nonce store, give the same verdicts', () => {
    const claimedNonces = new Set<string>();
    for (const step of [...requests.cases, ...requests.sequences.flatMap((s) => s.sequence)]) {
      expect(verdict(step, claimedNonces), step.name).toEqual(step.expected.codes);
    }
  });

  it.each(requests.sequences.map((s) => [s.name, s] as const))('sequence %s', (_name, s) => {
    const claimedNonces = new Set<string>();
    for (const step of s.sequence) {
      expectStepReproduced(step);
      expect(verdict(step, claimedNonces), step.name).toEqual(step.expected.codes);
    }
  });
});

describe('envelopes.json', () => {
  it('the bound request is authentic and its parameters digest is reproduced', () => {
    for (const key of envelopes.trusted_keys) expect(validateTrustedKey(key).ok).toBe(true);
    const read = readRequest(canonicalize(envelopes.request));
    expect(read.ok).toBe(true);
    if (!read.ok) return;
    const alice = allTestKeys.get(read.request.key_id)!;
    const registry: IdentityKey[] = [{ key_id: read.request.key_id, identity: read.request.identity, public_key: alice.public_key, state: 'active' }];
    expect(authenticateRequest(read.request, registry, envelopes.now, 300)).toEqual([]);
    expect(envelopes.request_parameters_digest).toBe(digestJson(read.request.parameters));
  });

  it.each(envelopes.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    if (c.signing_input !== undefined) expectSignatureReproduced(c.envelope as Record<string, JsonValue>, c);
    const parameters = parseStrictJson(c.bound.parameters_json);
    expect(c.bound.parameters_digest).toBe(digestJson(parameters));
    const codes = checkEnvelope(c.envelope, { ...c.bound, parameters }, envelopes.trusted_keys, envelopes.now);
    expect(codes).toEqual(c.expected.codes);
  });
});
