/**
 * Every MUST of CONTRACT.md is exercised: OBLIGATIONS.md has a row for each (by its stable id),
 * every row names things that exist — commands, scenarios and checks exported from their files,
 * model scenarios the prelude drives, planted bugs of the kill matrix, tests by name — and no row
 * outlives its MUST.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MUTANTS } from '../mutants/index.ts';
import { modelScenarios } from '../run-control/prelude.ts';
import type { Exerciser, ObligationRow } from './obligations.ts';
import { EXERCISER_KINDS, contractObligations, obligationId, parseObligationTable } from './obligations.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const contract = readFileSync(new URL('./CONTRACT.md', import.meta.url), 'utf8');
const table = readFileSync(new URL('./OBLIGATIONS.md', import.meta.url), 'utf8');
const obligations = contractObligations(contract);
const rows = parseObligationTable(table);

/** Why an exerciser does not exist (undefined: it does). */
function missing(e: Exerciser): string | undefined {
  const labels = new Set(modelScenarios().map((s) => s.label));
  switch (e.kind) {
    case 'model':
      return labels.has(e.target) ? undefined : `no model scenario "${e.target}"`;
    case 'variant':
      return MUTANTS.some((m) => m.id === e.target) ? undefined : `no planted-bug variant "${e.target}"`;
    case 'test': {
      const [path, name] = e.target.split(' > ');
      if (!path || !name || !existsSync(root + path)) return `no test file ${path}`;
      const source = readFileSync(root + path, 'utf8');
      const quoted = [`'${name}'`, `"${name}"`, `\`${name}\``].some((q) => source.includes(q));
      return quoted ? undefined : `no test named "${name}" in ${path}`;
    }
    default: {
      const [path, symbol] = e.target.split('#');
      if (!path || !symbol || !existsSync(root + path)) return `no file ${path}`;
      const source = readFileSync(root + path, 'utf8');
      const exported = new RegExp(`export\\s+(?:abstract\\s+)?(?:class|const|function|async\\s+function|let)\\s+${symbol}\\b`).test(source);
      return exported ? undefined : `${path} exports no ${symbol}`;
    }
  }
}

const GENERATORS: readonly Exerciser['kind'][] = ['command', 'scenario', 'model'];

describe('the obligations of the contract (OBLIGATIONS.md)', () => {
  it('finds the MUST sentences of CONTRACT.md, each under its own id', () => {
    expect(obligations.length).toBeGreaterThanOrEqual(30);
    expect(new Set(obligations.map((o) => o.id)).size).toBe(obligations.length);
    // Ids follow the sentence, not its markdown or its line breaks.
    expect(obligationId('3', 'A gate **MUST NOT** answer a replay\n from a cache of earlier results.')).toBe(obligationId('3', 'A gate MUST NOT answer a replay from a cache of earlier results.'));
    expect(obligations.some((o) => /used as in RFC 2119/.test(o.text))).toBe(false);
  });

  it('has a row for every MUST — a MUST without one fails here, with its sentence and id', () => {
    const rowIds = new Set(rows.map((r) => r.id));
    const without = obligations.filter((o) => !rowIds.has(o.id)).map((o) => `| \`${o.id}\` | ${o.text} | … |`);
    expect(without, 'add these rows to conformance/contract/OBLIGATIONS.md, naming what exercises each').toEqual([]);
  });

  it('has no row for a MUST that is gone or reworded', () => {
    const ids = new Set(obligations.map((o) => o.id));
    expect(rows.filter((r) => !ids.has(r.id)).map((r) => `${r.id} (${r.summary})`)).toEqual([]);
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
  });

  it('names, for every MUST, something that exists and exercises it', () => {
    const problems: string[] = [];
    for (const row of rows) {
      if (row.exercisedBy.length === 0) problems.push(`${row.id}: exercised by nothing`);
      for (const e of row.exercisedBy) {
        if (!(EXERCISER_KINDS as readonly string[]).includes(e.kind)) problems.push(`${row.id}: unknown kind "${e.kind}"`);
        else {
          const why = missing(e);
          if (why) problems.push(`${row.id}: ${why}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('says which MUSTs no generator of the suite can violate yet', () => {
    const noGenerator = (r: ObligationRow) => !r.exercisedBy.some((e) => GENERATORS.includes(e.kind));
    const gaps = rows.filter(noGenerator);
    console.log(
      `${rows.length - gaps.length}/${rows.length} MUSTs have a generator that can violate them; without one (checked or tested only):\n` +
        gaps.map((r) => `  ${r.id} ${r.summary} — ${r.exercisedBy.map((e) => e.kind).join(', ')}`).join('\n'),
    );
    // Every gap is known: a new MUST without a generator must be added here on purpose.
    expect(gaps.map((r) => r.id).sort()).toEqual(['§13-3a35c6', '§13-7fd713', '§2-0c5223', '§6-1675dc'].sort());
  });
});
