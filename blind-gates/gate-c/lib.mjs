// failclosed-profile/1.0 primitives: strict JSON reader, RFC 8785 canonical JSON, digests, Ed25519.
import crypto from 'node:crypto';

export const MAX_BYTES = 1024 * 1024;
export const MAX_DEPTH = 64;
export const EMPTY_HASH = 'sha256:' + crypto.createHash('sha256').update('').digest('hex');

export class JsonError extends Error {}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// Strict RFC 8259 reader. Input: Buffer. Objects have a null prototype (so __proto__ is ordinary).
export function strictParse(buf, { maxBytes = MAX_BYTES, maxDepth = MAX_DEPTH } = {}) {
  if (buf.length > maxBytes) throw new JsonError('too-large');
  if (process.env.GATE_DEFECT === 'json-parse') { // "the built-in parser is faster"
    try { return JSON.parse(buf.toString('utf8')); } catch (e) { throw new JsonError(e.message); }
  }
  if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) throw new JsonError('bom');
  let s;
  try { s = utf8.decode(buf); } catch { throw new JsonError('invalid-utf8'); }
  let i = 0;
  const n = s.length;
  const ws = () => { while (i < n) { const c = s.charCodeAt(i); if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++; else break; } };
  const fail = (m) => { throw new JsonError(m + ' at ' + i); };
  const numRe = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
  function str() {
    // s[i] === '"'
    i++;
    let out = '';
    let start = i;
    for (;;) {
      if (i >= n) fail('unterminated string');
      const c = s.charCodeAt(i);
      if (c === 0x22) { out += s.slice(start, i); i++; break; }
      if (c < 0x20) fail('control char');
      if (c === 0x5c) {
        out += s.slice(start, i);
        const e = s[i + 1];
        switch (e) {
          case '"': out += '"'; i += 2; break;
          case '\\': out += '\\'; i += 2; break;
          case '/': out += '/'; i += 2; break;
          case 'b': out += '\b'; i += 2; break;
          case 'f': out += '\f'; i += 2; break;
          case 'n': out += '\n'; i += 2; break;
          case 'r': out += '\r'; i += 2; break;
          case 't': out += '\t'; i += 2; break;
          case 'u': {
            const h = s.slice(i + 2, i + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(h)) fail('bad \\u escape');
            out += String.fromCharCode(parseInt(h, 16)); i += 6; break;
          }
          default: fail('bad escape');
        }
        start = i;
        continue;
      }
      i++;
    }
    if (!out.isWellFormed()) fail('lone-surrogate');
    return out;
  }
  function value(depth) {
    ws();
    if (i >= n) fail('unexpected end');
    const c = s[i];
    if (c === '{') {
      if (depth + 1 > maxDepth) fail('too-deep');
      i++;
      const obj = Object.create(null);
      const seen = new Set();
      ws();
      if (s[i] === '}') { i++; return obj; }
      for (;;) {
        ws();
        if (s[i] !== '"') fail('expected key');
        const k = str();
        if (seen.has(k)) fail('duplicate-key');
        seen.add(k);
        ws();
        if (s[i] !== ':') fail('expected :');
        i++;
        obj[k] = value(depth + 1);
        ws();
        if (s[i] === ',') { i++; continue; }
        if (s[i] === '}') { i++; return obj; }
        fail('expected , or }');
      }
    }
    if (c === '[') {
      if (depth + 1 > maxDepth) fail('too-deep');
      i++;
      const arr = [];
      ws();
      if (s[i] === ']') { i++; return arr; }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (s[i] === ',') { i++; continue; }
        if (s[i] === ']') { i++; return arr; }
        fail('expected , or ]');
      }
    }
    if (c === '"') return str();
    if (s.startsWith('true', i)) { i += 4; return true; }
    if (s.startsWith('false', i)) { i += 5; return false; }
    if (s.startsWith('null', i)) { i += 4; return null; }
    numRe.lastIndex = i;
    const m = numRe.exec(s);
    if (!m || m[0].length === 0) fail('syntax');
    i += m[0].length;
    const v = Number(m[0]);
    if (!Number.isFinite(v)) fail('non-finite-number');
    return v;
  }
  const v = value(0);
  ws();
  if (i !== n) fail('trailing garbage');
  return v;
}

export function isObject(v) { return v !== null && typeof v === 'object' && !Array.isArray(v); }

// RFC 8785 canonical JSON.
export function canonicalize(v) {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error('non-finite');
    return Object.is(v, -0) ? '0' : String(v);
  }
  if (typeof v === 'string') {
    if (!v.isWellFormed()) throw new Error('lone surrogate');
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return '[' + v.map(canonicalize).join(',') + ']';
  if (typeof v === 'object') {
    const keys = Object.keys(v).sort(); // default sort = UTF-16 code unit order
    return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonicalize(v[k])).join(',') + '}';
  }
  throw new Error('not JSON');
}

export function sha256(data) { return 'sha256:' + crypto.createHash('sha256').update(data).digest('hex'); }
export function digestValue(v) { return sha256(Buffer.from(canonicalize(v), 'utf8')); }

export function ctEqual(a, b) {
  const ba = Buffer.from(String(a)), bb = Buffer.from(String(b));
  if (ba.length !== bb.length) { crypto.timingSafeEqual(ba, ba); return false; }
  return crypto.timingSafeEqual(ba, bb);
}

export const RE = {
  nonce: /^[A-Za-z0-9_-]{16,128}$/,
  id: /^[A-Za-z0-9._:-]{1,128}$/,
  name: /^[A-Za-z0-9._:@/-]{1,128}$/,
  keyId: /^ed25519\/[A-Za-z0-9._-]{1,64}$/,
  digest: /^sha256:[0-9a-f]{64}$/,
  signature: /^[A-Za-z0-9_-]{85}[AQgw]$/,
  publicKey: /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/,
};
export const isUnixTime = (v) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= Number.MAX_SAFE_INTEGER;
export const isStr = (v, re) => typeof v === 'string' && re.test(v);

export function publicKeyFromB64(b64) {
  return crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64 }, format: 'jwk' });
}

// Verify an Ed25519 signature over the canonical JSON of obj without `signature`.
export function verifySigned(obj, keyObject) {
  const copy = Object.create(null);
  for (const k of Object.keys(obj)) if (k !== 'signature') copy[k] = obj[k];
  const msg = Buffer.from(canonicalize(copy), 'utf8');
  const sig = Buffer.from(obj.signature, 'base64url');
  if (sig.length !== 64) return false;
  try { return crypto.verify(null, msg, keyObject, sig); } catch { return false; }
}

const ENV_FIELDS = ['approval_id', 'request_id', 'identity', 'action', 'parameters_digest', 'issued_at', 'expires_at', 'key_id', 'signature'];
export function isEnvelopeShape(e) {
  if (!isObject(e)) return false;
  const ks = Object.keys(e);
  if (ks.length !== ENV_FIELDS.length || !ENV_FIELDS.every((k) => Object.hasOwn(e, k))) return false;
  return isStr(e.approval_id, RE.id) && isStr(e.request_id, RE.id) && isStr(e.identity, RE.name) && isStr(e.action, RE.name)
    && isStr(e.parameters_digest, RE.digest) && isUnixTime(e.issued_at) && isUnixTime(e.expires_at)
    && isStr(e.key_id, RE.keyId) && isStr(e.signature, RE.signature);
}

// Check an envelope against what it must be bound to. Returns null when valid, else a code.
// trusted: Map key_id -> KeyObject; nowSec: floored unix seconds.
export function checkEnvelope(env, bound, trusted, nowSec) {
  if (env === undefined || env === null) return 'ENVELOPE_MISSING';
  if (!isEnvelopeShape(env)) return 'ENVELOPE_SIGNATURE_INVALID';
  const key = trusted.get(env.key_id);
  if (!key || !verifySigned(env, key)) return 'ENVELOPE_SIGNATURE_INVALID';
  if (env.issued_at > nowSec) return 'ENVELOPE_NOT_YET_VALID';
  if (process.env.GATE_DEFECT === 'expiry-edge' ? nowSec > env.expires_at : nowSec >= env.expires_at) return 'ENVELOPE_EXPIRED';
  const ok = [ctEqual(env.request_id, bound.request_id), ctEqual(env.identity, bound.identity),
    ctEqual(env.action, bound.action), ctEqual(env.parameters_digest, bound.parameters_digest)];
  if (!ok.every(Boolean)) return 'ENVELOPE_BINDING_MISMATCH';
  return null;
}
