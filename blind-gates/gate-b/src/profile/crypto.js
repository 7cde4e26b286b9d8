// Digests and Ed25519 of failclosed-profile/1.0, on node:crypto (OpenSSL) — no third-party crypto.
import { createHash, createPublicKey, createPrivateKey, verify, sign, timingSafeEqual, randomBytes } from 'node:crypto';
import { canonicalize, without } from './canonical.js';

export const EMPTY_DIGEST = digestBytes(Buffer.alloc(0));
const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

export function digestBytes(bytes) {
  return 'sha256:' + createHash('sha256').update(bytes).digest('hex');
}

/** sha256 of the RFC 8785 canonical form of a JSON value. */
export function digestValue(value) {
  return digestBytes(Buffer.from(canonicalize(value), 'utf8'));
}

/** Constant-time comparison of two digests in the profile form. */
export function digestEquals(a, b) {
  if (typeof a !== 'string' || typeof b !== 'string' || !DIGEST_RE.test(a) || !DIGEST_RE.test(b)) return false;
  return timingSafeEqual(Buffer.from(a, 'ascii'), Buffer.from(b, 'ascii'));
}

/** Strict base64url without padding; returns null for any other spelling. */
export function fromBase64Url(s, expectedLength) {
  if (typeof s !== 'string' || !/^[A-Za-z0-9_-]*$/.test(s)) return null;
  const buf = Buffer.from(s, 'base64url');
  if (expectedLength !== undefined && buf.length !== expectedLength) return null;
  if (buf.toString('base64url') !== s) return null; // non-canonical trailing bits
  return buf;
}

export function publicKeyFromRaw(b64url) {
  const raw = fromBase64Url(b64url, 32);
  if (!raw) throw new Error('an Ed25519 public key is 32 bytes of base64url without padding');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url }, format: 'jwk' });
}

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function privateKeyFromSeed(seed) {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

export function publicKeyOfSeed(seed) {
  const jwk = createPublicKey(privateKeyFromSeed(seed)).export({ format: 'jwk' });
  return jwk.x;
}

/** The signing input of a signed message: canonical JSON of every field but `signature`. */
export function signingInput(message) {
  return Buffer.from(canonicalize(without(message, 'signature')), 'utf8');
}

/** Ed25519 verification (OpenSSL: S < L enforced, R compared byte for byte). */
export function verifySignature(publicKey, message, signatureB64) {
  const sig = fromBase64Url(signatureB64, 64);
  if (!sig) return false;
  try {
    return verify(null, signingInput(message), publicKey, sig);
  } catch {
    return false;
  }
}

export function signBytes(seed, bytes) {
  return sign(null, bytes, privateKeyFromSeed(seed)).toString('base64url');
}

/** A fresh identifier in the profile's id format. */
export function freshId(prefix) {
  return `${prefix}-${randomBytes(12).toString('hex')}`;
}
