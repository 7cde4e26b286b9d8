// Checks the encoding core against the published vectors (conformance/vectors/*.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseStrict } from '../lib/strict-json.mjs';
import { canonicalize, digestBytes, digestValue, parametersDigest, without } from '../lib/canonical.mjs';
import { publicKeyFromSeed, sign, signingInput } from '../lib/ed25519.mjs';
import { checkRequestStructure } from '../lib/messages.mjs';
import { IdentityRegistry, authenticationFailures, envelopeFailures, trustedKeyMap } from '../lib/request-checks.mjs';

const DIR = process.env.VECTORS_DIR ?? new URL('../../../conformance/vectors', import.meta.url).pathname;
const load = (f) => JSON.parse(readFileSync(`${DIR}/${f}`, 'utf8'));
const jcs = load('jcs.json');
const requests = load('requests.json');
const envelopes = load('envelopes.json');

test('jcs: canonical form, bytes and digest', () => {
  for (const c of jcs.cases) {
    const canon = canonicalize(parseStrict(Buffer.from(c.input_json, 'utf8')));
    assert.equal(canon, c.canonical, c.name);
    assert.equal(Buffer.from(canon, 'utf8').toString('hex'), c.canonical_hex, c.name);
    assert.equal(digestBytes(Buffer.from(canon, 'utf8')), c.digest, c.name);
  }
});

test('jcs: the strict reader refuses every reject with its reason', () => {
  for (const r of jcs.rejects) {
    assert.throws(() => parseStrict(Buffer.from(r.input_hex, 'hex'), jcs.reader_limits), (e) => {
      assert.equal(e.reason, r.reason, r.name);
      return true;
    }, r.name);
  }
});

test('keys derive from their seeds', () => {
  for (const k of [...requests.test_keys, ...envelopes.test_keys]) {
    const pub = Buffer.from(publicKeyFromSeed(Buffer.from(k.seed_hex, 'hex'))).toString('base64url');
    assert.equal(pub, k.public_key, k.name);
  }
});

const seeds = new Map([...requests.test_keys, ...envelopes.test_keys].map((k) => [k.key_id, Buffer.from(k.seed_hex, 'hex')]));
function checkSigning(c, message) {
  if (!c.signed_by) return;
  const input = signingInput(message);
  assert.equal(input.toString('utf8'), c.signing_input, c.name);
  assert.equal(input.toString('hex'), c.signing_input_hex, c.name);
  const over = Buffer.from(c.signed_over ?? c.signing_input, 'utf8');
  assert.equal(sign(over, seeds.get(c.signed_by)), c.signature, c.name);
}

// Run a body through stages 1-3 with an in-memory nonce set (the gate does the same with its store).
function verdict(body, claimed) {
  let v;
  try { v = parseStrict(Buffer.from(body, 'utf8')); } catch { return ['REQUEST_MALFORMED']; }
  const s = checkRequestStructure(v);
  if (!s.ok) return [s.code];
  const codes = authenticationFailures(v, {
    registry: new IdentityRegistry(requests.identity_keys), nowSec: requests.now, windowSec: requests.acceptance_window_sec,
  });
  if (codes.length) return codes;
  const key = JSON.stringify([v.identity, v.action, v.nonce]);
  if (claimed.has(key)) return ['REPLAY_DETECTED'];
  claimed.add(key);
  return [];
}

function assertVerdict(got, expected, name) {
  if (expected.verdict === 'accept') assert.deepEqual(got, [], name);
  else {
    assert.ok(got.length > 0, `${name}: must be denied`);
    assert.ok(expected.codes.includes(got[0]), `${name}: ${got[0]} not in ${expected.codes}`);
  }
}

test('requests: signing inputs, signatures and verdicts', () => {
  const claimed = new Set();
  for (const c of requests.cases) {
    checkSigning(c, c.request);
    assert.equal(digestBytes(Buffer.from(c.body, 'utf8')), c.request_hash, c.name);
    if (c.parameters_digest) {
      // the digest the Gate and Execution Layer bind, over the parameters as read from the exact body
      assert.equal(parametersDigest(parseStrict(Buffer.from(c.body, 'utf8')).parameters), c.parameters_digest, c.name);
    }
    assertVerdict(verdict(c.body, claimed), c.expected, c.name);
  }
});

test('requests: sequences against one fresh nonce store each', () => {
  for (const s of requests.sequences) {
    const claimed = new Set();
    for (const step of s.sequence) {
      checkSigning(step, step.request);
      assertVerdict(verdict(step.body, claimed), step.expected, `${s.name}/${step.name}`);
    }
  }
});

test('envelopes: signing inputs, signatures and verdicts', () => {
  const trustedKeys = trustedKeyMap(envelopes.trusted_keys);
  for (const c of envelopes.cases) {
    if (c.signed_by && c.envelope) checkSigning(c, c.envelope);
    const digest = parametersDigest(parseStrict(Buffer.from(c.bound.parameters_json, 'utf8')));
    assert.equal(digest, c.bound.parameters_digest, c.name);
    const got = envelopeFailures(c.envelope, { ...c.bound, parameters_digest: digest }, { trustedKeys, nowSec: envelopes.now });
    assertVerdict(got, c.expected, c.name);
    // every code we find must be one the vector lists (no code of a check that did not fail)
    for (const code of got) assert.ok(c.expected.codes.includes(code), `${c.name}: extra ${code}`);
  }
});

test('requests: no code of a check that did not fail', () => {
  for (const c of requests.cases) {
    const got = verdict(c.body, new Set());
    for (const code of got) assert.ok(c.expected.codes.includes(code), `${c.name}: extra ${code}`);
  }
});

test('contract examples: policy-question digest and audit example chain', () => {
  const params = { amount: 250, currency: 'EUR', items: [{ qty: 1, sku: 'a-100' }, { qty: 2, sku: 'b-200' }], options: { express: true, notify: { email: 'a@example.test', sms: false } } };
  assert.equal(digestValue(params), 'sha256:798113e3c158623adc861aafecfd21763144ef6c4d7699c5d24722889cac5524');
  const rec = {
    record_id: 'rec-0', timestamp_ms: 1767225600123, identity: 'alice',
    request_hash: 'sha256:b0a2d3c3a0b22637ecbcebde9d8dca5f1c9cd0db9b211fd33518ab50f928831a', trace_id: 'trace-7f3c',
    data_hash: 'sha256:798113e3c158623adc861aafecfd21763144ef6c4d7699c5d24722889cac5524', request_id: 'req-env-1',
    action: 'payments.transfer', decision: 'allow', stage: 'intent', approval_id: 'apr-1',
    prev_hash: 'sha256:0000000000000000000000000000000000000000000000000000000000000000',
    record_hash: 'sha256:bc2b64c82a675bfcf9840fe841fa70c77da1a0da18bffd3416e0f4019b057766',
  };
  assert.equal(digestValue(without(rec, 'record_hash')), rec.record_hash);
});
