// Strict JSON reader for untrusted bytes (failclosed-profile/1.0, PROFILE.md "Strict JSON reader"):
// RFC 8259 grammar only, UTF-8 only, no BOM, duplicate keys rejected after unescaping, finite
// numbers only, no lone surrogates, bounded size and depth. `__proto__` & co. are ordinary keys.

export const DEFAULT_MAX_BYTES = 1024 * 1024;
export const DEFAULT_MAX_DEPTH = 64;

export class JsonReadError extends Error {
  constructor(reason, message) {
    super(message ?? reason);
    this.reason = reason; // syntax | duplicate-key | invalid-utf8 | lone-surrogate | non-finite-number | too-deep | too-large
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const NUMBER_RE = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/** Parse bytes (Buffer/Uint8Array) or an already-decoded string. */
export function parseStrict(input, { maxBytes = DEFAULT_MAX_BYTES, maxDepth = DEFAULT_MAX_DEPTH } = {}) {
  let text;
  if (typeof input === 'string') {
    text = input;
    if (Buffer.byteLength(text, 'utf8') > maxBytes) throw new JsonReadError('too-large');
  } else {
    if (input.length > maxBytes) throw new JsonReadError('too-large');
    if (input.length >= 3 && input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf) {
      throw new JsonReadError('syntax', 'byte order mark');
    }
    try {
      text = utf8.decode(input);
    } catch {
      throw new JsonReadError('invalid-utf8');
    }
  }
  if (text.charCodeAt(0) === 0xfeff) throw new JsonReadError('syntax', 'byte order mark');
  const p = new Parser(text, maxDepth);
  p.ws();
  const value = p.value(0);
  p.ws();
  if (p.i !== text.length) p.fail('trailing characters');
  return value;
}

class Parser {
  constructor(text, maxDepth) {
    this.t = text;
    this.i = 0;
    this.maxDepth = maxDepth;
  }
  fail(msg) {
    throw new JsonReadError('syntax', `${msg} at offset ${this.i}`);
  }
  ws() {
    const t = this.t;
    let i = this.i;
    for (;;) {
      const c = t.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
    this.i = i;
  }
  value(depth) {
    const c = this.t.charCodeAt(this.i);
    if (c === 0x7b) return this.object(depth + 1);
    if (c === 0x5b) return this.array(depth + 1);
    if (c === 0x22) return this.string();
    if (c === 0x74) return this.literal('true', true);
    if (c === 0x66) return this.literal('false', false);
    if (c === 0x6e) return this.literal('null', null);
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    return this.fail('unexpected character');
  }
  literal(word, v) {
    if (this.t.startsWith(word, this.i)) {
      this.i += word.length;
      return v;
    }
    return this.fail('bad literal');
  }
  number() {
    NUMBER_RE.lastIndex = this.i;
    const m = NUMBER_RE.exec(this.t);
    if (!m) this.fail('bad number');
    this.i += m[0].length;
    const n = Number(m[0]);
    if (!Number.isFinite(n)) throw new JsonReadError('non-finite-number', m[0]);
    return n;
  }
  string() {
    const t = this.t;
    let i = this.i + 1;
    let out = '';
    let start = i;
    for (;;) {
      if (i >= t.length) this.fail('unterminated string');
      const c = t.charCodeAt(i);
      if (c === 0x22) {
        out += t.slice(start, i);
        this.i = i + 1;
        return out;
      }
      if (c < 0x20) {
        this.i = i;
        this.fail('raw control character in string');
      }
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += t.slice(start, i);
      const e = t.charCodeAt(i + 1);
      i += 2;
      switch (e) {
        case 0x22: out += '"'; break;
        case 0x5c: out += '\\'; break;
        case 0x2f: out += '/'; break;
        case 0x62: out += '\b'; break;
        case 0x66: out += '\f'; break;
        case 0x6e: out += '\n'; break;
        case 0x72: out += '\r'; break;
        case 0x74: out += '\t'; break;
        case 0x75: {
          const u = this.hex4(i);
          i += 4;
          if (u >= 0xd800 && u <= 0xdbff) {
            // a high surrogate must be followed by an escaped low surrogate
            if (t.charCodeAt(i) === 0x5c && t.charCodeAt(i + 1) === 0x75) {
              const low = this.hex4(i + 2);
              if (low >= 0xdc00 && low <= 0xdfff) {
                out += String.fromCharCode(u, low);
                i += 6;
                break;
              }
            }
            throw new JsonReadError('lone-surrogate');
          }
          if (u >= 0xdc00 && u <= 0xdfff) throw new JsonReadError('lone-surrogate');
          out += String.fromCharCode(u);
          break;
        }
        default:
          this.i = i - 2;
          this.fail('bad escape');
      }
      start = i;
    }
  }
  hex4(at) {
    const h = this.t.slice(at, at + 4);
    if (!/^[0-9A-Fa-f]{4}$/.test(h)) {
      this.i = at;
      this.fail('bad \\u escape');
    }
    return parseInt(h, 16);
  }
  array(depth) {
    if (depth > this.maxDepth) throw new JsonReadError('too-deep');
    this.i++;
    const arr = [];
    this.ws();
    if (this.t.charCodeAt(this.i) === 0x5d) {
      this.i++;
      return arr;
    }
    for (;;) {
      this.ws();
      arr.push(this.value(depth));
      this.ws();
      const c = this.t.charCodeAt(this.i);
      if (c === 0x2c) { this.i++; continue; }
      if (c === 0x5d) { this.i++; return arr; }
      this.fail('expected , or ]');
    }
  }
  object(depth) {
    if (depth > this.maxDepth) throw new JsonReadError('too-deep');
    this.i++;
    const obj = {};
    const seen = new Set();
    this.ws();
    if (this.t.charCodeAt(this.i) === 0x7d) {
      this.i++;
      return obj;
    }
    for (;;) {
      this.ws();
      if (this.t.charCodeAt(this.i) !== 0x22) this.fail('expected key');
      const key = this.string();
      if (seen.has(key)) throw new JsonReadError('duplicate-key', key);
      seen.add(key);
      this.ws();
      if (this.t.charCodeAt(this.i) !== 0x3a) this.fail('expected :');
      this.i++;
      this.ws();
      const v = this.value(depth);
      // defineProperty: "__proto__" becomes an own, ordinary key (no prototype pollution)
      Object.defineProperty(obj, key, { value: v, enumerable: true, writable: true, configurable: true });
      this.ws();
      const c = this.t.charCodeAt(this.i);
      if (c === 0x2c) { this.i++; continue; }
      if (c === 0x7d) { this.i++; return obj; }
      this.fail('expected , or }');
    }
  }
}

/** True for a plain JSON object (not null, not an array). */
export function isObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
