// RFC 8785 (JCS) canonical JSON, and the profile's sha256 digests.
import { createHash, timingSafeEqual } from 'node:crypto';
import { defect } from './defects.mjs';

export class CanonicalError extends Error {}

export function canonicalize(value) {
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalError('non-finite number');
      return String(value); // ECMAScript Number::toString, as RFC 8785 requires; -0 -> "0"
    case 'string':
      if (!value.isWellFormed()) throw new CanonicalError('lone surrogate');
      return JSON.stringify(value); // JCS string escaping == JSON.stringify for well-formed strings
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) return `[${value.map(canonicalize).join(',')}]`;
      const keys = Object.keys(value).sort(); // default sort = UTF-16 code unit order
      let out = '{';
      for (let k = 0; k < keys.length; k++) {
        if (!keys[k].isWellFormed()) throw new CanonicalError('lone surrogate in key');
        if (k) out += ',';
        out += `${JSON.stringify(keys[k])}:${canonicalize(value[keys[k]])}`;
      }
      return `${out}}`;
    }
    default:
      throw new CanonicalError(`not a JSON value: ${typeof value}`);
  }
}

export function sha256Hex(data) {
  return createHash('sha256').update(data).digest('hex');
}

/** "sha256:<hex>" of raw bytes or a string's UTF-8 bytes. */
export function digestBytes(data) {
  return `sha256:${sha256Hex(data)}`;
}

/** "sha256:<hex>" of the canonical form of a JSON value. */
export function digestValue(value) {
  return digestBytes(Buffer.from(canonicalize(value), 'utf8'));
}

/** Digest of request parameters, as bound by envelopes (Gate and Execution Layer). */
export function parametersDigest(value) {
  if (defect('insertion-order-digest')) return digestBytes(Buffer.from(JSON.stringify(value), 'utf8')); // DEFECT
  return digestValue(value);
}

export const EMPTY_DIGEST = digestBytes(Buffer.alloc(0));
export const GENESIS_HASH = `sha256:${'0'.repeat(64)}`;

/** Constant-time comparison of two strings (digests). */
export function constantTimeEqual(a, b) {
  const x = Buffer.from(String(a), 'utf8');
  const y = Buffer.from(String(b), 'utf8');
  if (x.length !== y.length) {
    timingSafeEqual(x, x); // same work either way
    return false;
  }
  return timingSafeEqual(x, y);
}

/** Copy of an object without one key (for signing inputs and record hashes). */
export function without(obj, key) {
  const out = {};
  for (const k of Object.keys(obj)) {
    if (k !== key) Object.defineProperty(out, k, { value: obj[k], enumerable: true, writable: true, configurable: true });
  }
  return out;
}
