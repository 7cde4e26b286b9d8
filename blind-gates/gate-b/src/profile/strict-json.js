// Strict JSON reader of failclosed-profile/1.0: RFC 8259 grammar, UTF-8 only, no BOM,
// duplicate keys refused (compared after unescaping), lone surrogates refused, numbers must be
// finite doubles, bounded size and depth. Objects are created without a prototype so that
// "__proto__", "constructor" and "prototype" are ordinary keys.

export const DEFAULT_LIMITS = Object.freeze({ maxBytes: 1024 * 1024, maxDepth: 64 });

export class StrictJsonError extends Error {
  constructor(reason, message) {
    super(message);
    this.name = 'StrictJsonError';
    /** syntax | duplicate-key | invalid-utf8 | lone-surrogate | non-finite-number | too-deep | too-large */
    this.reason = reason;
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const NUMBER_RE = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/** Parse bytes (Buffer/Uint8Array) or a string. Throws StrictJsonError. */
export function parseStrict(input, limits = DEFAULT_LIMITS) {
  let text;
  if (typeof input === 'string') {
    if (Buffer.byteLength(input, 'utf8') > limits.maxBytes) throw new StrictJsonError('too-large', 'body too large');
    text = input;
    if (/[\uD800-\uDFFF]/.test(text) && !text.isWellFormed()) {
      throw new StrictJsonError('invalid-utf8', 'text is not well-formed Unicode');
    }
  } else {
    if (input.length > limits.maxBytes) throw new StrictJsonError('too-large', 'body too large');
    try {
      text = decoder.decode(input);
    } catch {
      throw new StrictJsonError('invalid-utf8', 'body is not valid UTF-8');
    }
  }
  if (text.charCodeAt(0) === 0xfeff) throw new StrictJsonError('syntax', 'byte order mark');
  const p = new Parser(text, limits.maxDepth);
  p.ws();
  const value = p.value(0);
  p.ws();
  if (p.i !== text.length) p.fail('trailing characters');
  return value;
}

class Parser {
  constructor(text, maxDepth) {
    this.s = text;
    this.i = 0;
    this.maxDepth = maxDepth;
  }

  fail(msg, reason = 'syntax') {
    throw new StrictJsonError(reason, `${msg} at offset ${this.i}`);
  }

  ws() {
    const s = this.s;
    for (;;) {
      const c = s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.i++;
      else return;
    }
  }

  value(depth) {
    const c = this.s[this.i];
    switch (c) {
      case '{': return this.object(depth + 1);
      case '[': return this.array(depth + 1);
      case '"': return this.string();
      case 't': return this.literal('true', true);
      case 'f': return this.literal('false', false);
      case 'n': return this.literal('null', null);
      default:
        if (c === '-' || (c >= '0' && c <= '9')) return this.number();
        return this.fail(c === undefined ? 'unexpected end of input' : 'unexpected character');
    }
  }

  literal(word, v) {
    if (this.s.startsWith(word, this.i)) {
      this.i += word.length;
      return v;
    }
    return this.fail('invalid literal');
  }

  number() {
    NUMBER_RE.lastIndex = this.i;
    const m = NUMBER_RE.exec(this.s);
    if (!m) return this.fail('invalid number');
    this.i += m[0].length;
    const next = this.s[this.i];
    if (next !== undefined && /[0-9.eE+-]/.test(next)) this.fail('invalid number');
    const v = Number(m[0]);
    if (!Number.isFinite(v)) this.fail('number is not a finite double', 'non-finite-number');
    return v;
  }

  string() {
    const s = this.s;
    this.i++; // opening quote
    let out = '';
    let start = this.i;
    for (;;) {
      if (this.i >= s.length) this.fail('unterminated string');
      const c = s.charCodeAt(this.i);
      if (c === 0x22) {
        out += s.slice(start, this.i);
        this.i++;
        return out;
      }
      if (c < 0x20) this.fail('raw control character in string');
      if (c === 0x5c) {
        out += s.slice(start, this.i);
        out += this.escape();
        start = this.i;
        continue;
      }
      this.i++;
    }
  }

  escape() {
    const s = this.s;
    const e = s[this.i + 1];
    this.i += 2;
    switch (e) {
      case '"': return '"';
      case '\\': return '\\';
      case '/': return '/';
      case 'b': return '\b';
      case 'f': return '\f';
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      case 'u': {
        const hi = this.hex4();
        if (hi >= 0xd800 && hi <= 0xdbff) {
          if (s[this.i] === '\\' && s[this.i + 1] === 'u') {
            this.i += 2;
            const lo = this.hex4();
            if (lo >= 0xdc00 && lo <= 0xdfff) return String.fromCharCode(hi, lo);
          }
          return this.fail('lone surrogate', 'lone-surrogate');
        }
        if (hi >= 0xdc00 && hi <= 0xdfff) return this.fail('lone surrogate', 'lone-surrogate');
        return String.fromCharCode(hi);
      }
      default:
        return this.fail('invalid escape');
    }
  }

  hex4() {
    const h = this.s.slice(this.i, this.i + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) this.fail('invalid \\u escape');
    this.i += 4;
    return parseInt(h, 16);
  }

  object(depth) {
    if (depth > this.maxDepth) this.fail('nesting too deep', 'too-deep');
    this.i++; // {
    const obj = Object.create(null);
    const seen = new Set();
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return obj;
    }
    for (;;) {
      if (this.s[this.i] !== '"') this.fail('expected a key');
      const key = this.string();
      if (seen.has(key)) this.fail(`duplicate key ${JSON.stringify(key)}`, 'duplicate-key');
      seen.add(key);
      this.ws();
      if (this.s[this.i] !== ':') this.fail('expected ":"');
      this.i++;
      this.ws();
      obj[key] = this.value(depth);
      this.ws();
      const c = this.s[this.i];
      if (c === ',') {
        this.i++;
        this.ws();
        continue;
      }
      if (c === '}') {
        this.i++;
        return obj;
      }
      this.fail('expected "," or "}"');
    }
  }

  array(depth) {
    if (depth > this.maxDepth) this.fail('nesting too deep', 'too-deep');
    this.i++; // [
    const arr = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return arr;
    }
    for (;;) {
      arr.push(this.value(depth));
      this.ws();
      const c = this.s[this.i];
      if (c === ',') {
        this.i++;
        this.ws();
        continue;
      }
      if (c === ']') {
        this.i++;
        return arr;
      }
      this.fail('expected "," or "]"');
    }
  }
}

/** True for a plain JSON object as produced by parseStrict (or an ordinary object literal). */
export function isJsonObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
