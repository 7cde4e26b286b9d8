/**
 * Byte/text encodings of the profile. Decoders are strict and total: anything that is not the one
 * canonical encoding of some byte string yields `undefined`, so two different texts never decode
 * to the same bytes (no signature or key malleability through the encoding).
 */

const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Each ASCII code's value in the alphabet, -1 for every other code (decoding reads by code unit). */
const BASE64URL_VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE64URL_ALPHABET.length; i++) BASE64URL_VALUES[BASE64URL_ALPHABET.charCodeAt(i)] = i;

/** base64url (RFC 4648 §5) without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const b0 = bytes[i]!;
    const b1 = bytes[i + 1];
    const b2 = bytes[i + 2];
    text += BASE64URL_ALPHABET[b0 >> 2];
    text += BASE64URL_ALPHABET[((b0 & 0x03) << 4) | ((b1 ?? 0) >> 4)];
    if (b1 !== undefined) text += BASE64URL_ALPHABET[((b1 & 0x0f) << 2) | ((b2 ?? 0) >> 6)];
    if (b2 !== undefined) text += BASE64URL_ALPHABET[b2 & 0x3f];
  }
  return text;
}

/**
 * Strict base64url decoding: only [A-Za-z0-9_-], no padding, no whitespace, no impossible length
 * (length % 4 === 1) and the unused low bits of the last character must be zero.
 */
export function fromBase64Url(text: string): Uint8Array | undefined {
  if (typeof text !== 'string' || text.length % 4 === 1) return undefined;
  const bytes = new Uint8Array(Math.floor((text.length * 3) / 4));
  let buffer = 0;
  let bufferedBits = 0;
  let written = 0;
  // By code unit, through a table: this runs for every signature and key the profile reads.
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const value = code < 128 ? BASE64URL_VALUES[code]! : -1;
    if (value < 0) return undefined;
    buffer = (buffer << 6) | value;
    bufferedBits += 6;
    if (bufferedBits >= 8) {
      bufferedBits -= 8;
      bytes[written++] = (buffer >> bufferedBits) & 0xff;
      buffer &= (1 << bufferedBits) - 1;
    }
  }
  // Leftover bits are padding inside the last character; non-zero ones make a second spelling.
  if (buffer !== 0) return undefined;
  return written === bytes.length ? bytes : undefined;
}

const encoder = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF in the text so the strict JSON reader can refuse it.
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 encoding. Lone surrogates become U+FFFD; callers that must refuse them check first. */
export function utf8Encode(text: string): Uint8Array {
  return encoder.encode(text);
}

/** UTF-8 decoding that refuses invalid input (overlong forms, surrogates, truncation…). */
export function utf8DecodeStrict(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += byte.toString(16).padStart(2, '0');
  return text;
}

/** Hex of either case, even length, nothing else. */
export function fromHex(text: string): Uint8Array | undefined {
  if (typeof text !== 'string' || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return undefined;
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}
