/**
 * The obligations of the contract: every sentence of CONTRACT.md with a MUST or MUST NOT in it,
 * each with a stable id, and the table (OBLIGATIONS.md) from those ids to what exercises them —
 * the commands and scenarios that can violate them, the model scenarios of the prelude, the checks
 * that judge them, the planted bugs that prove the checks bite, and the tests. `obligations.test.ts`
 * fails when a MUST has no row, a row names something that does not exist, or a row outlives its
 * MUST.
 *
 * An id is `§<section>-<6 hex>`: the section the sentence stands in and the start of the SHA-256 of
 * the sentence as normalised (markdown and case dropped, whitespace collapsed). Rewording a MUST
 * gives it a new id on purpose: whoever changes an obligation says again what exercises it.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../../model/profile/encoding.ts';
import { utf8Encode } from '../../model/profile/encoding.ts';

export interface Obligation {
  id: string;
  /** "3", "9.1", "A" (appendix) */
  section: string;
  /** the sentence, markdown dropped */
  text: string;
}

/** What a row of the table names: `kind:target`. */
export const EXERCISER_KINDS = ['command', 'scenario', 'model', 'check', 'variant', 'test'] as const;
export type ExerciserKind = (typeof EXERCISER_KINDS)[number];

export interface Exerciser {
  kind: ExerciserKind;
  /** `path#Export` (command, scenario, check), a model scenario's label, a variant id, `path > test name` */
  target: string;
}

export interface ObligationRow {
  id: string;
  summary: string;
  exercisedBy: Exerciser[];
}

/** Markdown to plain text: links, emphasis and code marks dropped. */
function plain(markdown: string): string {
  return markdown
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\*\*|__|`/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

function normalised(sentence: string): string {
  return plain(sentence).toLowerCase();
}

export function obligationId(section: string, sentence: string): string {
  return `§${section}-${toHex(sha256(utf8Encode(normalised(sentence)))).slice(0, 6)}`;
}

/** The text units of a markdown page: paragraphs, list items, table rows — outside code blocks. */
function units(markdown: string): { section: string; text: string }[] {
  const out: { section: string; text: string }[] = [];
  let section = '0';
  let current: string[] = [];
  let inCode = false;
  const flush = () => {
    if (current.length > 0) out.push({ section, text: current.join(' ') });
    current = [];
  };
  for (const raw of markdown.split('\n')) {
    const line = raw.replace(/\s+$/, '');
    if (/^\s*```/.test(line)) {
      flush();
      inCode = !inCode;
      continue;
    }
    if (inCode) continue;
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      const number = /^(\d+(?:\.\d+)*)\.?\s/.exec(heading[2]!);
      if (number) section = number[1]!;
      else if (/^appendix/i.test(heading[2]!)) section = 'A';
      continue;
    }
    if (line.trim() === '' || /^\s*<!--.*-->\s*$/.test(line)) {
      flush();
      continue;
    }
    if (/^\s*\|/.test(line)) {
      // A table row is a unit of its own; the separator row carries nothing.
      flush();
      if (!/^\s*\|[\s|:-]+\|\s*$/.test(line)) out.push({ section, text: line.replace(/\|/g, ' ') });
      continue;
    }
    if (/^\s*(?:[-*]|\d+\.)\s+/.test(line)) {
      flush();
      current.push(line.replace(/^\s*(?:[-*]|\d+\.)\s+/, ''));
      continue;
    }
    current.push(line.trim());
  }
  flush();
  return out;
}

/** A unit's sentences (plain text): split after . ! ? before a capital or a quote (never inside "e.g. x"). */
function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+(?=[A-Z"(§])/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Every MUST / MUST NOT sentence of the contract, in page order, with its id. */
export function contractObligations(markdown: string): Obligation[] {
  const found: Obligation[] = [];
  for (const unit of units(markdown)) {
    for (const sentence of sentences(plain(unit.text))) {
      if (!/\bMUST\b/.test(sentence)) continue;
      // The page's own definition of the keywords is not an obligation.
      if (/used as in RFC 2119/.test(sentence)) continue;
      found.push({ id: obligationId(unit.section, sentence), section: unit.section, text: sentence });
    }
  }
  return found;
}

/**
 * The rows of OBLIGATIONS.md: `| id | obligation | exercised by |`, the last cell a list of
 * `kind:target` in backticks, separated by commas or line breaks (`<br>`).
 */
export function parseObligationTable(markdown: string): ObligationRow[] {
  const rows: ObligationRow[] = [];
  for (const line of markdown.split('\n')) {
    const cells = /^\|\s*`?(§[^|`\s]+)`?\s*\|(.*)\|(.*)\|\s*$/.exec(line);
    if (!cells) continue;
    const exercisedBy: Exerciser[] = [];
    for (const [, spec] of cells[3]!.matchAll(/`([^`]+)`/g)) {
      const colon = spec!.indexOf(':');
      const kind = spec!.slice(0, colon) as ExerciserKind;
      exercisedBy.push({ kind, target: spec!.slice(colon + 1).trim() });
    }
    rows.push({ id: cells[1]!, summary: cells[2]!.trim(), exercisedBy });
  }
  return rows;
}
