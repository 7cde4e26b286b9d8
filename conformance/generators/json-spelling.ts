/**
 * Byte spellings of one JSON value. A signature and a digest cover the RFC 8785 canonical form of
 * a value, not the bytes that carried it, so a gate must accept — and bind to the canonical
 * digest — every spelling RFC 8259 allows: members in any order at every level, insignificant
 * whitespace, any character written as a `\uXXXX` escape (hex in either case, `\/`, control
 * characters as `\n` or `\u000a`), non-ASCII raw or escaped (a pair for a character beyond the
 * BMP), and numbers as any decimal text that reads as the same double (`1.0`, `1e0`, `10e-1`,
 * `0.1e1`, `-0` for 0, `9007199254740993` for 2^53).
 *
 * A `Spelling` is plain data; `spellingArbitrary()` draws one and shrinks it, field by field,
 * toward the canonical spelling, so a counterexample keeps only the spelling choices that matter.
 */
import fc from 'fast-check';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { canonicalize } from '../../model/profile/canonical-json.ts';
import { utf8Encode } from '../../model/profile/encoding.ts';

export interface Spelling {
  /** members of every object: canonical (UTF-16 code unit order), reversed, or shuffled */
  keyOrder: 'canonical' | 'reverse' | 'shuffle';
  /** between tokens: none, one space after `:` and `,`, indented lines, or random runs of the four JSON whitespace characters */
  whitespace: 'none' | 'spaces' | 'pretty' | 'random';
  /** escapes: only what must be escaped, ASCII letters and `/` escaped, every non-ASCII code unit escaped, or any character at random */
  escapes: 'none' | 'ascii' | 'non-ascii' | 'random';
  /** numbers: the shortest form, with a fraction (`1.0`), with an exponent (`10e-1`), or any at random */
  numbers: 'canonical' | 'fraction' | 'exponent' | 'random';
  /** seeds the per-token choices of the random and shuffled forms */
  seed: number;
}

export const CANONICAL_SPELLING: Spelling = { keyOrder: 'canonical', whitespace: 'none', escapes: 'none', numbers: 'canonical', seed: 0 };

/** Fixed spellings the prelude sends: each feature alone, then all at once. */
export const FIXED_SPELLINGS: readonly Spelling[] = [
  { ...CANONICAL_SPELLING, keyOrder: 'reverse' },
  { ...CANONICAL_SPELLING, whitespace: 'pretty', keyOrder: 'shuffle', seed: 7 },
  { ...CANONICAL_SPELLING, escapes: 'ascii', seed: 3 },
  { ...CANONICAL_SPELLING, escapes: 'non-ascii' },
  { ...CANONICAL_SPELLING, numbers: 'fraction', seed: 1 },
  { ...CANONICAL_SPELLING, numbers: 'exponent', seed: 2 },
  { keyOrder: 'shuffle', whitespace: 'random', escapes: 'random', numbers: 'random', seed: 42 },
];

/** Draws a spelling; each field shrinks toward its canonical choice (listed first). */
export function spellingArbitrary(): fc.Arbitrary<Spelling> {
  return fc.record({
    keyOrder: fc.constantFrom('canonical', 'reverse', 'shuffle'),
    whitespace: fc.constantFrom('none', 'spaces', 'pretty', 'random'),
    escapes: fc.constantFrom('none', 'ascii', 'non-ascii', 'random'),
    numbers: fc.constantFrom('canonical', 'fraction', 'exponent', 'random'),
    seed: fc.nat({ max: 0xffff }),
  });
}

export function isCanonicalSpelling(s: Spelling): boolean {
  return s.keyOrder === 'canonical' && s.whitespace === 'none' && s.escapes === 'none' && s.numbers === 'canonical';
}

/** "keys reversed+escapes non-ascii", or "canonical" — no commas (fast-check separates commands with them). */
export function describeSpelling(s: Spelling): string {
  const parts: string[] = [];
  if (s.keyOrder !== 'canonical') parts.push(`keys ${s.keyOrder === 'reverse' ? 'reversed' : `shuffled#${s.seed}`}`);
  if (s.whitespace !== 'none') parts.push(`whitespace ${s.whitespace}`);
  if (s.escapes !== 'none') parts.push(`escapes ${s.escapes}`);
  if (s.numbers !== 'canonical') parts.push(`numbers ${s.numbers}`);
  return parts.length === 0 ? 'canonical' : parts.join('+');
}

// ---------------------------------------------------------------- the writer

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SHORT: Readonly<Record<number, string>> = { 0x08: '\\b', 0x09: '\\t', 0x0a: '\\n', 0x0c: '\\f', 0x0d: '\\r', 0x22: '\\"', 0x5c: '\\\\' };
const WHITESPACE = [' ', '\t', '\n', '\r'];
const NUMBER_GRAMMAR = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

class Writer {
  private readonly random: () => number;
  constructor(private readonly s: Spelling) {
    this.random = prng(s.seed * 2654435761 + 1);
  }

  private chance(p: number): boolean {
    return this.random() < p;
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  private randomRun(): string {
    let out = '';
    const n = Math.floor(this.random() * 3);
    for (let i = 0; i < n; i++) out += this.pick(WHITESPACE);
    return out;
  }

  /** before the i-th item or member of a container at `depth` */
  private lead(depth: number, i: number): string {
    switch (this.s.whitespace) {
      case 'none':
        return '';
      case 'spaces':
        return i > 0 ? ' ' : '';
      case 'pretty':
        return `\n${'  '.repeat(depth + 1)}`;
      case 'random':
        return this.randomRun();
    }
  }

  /** after an item, before `,` or the closing bracket */
  private trail(): string {
    return this.s.whitespace === 'random' ? this.randomRun() : '';
  }

  private close(depth: number): string {
    return this.s.whitespace === 'pretty' ? `\n${'  '.repeat(depth)}` : this.trail();
  }

  private colon(): string {
    const after = this.s.whitespace === 'spaces' || this.s.whitespace === 'pretty' ? ' ' : this.trail();
    return `${this.trail()}:${after}`;
  }

  private hex(unit: number): string {
    const h = unit.toString(16).padStart(4, '0');
    return `\\u${this.chance(0.5) ? h : h.toUpperCase()}`;
  }

  string(text: string): string {
    let out = '"';
    for (let i = 0; i < text.length; i++) {
      const unit = text.charCodeAt(i);
      const short = SHORT[unit];
      const mustEscape = short !== undefined || unit < 0x20;
      let escape: boolean;
      switch (this.s.escapes) {
        case 'none':
          escape = false;
          break;
        case 'ascii':
          escape = unit < 0x80 && (/[A-Za-z0-9/]/.test(text[i]!) ? this.chance(0.4) : mustEscape && this.chance(0.5));
          break;
        case 'non-ascii':
          escape = unit >= 0x80;
          break;
        case 'random':
          escape = this.chance(0.3);
          break;
      }
      // A pair stays a pair: both halves raw (one UTF-8 sequence) or both escaped.
      const pair = unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length;
      if (!escape) {
        if (short !== undefined) out += short;
        else if (unit < 0x20) out += `\\u${unit.toString(16).padStart(4, '0')}`;
        else out += pair ? text.slice(i, i + 2) : text[i];
      } else if (unit === 0x2f && this.chance(0.5)) out += '\\/';
      else out += pair ? `${this.hex(unit)}${this.hex(text.charCodeAt(i + 1))}` : this.hex(unit);
      if (pair) i++;
    }
    return `${out}"`;
  }

  number(value: number): string {
    const canonical = String(value);
    if (this.s.numbers === 'canonical') return canonical;
    const all = numberSpellings(value);
    const preferred =
      this.s.numbers === 'fraction' ? all.filter((c) => c.includes('.') && !/[eE]/.test(c))
      : this.s.numbers === 'exponent' ? all.filter((c) => /[eE]/.test(c))
      : all;
    const pool = preferred.length > 0 ? preferred : all;
    return pool.length > 0 ? this.pick(pool) : canonical;
  }

  private keys(object: Record<string, JsonValue>): string[] {
    // Default sort: UTF-16 code units, the canonical order.
    const keys = Object.keys(object).sort();
    if (this.s.keyOrder === 'reverse') return keys.reverse();
    if (this.s.keyOrder === 'shuffle') {
      for (let i = keys.length - 1; i > 0; i--) {
        const j = Math.floor(this.random() * (i + 1));
        [keys[i], keys[j]] = [keys[j]!, keys[i]!];
      }
    }
    return keys;
  }

  value(value: JsonValue, depth: number): string {
    if (value === null) return 'null';
    if (typeof value === 'boolean') return value ? 'true' : 'false';
    if (typeof value === 'number') return this.number(value);
    if (typeof value === 'string') return this.string(value);
    if (Array.isArray(value)) {
      if (value.length === 0) return `[${this.trail()}]`;
      const items = value.map((item, i) => `${this.lead(depth, i)}${this.value(item, depth + 1)}${this.trail()}`);
      return `[${items.join(',')}${this.close(depth)}]`;
    }
    const keys = this.keys(value);
    if (keys.length === 0) return `{${this.trail()}}`;
    const members = keys.map((key, i) => `${this.lead(depth, i)}${this.string(key)}${this.colon()}${this.value(value[key]!, depth + 1)}${this.trail()}`);
    return `{${members.join(',')}${this.close(depth)}}`;
  }

  document(value: JsonValue): string {
    return `${this.trail()}${this.value(value, 0)}${this.trail()}`;
  }
}

/**
 * Other decimal texts that read as exactly the same double as `value` (and so have its canonical
 * form): a fraction, an exponent, shifted digits, a leading `0.`, a digit past the last
 * significant one, `-0` for zero. Every candidate is checked by reading it back.
 */
export function numberSpellings(value: number): string[] {
  const canonical = String(value);
  const match = /^(-?)([0-9]+)(?:\.([0-9]+))?(?:e([+-][0-9]+))?$/.exec(canonical);
  if (!match) return [];
  const [, sign, int, frac = '', exp = '+0'] = match;
  const candidates = new Set<string>();
  if (value === 0) {
    for (const c of ['-0', '0.0', '-0.0', '0e0', '0E+5', '-0e-3', '0.000e7']) candidates.add(c);
  } else {
    // value = sign · D · 10^E, with D the significant digits as an integer
    const raw = `${int}${frac}`.replace(/^0+/, '');
    const E = Number(exp) - frac.length;
    const D = raw.replace(/0+$/, '');
    const E2 = E + (raw.length - D.length);
    const L = D.length;
    candidates.add(`${canonical}${/[.e]/.test(canonical) ? '' : '.0'}`);
    candidates.add(`${sign}${D}e${E2}`);
    candidates.add(`${sign}${D}E${E2 >= 0 ? '+' : ''}${E2}`);
    candidates.add(`${sign}${D}0e${E2 - 1}`);
    candidates.add(`${sign}${D}00E${E2 - 2}`);
    candidates.add(`${sign}0.${D}e${E2 + L}`);
    if (L > 1) candidates.add(`${sign}${D[0]}.${D.slice(1)}e${E2 + L - 1}`);
    if (E2 < 0 && -E2 < 30) {
      // plain decimal with trailing zeros: 0.30000000000000004000
      const digits = D.padStart(-E2 + 1, '0');
      candidates.add(`${sign}${digits.slice(0, digits.length + E2)}.${digits.slice(digits.length + E2)}000`);
    }
    if (E2 >= 0 && E2 < 25) candidates.add(`${sign}${D}${'0'.repeat(E2)}.00`);
    // a digit beyond what a double holds: reads back to the same double
    candidates.add(`${sign}${D}0000001e${E2 - 7}`);
    // the next integer, where doubles are further apart than 1 (2^53 + 1 reads as 2^53)
    if (Math.abs(value) >= 2 ** 53 && Number.isInteger(value) && Math.abs(value) < 1e21) {
      const next = BigInt(canonical) + (value > 0 ? 1n : -1n);
      candidates.add(next.toString());
    }
  }
  return [...candidates].filter((c) => c !== canonical && NUMBER_GRAMMAR.test(c) && String(Number(c)) === canonical);
}

/** One spelling of `value` as JSON text; `CANONICAL_SPELLING` gives exactly `canonicalize(value)`. */
export function spell(value: JsonValue, spelling: Spelling): string {
  if (isCanonicalSpelling(spelling)) return canonicalize(value);
  return new Writer(spelling).document(value);
}

/**
 * The spelling as UTF-8 bytes, no larger than `maxBytes` if the canonical form fits: a spelling
 * that would grow past it keeps only its member order (which never changes the length).
 */
export function spellBytes(value: JsonValue, spelling: Spelling, maxBytes = Number.POSITIVE_INFINITY): Uint8Array {
  const bytes = utf8Encode(spell(value, spelling));
  if (bytes.length <= maxBytes) return bytes;
  return utf8Encode(spell(value, { ...CANONICAL_SPELLING, keyOrder: spelling.keyOrder, seed: spelling.seed }));
}

/** Text for a counterexample: at most `max` characters, saying how many more there were. */
export function excerpt(text: string, max = 240): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}
