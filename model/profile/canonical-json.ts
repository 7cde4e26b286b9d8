/**
 * RFC 8785 (JSON Canonicalization Scheme) and a strict RFC 8259 reader for untrusted bodies.
 *
 * Signatures and digests of the profile are computed over `canonicalBytes`, so two parties agree
 * on them iff they agree on this serialisation. The reader refuses everything two JSON libraries
 * could read differently (duplicate keys, lone surrogates, out-of-range numbers, a BOM…) so that
 * what the Gate checks is what the Execution Layer executes.
 */
import { utf8DecodeStrict, utf8Encode } from './encoding.ts';

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

// ---------------------------------------------------------------- canonicalization

export class CanonicalJsonError extends Error {
  override name = 'CanonicalJsonError';
}

/** Index of the first unpaired UTF-16 surrogate, or -1 when the string is well formed. */
export function findLoneSurrogate(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return i;
    }
    if (unit >= 0xdc00 && unit <= 0xdfff) return i;
  }
  return -1;
}

/** Any surrogate code unit: only strings that have one need the pairing check. */
const ANY_SURROGATE = /[\ud800-\udfff]/;

/**
 * Where the serialiser is, from the root: keys and array indexes, turned into "$.a[0]" only when
 * an error needs it (building the path text for every value cost more than serialising it).
 */
type Trail = (string | number)[];

function pathOf(trail: Trail): string {
  let out = '$';
  for (const step of trail) out += typeof step === 'number' ? `[${step}]` : `.${step}`;
  return out;
}

/**
 * RFC 8785 §3.2.2.2: only `"`, `\` and C0 controls are escaped (\b \t \n \f \r short, the rest
 * \u00xx in lower case); everything else is literal. That is exactly JSON.stringify of a well-formed
 * string (ES2019), which is native; lone surrogates, which it would escape, are refused first.
 */
function serializeString(text: string, trail: Trail, isKey: boolean): string {
  if (ANY_SURROGATE.test(text) && findLoneSurrogate(text) !== -1) {
    throw new CanonicalJsonError(`${pathOf(trail)}${isKey ? ' key' : ''}: string contains a lone surrogate`);
  }
  return JSON.stringify(text);
}

/**
 * RFC 8785 §3.2.2.3: the ECMAScript Number-to-String algorithm, which JS implements natively
 * (String(-0) is already "0").
 */
function serializeNumber(value: number, trail: Trail): string {
  if (!Number.isFinite(value)) throw new CanonicalJsonError(`${pathOf(trail)}: ${value} is not a JSON number`);
  return String(value);
}

function isPlainObject(value: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function serialize(value: unknown, trail: Trail, ancestors: Set<object>): string {
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return serializeNumber(value, trail);
    case 'string':
      return serializeString(value, trail, false);
    case 'object':
      break;
    default:
      throw new CanonicalJsonError(`${pathOf(trail)}: a ${typeof value} is not JSON`);
  }
  if (value === null) return 'null';
  if (ancestors.has(value)) throw new CanonicalJsonError(`${pathOf(trail)}: cycle`);
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      let out = '[';
      for (let i = 0; i < value.length; i++) {
        trail.push(i);
        // Own-index check catches holes of sparse arrays (which would otherwise read as undefined).
        if (!Object.hasOwn(value, i)) throw new CanonicalJsonError(`${pathOf(trail)}: hole in array`);
        out += (i === 0 ? '' : ',') + serialize(value[i], trail, ancestors);
        trail.pop();
      }
      return out + ']';
    }
    if (!isPlainObject(value)) {
      throw new CanonicalJsonError(`${pathOf(trail)}: ${value.constructor?.name ?? 'exotic'} object is not plain JSON`);
    }
    if (Object.getOwnPropertySymbols(value).length > 0) {
      throw new CanonicalJsonError(`${pathOf(trail)}: symbol-keyed property`);
    }
    // Default sort compares UTF-16 code units, which is what RFC 8785 §3.2.3 prescribes.
    const keys = Object.keys(value).sort();
    let out = '{';
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k]!;
      const descriptor = Object.getOwnPropertyDescriptor(value, key)!;
      const name = serializeString(key, trail, true);
      trail.push(key);
      if (!('value' in descriptor)) throw new CanonicalJsonError(`${pathOf(trail)}: accessor property`);
      out += (k === 0 ? '' : ',') + name + ':' + serialize(descriptor.value, trail, ancestors);
      trail.pop();
    }
    return out + '}';
  } finally {
    ancestors.delete(value);
  }
}

/** The RFC 8785 canonical JSON text of `value`; throws CanonicalJsonError for anything not JSON. */
export function canonicalize(value: unknown): string {
  return serialize(value, [], new Set());
}

/** UTF-8 of `canonicalize(value)`: the bytes that get hashed and signed. */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8Encode(canonicalize(value));
}

// ---------------------------------------------------------------- strict reader

export type StrictJsonErrorReason =
  | 'syntax'
  | 'duplicate-key'
  | 'invalid-utf8'
  | 'lone-surrogate'
  | 'non-finite-number'
  | 'too-deep'
  | 'too-large';

/**
 * `offset` is a byte offset for `invalid-utf8` and for `too-large`, otherwise an index in UTF-16
 * code units into the (decoded) text.
 */
export class StrictJsonError extends Error {
  override name = 'StrictJsonError';
  constructor(
    readonly reason: StrictJsonErrorReason,
    readonly offset: number,
    message: string,
  ) {
    super(`${reason} at ${offset}: ${message}`);
  }
}

export interface StrictJsonLimits {
  maxBytes: number;
  /** Nesting depth of arrays and objects; a bare scalar has depth 0, `[]` depth 1. */
  maxDepth: number;
}
export const DEFAULT_JSON_LIMITS: StrictJsonLimits = { maxBytes: 1_048_576, maxDepth: 64 };

/** Byte offset of the first byte that does not start or continue a valid UTF-8 sequence, or -1. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    let length: number;
    let min: number;
    if (lead >= 0xc2 && lead <= 0xdf) [length, min] = [2, 0x80];
    else if (lead >= 0xe0 && lead <= 0xef) [length, min] = [3, 0x800];
    else if (lead >= 0xf0 && lead <= 0xf4) [length, min] = [4, 0x10000];
    else return i;
    let codePoint = lead & (0xff >> (length + 1));
    for (let k = 1; k < length; k++) {
      const next = bytes[i + k];
      if (next === undefined || (next & 0xc0) !== 0x80) return i;
      codePoint = (codePoint << 6) | (next & 0x3f);
    }
    // overlong forms, UTF-16 surrogates and code points beyond U+10FFFF
    if (codePoint < min || (codePoint >= 0xd800 && codePoint <= 0xdfff) || codePoint > 0x10ffff) return i;
    i += length;
  }
  return -1;
}

/** UTF-8 length of a JS string, counting a lone surrogate as the 3 bytes of U+FFFD. */
function utf8Length(text: string): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) length += 1;
    else if (unit < 0x800) length += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      length += 4;
      i++;
    } else length += 3;
  }
  return length;
}

const NUMBER_PATTERN = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const HEX4_PATTERN = /^[0-9a-fA-F]{4}$/;

type Frame =
  | { kind: 'array'; value: JsonValue[] }
  | { kind: 'object'; value: JsonObject; key: string };

/** Adds a member as a plain own data property: `__proto__` and friends get no special meaning. */
function defineMember(target: JsonObject, key: string, value: JsonValue): void {
  // A key no prototype has (nearly all) is assigned: the same own data property, several times
  // faster than defineProperty, which the others (`__proto__`, `toString`…) still need.
  if (!(key in Object.prototype)) target[key] = value;
  else Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

class Reader {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  private fail(reason: StrictJsonErrorReason, message: string, offset = this.pos): never {
    throw new StrictJsonError(reason, offset, message);
  }

  private skipWhitespace(): void {
    for (;;) {
      const unit = this.text.charCodeAt(this.pos);
      if (unit === 0x20 || unit === 0x09 || unit === 0x0a || unit === 0x0d) this.pos++;
      else return;
    }
  }

  private expect(char: string): void {
    if (this.text[this.pos] !== char) this.fail('syntax', `expected '${char}'`);
    this.pos++;
  }

  private readString(): string {
    const start = this.pos;
    this.expect('"');
    let out = '';
    let runStart = this.pos;
    for (;;) {
      const unit = this.text.charCodeAt(this.pos);
      if (Number.isNaN(unit)) this.fail('syntax', 'unterminated string', start);
      if (unit === 0x22) break;
      if (unit < 0x20) this.fail('syntax', 'unescaped control character in string');
      if (unit !== 0x5c) {
        this.pos++;
        continue;
      }
      out += this.text.slice(runStart, this.pos);
      const escape = this.text[this.pos + 1];
      switch (escape) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const hex = this.text.slice(this.pos + 2, this.pos + 6);
          if (!HEX4_PATTERN.test(hex)) this.fail('syntax', 'bad \\u escape');
          out += String.fromCharCode(Number.parseInt(hex, 16));
          this.pos += 4;
          break;
        }
        default:
          this.fail('syntax', 'bad escape');
      }
      this.pos += 2;
      runStart = this.pos;
    }
    out += this.text.slice(runStart, this.pos);
    this.pos++;
    // Checked on the unescaped value: a pair may be spelled raw, escaped, or half and half.
    if (findLoneSurrogate(out) !== -1) this.fail('lone-surrogate', 'string contains an unpaired surrogate', start);
    return out;
  }

  private readNumber(): number {
    const start = this.pos;
    NUMBER_PATTERN.lastIndex = start;
    const match = NUMBER_PATTERN.exec(this.text);
    if (match === null) this.fail('syntax', 'unexpected character');
    this.pos = start + match[0].length;
    // Number() of a text in JSON number grammar rounds to nearest double, exactly like JSON.parse.
    const value = Number(match[0]);
    if (!Number.isFinite(value)) this.fail('non-finite-number', 'number does not fit a double', start);
    return value;
  }

  private readLiteral(word: 'true' | 'false' | 'null', value: JsonValue): JsonValue {
    if (!this.text.startsWith(word, this.pos)) this.fail('syntax', 'unexpected character');
    this.pos += word.length;
    return value;
  }

  /** Reads `"key":` for a member of `target` and returns the key. */
  private readMemberKey(target: JsonObject): string {
    this.skipWhitespace();
    const keyStart = this.pos;
    if (this.text[this.pos] !== '"') this.fail('syntax', 'expected a string key');
    const key = this.readString();
    if (Object.hasOwn(target, key)) this.fail('duplicate-key', `duplicate key ${JSON.stringify(key)}`, keyStart);
    this.skipWhitespace();
    this.expect(':');
    return key;
  }

  /** Iterative, so that no input can exhaust the call stack whatever maxDepth a caller sets. */
  read(): JsonValue {
    if (this.text.charCodeAt(0) === 0xfeff) this.fail('syntax', 'byte order mark');
    const stack: Frame[] = [];
    let value: JsonValue;
    parsing: for (;;) {
      this.skipWhitespace();
      const char = this.text[this.pos];
      if (char === '{' || char === '[') {
        if (stack.length + 1 > this.maxDepth) this.fail('too-deep', `nesting deeper than ${this.maxDepth}`);
        this.pos++;
        this.skipWhitespace();
        if (char === '{') {
          const object: JsonObject = {};
          if (this.text[this.pos] === '}') {
            this.pos++;
            value = object;
          } else {
            stack.push({ kind: 'object', value: object, key: this.readMemberKey(object) });
            continue parsing;
          }
        } else if (this.text[this.pos] === ']') {
          this.pos++;
          value = [];
        } else {
          stack.push({ kind: 'array', value: [] });
          continue parsing;
        }
      } else if (char === '"') value = this.readString();
      else if (char === 't') value = this.readLiteral('true', true);
      else if (char === 'f') value = this.readLiteral('false', false);
      else if (char === 'n') value = this.readLiteral('null', null);
      else if (char === undefined) this.fail('syntax', 'unexpected end of input');
      else value = this.readNumber();

      // Attach the completed value to its container; close containers as far as they end here.
      for (;;) {
        const frame = stack.at(-1);
        if (frame === undefined) break parsing;
        if (frame.kind === 'array') frame.value.push(value);
        else defineMember(frame.value, frame.key, value);
        this.skipWhitespace();
        const next = this.text[this.pos];
        if (next === ',') {
          this.pos++;
          if (frame.kind === 'object') frame.key = this.readMemberKey(frame.value);
          continue parsing;
        }
        if (next === (frame.kind === 'array' ? ']' : '}')) {
          this.pos++;
          stack.pop();
          value = frame.value;
          continue;
        }
        this.fail('syntax', next === undefined ? 'unexpected end of input' : `expected ',' or the end of the ${frame.kind}`);
      }
    }
    this.skipWhitespace();
    if (this.pos !== this.text.length) this.fail('syntax', 'trailing characters after the JSON value');
    return value;
  }
}

/**
 * Reads untrusted JSON (RFC 8259, strictly) and throws StrictJsonError on anything else. Objects
 * are ordinary objects whose members are own data properties, as JSON.parse makes them.
 */
export function parseStrictJson(input: string | Uint8Array, limits: Partial<StrictJsonLimits> = {}): JsonValue {
  // `??` rather than spread: an explicit `undefined` must not switch a limit off.
  const maxBytes = limits.maxBytes ?? DEFAULT_JSON_LIMITS.maxBytes;
  const maxDepth = limits.maxDepth ?? DEFAULT_JSON_LIMITS.maxDepth;
  let text: string;
  if (typeof input === 'string') {
    // Every code unit is at least one byte: refuse huge strings before measuring them.
    if (input.length > maxBytes || utf8Length(input) > maxBytes) {
      throw new StrictJsonError('too-large', maxBytes, `input larger than ${maxBytes} bytes`);
    }
    text = input;
  } else {
    if (input.length > maxBytes) throw new StrictJsonError('too-large', maxBytes, `input larger than ${maxBytes} bytes`);
    const invalidAt = firstInvalidUtf8(input);
    const decoded = invalidAt === -1 ? utf8DecodeStrict(input) : undefined;
    if (decoded === undefined) throw new StrictJsonError('invalid-utf8', Math.max(invalidAt, 0), 'invalid UTF-8');
    text = decoded;
  }
  return new Reader(text, maxDepth).read();
}
