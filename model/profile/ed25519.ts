/**
 * Ed25519 for the profile: node:crypto (OpenSSL) where it is fast and agrees with the profile's
 * strict RFC 8032 verification, @noble/curves where only it can decide.
 *
 * Signing is deterministic, so OpenSSL's signature is byte for byte the one @noble/curves makes
 * (signing.test.ts proves it on random keys and messages); OpenSSL is ~30× faster.
 *
 * Verification — the profile's oracle is @noble/curves with zip215 off: canonical encodings of A
 * and R, S < L, no small-order A, the cofactored equation. OpenSSL differs in three ways
 * (/work/shared/spec/ed25519-notes.md): it accepts a non-canonical A, accepts a small-order A, and
 * checks the cofactorless equation. So:
 *   1. a public key is judged once (cached): non-canonical or small-order → never verifies;
 *   2. S ≥ L → never verifies (a byte comparison);
 *   3. OpenSSL says valid → valid: a cofactorless solution solves the cofactored equation too,
 *      and OpenSSL has already refused a non-canonical R;
 *   4. OpenSSL says invalid → ask the strict verifier: only a signature with a torsion component
 *      (crafted, never honest) can be cofactored-valid yet cofactorless-invalid.
 * Honest traffic is decided by OpenSSL alone; forgeries pay for the strict verifier.
 * verifyStrictOracle is the oracle itself, for the differential tests.
 */
import type { KeyObject } from 'node:crypto';
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';

const PKCS8_SEED_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);
/** the group order L, little-endian, as a signature's S is written */
const L_LE = Uint8Array.from([
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
]);
/** caches stay small: a run uses a handful of keys; anything past this is dropped wholesale */
const CACHE_LIMIT = 1024;

const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

function der(prefix: Uint8Array, key: Uint8Array): Buffer {
  return Buffer.concat([prefix, key]);
}

const privateKeys = new Map<string, KeyObject>();

function privateKeyOf(seed: Uint8Array): KeyObject {
  const id = hex(seed);
  let key = privateKeys.get(id);
  if (!key) {
    if (privateKeys.size >= CACHE_LIMIT) privateKeys.clear();
    key = createPrivateKey({ key: der(PKCS8_SEED_PREFIX, seed), format: 'der', type: 'pkcs8' });
    privateKeys.set(id, key);
  }
  return key;
}

/** The 64-byte RFC 8032 signature of `message` under the 32-byte seed. */
export function signEd25519(message: Uint8Array, seed: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, privateKeyOf(seed)));
}

/** A public key as the strict verifier sees it: usable (with its OpenSSL form) or never valid. */
type JudgedKey = { usable: true; key: KeyObject } | { usable: false };
const publicKeys = new Map<string, JudgedKey>();

function judgeKey(publicKey: Uint8Array): JudgedKey {
  const id = hex(publicKey);
  let judged = publicKeys.get(id);
  if (!judged) {
    if (publicKeys.size >= CACHE_LIMIT) publicKeys.clear();
    let usable = false;
    try {
      // Strict decoding (y < p, a point on the curve, no "negative zero" x) and no small order.
      usable = !ed25519.Point.fromBytes(publicKey, false).isSmallOrder();
    } catch {
      usable = false;
    }
    judged = usable ? { usable: true, key: createPublicKey({ key: der(SPKI_PREFIX, publicKey), format: 'der', type: 'spki' }) } : { usable: false };
    publicKeys.set(id, judged);
  }
  return judged;
}

/** S (the signature's second half, little-endian) is below the group order L. */
function scalarBelowOrder(signature: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const s = signature[32 + i]!;
    const l = L_LE[i]!;
    if (s !== l) return s < l;
  }
  return false; // S = L
}

/** The profile's strict RFC 8032 verification, by @noble/curves alone. */
export function verifyStrictOracle(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/** Strict RFC 8032 verification, fast: exactly verifyStrictOracle's verdicts. Lengths are the caller's to check. */
export function verifyEd25519(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  const judged = judgeKey(publicKey);
  if (!judged.usable) return false;
  if (!scalarBelowOrder(signature)) return false;
  if (verify(null, message, judged.key, signature)) return true;
  return verifyStrictOracle(signature, message, publicKey);
}
