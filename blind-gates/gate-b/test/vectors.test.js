// Gate B against the published failclosed-profile/1.0 vectors (conformance/vectors/*.json):
// canonical JSON and the strict reader, key derivation, signing, request and envelope verdicts.
// Run: FAILCLOSED_VECTORS=/path/to/conformance/vectors node --test test/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseStrict, StrictJsonError } from '../src/profile/strict-json.js';
import { canonicalize } from '../src/profile/canonical.js';
import {
  digestBytes, digestValue, publicKeyOfSeed, publicKeyFromRaw, signBytes, signingInput, verifySignature,
} from '../src/profile/crypto.js';
import { verifyEnvelope } from '../src/profile/envelope.js';
import { Denial } from '../src/profile/codes.js';
import { checkStructure, checkAuthentication } from '../src/gate/request-checks.js';
import { NonceStore } from '../src/storage/nonce-store.js';

const DIR = process.env.FAILCLOSED_VECTORS ?? new URL('../../../conformance/vectors', import.meta.url).pathname;
const load = (f) => JSON.parse(readFileSync(join(DIR, f), 'utf8'));
const jcs = load('jcs.json');
const requests = load('requests.json');
const envelopes = load('envelopes.json');

test('jcs: canonical form, bytes and digest of every case', () => {
  for (const c of jcs.cases) {
    const canon = canonicalize(parseStrict(Buffer.from(c.input_json, 'utf8')));
    assert.equal(canon, c.canonical, c.name);
    assert.equal(Buffer.from(canon, 'utf8').toString('hex'), c.canonical_hex, c.name);
    assert.equal(digestBytes(Buffer.from(canon, 'utf8')), c.digest, c.name);
  }
});

test('jcs: the strict reader refuses every reject, for the right reason', () => {
  for (const r of jcs.rejects) {
    assert.throws(() => parseStrict(Buffer.from(r.input_hex, 'hex'), jcs.reader_limits), (err) => {
      assert.ok(err instanceof StrictJsonError, r.name);
      assert.equal(err.reason, r.reason, r.name);
      return true;
    }, r.name);
  }
});

test('keys: every test key derives its public key from its seed', () => {
  for (const k of [...requests.test_keys, ...envelopes.test_keys]) {
    assert.equal(publicKeyOfSeed(Buffer.from(k.seed_hex, 'hex')), k.public_key, k.name);
  }
});

const seeds = new Map([...requests.test_keys, ...envelopes.test_keys].map((k) => [k.key_id, Buffer.from(k.seed_hex, 'hex')]));
const requestSteps = () => [
  ...requests.cases.map((c) => ({ ...c, group: 'case' })),
  ...requests.sequences.flatMap((s) => s.sequence.map((st) => ({ ...st, group: s.name }))),
];

test('signing: signing inputs and deterministic signatures of requests and envelopes', () => {
  const signed = [...requestSteps().map((c) => ({ msg: c.request, c })), ...envelopes.cases.filter((c) => c.signed_by).map((c) => ({ msg: c.envelope, c }))];
  for (const { msg, c } of signed) {
    const input = signingInput(msg);
    assert.equal(input.toString('hex'), c.signing_input_hex, c.name);
    assert.equal(input.toString('utf8'), c.signing_input, c.name);
    const over = Buffer.from(c.signed_over ?? c.signing_input, 'utf8');
    assert.equal(signBytes(seeds.get(c.signed_by), over), c.signature, c.name);
  }
});

test('requests: every body gets its expected verdict (stages 1-3, clock at vectors.now)', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gate-b-vectors-'));
  try {
    const registry = new Map(requests.identity_keys.map((k) => [k.key_id, { identity: k.identity, state: k.state, key: publicKeyFromRaw(k.public_key) }]));
    const verdict = async (nonces, c) => {
      try {
        const { request } = checkStructure(Buffer.from(c.body, 'utf8'));
        checkAuthentication(request, registry, requests.acceptance_window_sec, requests.now);
        await nonces.claim(request.identity, request.action, request.nonce, request.timestamp);
        return { verdict: 'accept' };
      } catch (err) {
        if (!(err instanceof Denial)) throw err;
        return { verdict: 'deny', code: err.code };
      }
    };
    const check = (c, got) => {
      assert.equal(got.verdict, c.expected.verdict, `${c.group}/${c.name}: ${got.code ?? ''}`);
      if (c.expected.verdict === 'deny') assert.ok(c.expected.codes.includes(got.code), `${c.name}: ${got.code} not in ${c.expected.codes}`);
    };
    const shared = await NonceStore.open(join(dataDir, 'cases'), requests.acceptance_window_sec);
    for (const c of requests.cases) {
      assert.equal(digestBytes(Buffer.from(c.body, 'utf8')), c.request_hash, c.name);
      if (c.parameters_digest) assert.equal(digestValue(c.request.parameters), c.parameters_digest, c.name);
      check({ ...c, group: 'case' }, await verdict(shared, c));
    }
    for (const s of requests.sequences) {
      const fresh = await NonceStore.open(join(dataDir, s.name), requests.acceptance_window_sec);
      for (const st of s.sequence) check({ ...st, group: s.name }, await verdict(fresh, st));
      await fresh.close();
    }
    // Claims survive a restart of the store.
    await shared.close();
    const reopened = await NonceStore.open(join(dataDir, 'cases'), requests.acceptance_window_sec);
    const valid = requests.cases.find((c) => c.name === 'valid');
    assert.deepEqual(await verdict(reopened, valid), { verdict: 'deny', code: 'REPLAY_DETECTED' });
    await reopened.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('envelopes: every envelope gets its expected verdict against its binding', () => {
  const trusted = new Map(envelopes.trusted_keys.map((k) => [k.key_id, publicKeyFromRaw(k.public_key)]));
  for (const c of envelopes.cases) {
    const params = parseStrict(Buffer.from(c.bound.parameters_json, 'utf8'));
    const digest = digestValue(params);
    assert.equal(digest, c.bound.parameters_digest, c.name);
    let got;
    try {
      verifyEnvelope(c.envelope ?? undefined, { ...c.bound, parameters_digest: digest }, trusted, envelopes.now);
      got = { verdict: 'accept' };
    } catch (err) {
      if (!(err instanceof Denial)) throw err;
      got = { verdict: 'deny', code: err.code };
    }
    assert.equal(got.verdict, c.expected.verdict, `${c.name}: ${got.code ?? ''}`);
    if (got.verdict === 'deny') assert.ok(c.expected.codes.includes(got.code), `${c.name}: ${got.code}`);
  }
});

// Beyond the vectors: properties the contract states that the vectors do not cover.

test('ed25519: a malleable signature (S + L) is refused (strict RFC 8032)', () => {
  const c = requests.cases.find((x) => x.name === 'valid');
  const key = publicKeyFromRaw(requests.identity_keys.find((k) => k.key_id === c.request.key_id).public_key);
  assert.ok(verifySignature(key, c.request, c.signature));
  const sig = Buffer.from(c.signature, 'base64url');
  const L = (1n << 252n) + 27742317777372353535851937790883648493n;
  let s = 0n;
  for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i]);
  s += L;
  const out = Buffer.from(sig);
  for (let i = 0; i < 32; i++) {
    out[32 + i] = Number(s & 0xffn);
    s >>= 8n;
  }
  assert.equal(verifySignature(key, c.request, out.toString('base64url')), false);
});

test('limits: 64 KiB and depth 32 are read; over 1 MiB and depth 65 are refused', () => {
  const nest = (d) => '['.repeat(d) + ']'.repeat(d);
  assert.doesNotThrow(() => parseStrict(Buffer.from(JSON.stringify({ p: 'x'.repeat(64 * 1024) }))));
  assert.doesNotThrow(() => parseStrict(Buffer.from(nest(64))));
  assert.throws(() => parseStrict(Buffer.from(nest(65))), /too deep/);
  assert.throws(() => parseStrict(Buffer.from(JSON.stringify({ p: 'x'.repeat(1024 * 1024) }))), (e) => e.reason === 'too-large');
});

test('attribution: a request whole but for its nonce is attributed; a broken one is not', () => {
  const bad = requests.cases.find((c) => c.name === 'malformed-nonce');
  assert.throws(() => checkStructure(Buffer.from(bad.body)), (e) => e.code === 'NONCE_MALFORMED' && e.attribution.identity === 'alice');
  const missing = requests.cases.find((c) => c.name === 'missing-field');
  assert.throws(() => checkStructure(Buffer.from(missing.body)), (e) => e.code === 'REQUEST_MALFORMED' && e.attribution.identity === 'unknown');
});
