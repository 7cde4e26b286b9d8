/**
 * The profile's digest: SHA-256 (node:crypto's, OpenSSL), written `sha256:<64 lowercase hex>`.
 */
import { createHash } from 'node:crypto';
import { canonicalBytes } from './canonical-json.ts';

export type Digest = `sha256:${string}`;

/** The audit chain's genesis `prev_hash`. */
export const ZERO_DIGEST: Digest = `sha256:${'0'.repeat(64)}`;

const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** SHA-256 of the bytes, or of the UTF-8 of a string. */
export function sha256Digest(data: Uint8Array | string): Digest {
  // A string is hashed as its UTF-8 bytes (a lone surrogate becomes U+FFFD, as in TextEncoder).
  return `sha256:${createHash('sha256').update(typeof data === 'string' ? Buffer.from(data, 'utf8') : data).digest('hex')}`;
}

/** SHA-256 of the RFC 8785 canonical bytes; throws CanonicalJsonError for a non-JSON value. */
export function digestJson(value: unknown): Digest {
  return sha256Digest(canonicalBytes(value));
}

export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST_PATTERN.test(value);
}

/**
 * Equality whose running time depends only on the length, not on where the inputs differ, so a
 * verifier comparing an attacker-chosen digest leaks nothing about the expected one.
 */
export function digestsEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}
