// Ed25519 with strict RFC 8032 decoding (@noble/curves, zip215: false: canonical A and R,
// S < L, small-order keys refused). Keys and signatures are base64url without padding.
import { ed25519 } from '@noble/curves/ed25519.js';
import { canonicalize, without } from './canonical.mjs';

const B64URL_32 = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
const B64URL_64 = /^[A-Za-z0-9_-]{85}[AQgw]$/;

export function decodePublicKey(text) {
  if (typeof text !== 'string' || !B64URL_32.test(text)) return null;
  const bytes = new Uint8Array(Buffer.from(text, 'base64url'));
  if (bytes.length !== 32) return null;
  try {
    ed25519.Point.fromBytes(bytes, false); // canonical point encoding
  } catch {
    return null;
  }
  return bytes;
}

export function decodeSignature(text) {
  if (typeof text !== 'string' || !B64URL_64.test(text)) return null;
  const bytes = new Uint8Array(Buffer.from(text, 'base64url'));
  return bytes.length === 64 ? bytes : null;
}

/** The signing input of a signed message: canonical JSON of every field but `signature`. */
export function signingInput(message) {
  return Buffer.from(canonicalize(without(message, 'signature')), 'utf8');
}

/** Verify `message.signature` with a 32-byte public key. Never throws. */
export function verifyMessage(message, publicKey) {
  try {
    const sig = decodeSignature(message.signature);
    if (!sig || !publicKey) return false;
    return ed25519.verify(sig, new Uint8Array(signingInput(message)), publicKey, { zip215: false });
  } catch {
    return false;
  }
}

export function publicKeyFromSeed(seed) {
  return ed25519.getPublicKey(seed);
}

export function sign(bytes, seed) {
  return Buffer.from(ed25519.sign(new Uint8Array(bytes), seed)).toString('base64url');
}
