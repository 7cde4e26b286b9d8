/**
 * Ed25519 signatures over RFC 8785 canonical JSON, keys named `ed25519/<id>`.
 *
 * Verification is strict RFC 8032 (no ZIP-215 leniency: non-canonical point encodings are
 * refused), so a signature has exactly one accepted encoding and verifiers cannot disagree.
 * The arithmetic is ed25519.ts's: OpenSSL where it agrees with that, @noble/curves where not.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { canonicalBytes } from './canonical-json.ts';
import { signEd25519, verifyEd25519 } from './ed25519.ts';
import { fromBase64Url, toBase64Url, utf8Encode } from './encoding.ts';

export type KeyId = `ed25519/${string}`;

const KEY_ID_PATTERN = /^ed25519\/[A-Za-z0-9._-]{1,64}$/;
const SEED_LENGTH = 32;
const PUBLIC_KEY_LENGTH = 32;
const SIGNATURE_BYTES = 64;

export function isKeyId(value: unknown): value is KeyId {
  return typeof value === 'string' && KEY_ID_PATTERN.test(value);
}

export interface KeyPair {
  keyId: KeyId;
  /** the 32-byte RFC 8032 seed */
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

export function keyPairFromSeed(keyId: KeyId, seed: Uint8Array): KeyPair {
  if (!isKeyId(keyId)) throw new TypeError(`not a key id: ${String(keyId)}`);
  if (seed.length !== SEED_LENGTH) throw new TypeError(`an Ed25519 seed has ${SEED_LENGTH} bytes, got ${seed.length}`);
  const secretKey = Uint8Array.from(seed);
  return { keyId, secretKey, publicKey: ed25519.getPublicKey(secretKey) };
}

export function generateKeyPair(keyId: KeyId): KeyPair {
  return keyPairFromSeed(keyId, ed25519.utils.randomSecretKey());
}

export const TEST_KEY_SEED_PREFIX = 'failclosed test key ';

/**
 * FIXED, PUBLIC test keys for vectors and tests — never for production: anyone can derive the
 * secret. seed = sha256(utf8("failclosed test key " + name)), key id `ed25519/<name>`.
 */
export function testKeyPair(name: string): KeyPair {
  const keyId = `ed25519/${name}`;
  if (!isKeyId(keyId)) throw new TypeError(`test key name must match [A-Za-z0-9._-]{1,64}: ${name}`);
  return keyPairFromSeed(keyId, sha256(utf8Encode(TEST_KEY_SEED_PREFIX + name)));
}

/** Ed25519 over canonicalBytes(fields), as base64url without padding (86 characters). */
export function signCanonical(fields: unknown, secretKey: Uint8Array): string {
  return toBase64Url(signEd25519(canonicalBytes(fields), secretKey));
}

/** Never throws: a non-JSON value, a malformed signature or key simply does not verify. */
export function verifyCanonical(fields: unknown, signature: string, publicKey: Uint8Array): boolean {
  try {
    const signatureBytes = fromBase64Url(signature);
    if (signatureBytes?.length !== SIGNATURE_BYTES) return false;
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_LENGTH) return false;
    return verifyEd25519(signatureBytes, canonicalBytes(fields), publicKey);
  } catch {
    return false;
  }
}

export function publicKeyToText(publicKey: Uint8Array): string {
  return toBase64Url(publicKey);
}

export function publicKeyFromText(text: string): Uint8Array | undefined {
  const bytes = fromBase64Url(text);
  return bytes?.length === PUBLIC_KEY_LENGTH ? bytes : undefined;
}
