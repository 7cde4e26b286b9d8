import fs from 'node:fs';
import crypto from 'node:crypto';
import { strictParse, canonicalize, sha256, checkEnvelope, publicKeyFromB64, digestValue } from './lib.mjs';
const V = new URL('../../conformance/vectors/', import.meta.url).pathname;
const jcs = JSON.parse(fs.readFileSync(V + 'jcs.json', 'utf8'));
let bad = 0;
for (const c of jcs.cases) {
  const v = strictParse(Buffer.from(c.input_json, 'utf8'));
  const out = Buffer.from(canonicalize(v), 'utf8');
  if (out.toString('hex') !== c.canonical_hex || sha256(out) !== c.digest) { bad++; console.log('JCS FAIL', c.name); }
}
for (const r of jcs.rejects) {
  try { strictParse(Buffer.from(r.input_hex, 'hex')); bad++; console.log('REJECT FAIL', r.name); } catch {}
}
const env = JSON.parse(fs.readFileSync(V + 'envelopes.json', 'utf8'));
const trusted = new Map(env.trusted_keys.map((k) => [k.key_id, publicKeyFromB64(k.public_key)]));
for (const c of env.cases) {
  const b = c.bound;
  const params = strictParse(Buffer.from(b.parameters_json, 'utf8'));
  const e = c.envelope === null ? null : strictParse(Buffer.from(JSON.stringify(c.envelope)));
  const code = checkEnvelope(e, { request_id: b.request_id, identity: b.identity, action: b.action, parameters_digest: digestValue(params) }, trusted, env.now);
  const ok = c.expected.verdict === 'accept' ? code === null : c.expected.codes.includes(code);
  if (!ok) { bad++; console.log('ENV FAIL', c.name, code, c.expected); }
}
// wycheproof
const wy = JSON.parse(fs.readFileSync(V + 'external/wycheproof/ed25519_test.json', 'utf8'));
let wn = 0;
for (const g of wy.testGroups) {
  let key;
  try { key = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(g.publicKey.pk, 'hex').toString('base64url') }, format: 'jwk' }); } catch { key = null; }
  for (const t of g.tests) {
    let r = false;
    try { r = key ? crypto.verify(null, Buffer.from(t.msg, 'hex'), key, Buffer.from(t.sig, 'hex')) : false; } catch { r = false; }
    if (Buffer.from(t.sig, 'hex').length !== 64) r = false;
    const exp = t.result === 'valid';
    if (r !== exp) { wn++; console.log('WYCHE', t.tcId, t.comment, t.result, r); }
  }
}
console.log('failures', bad, 'wycheproof mismatches', wn);
