import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MUTANTS } from '../../conformance/mutants/index.ts';
import type { KillMatrix } from '../../conformance/mutants/kill-matrix.ts';
import { runKillMatrix } from '../../conformance/mutants/kill-matrix.ts';
import { PROFILES } from '../../conformance/profiles.ts';
import { COLUMNS, renderKillMatrixHtml, writeKillMatrixHtml } from './kill-matrix-html.ts';

const selfContained = (html: string) => {
  expect(html).not.toMatch(/<script|<link|<img|\bsrc\s*=|@import|url\(|https?:\/\//i);
};

describe('the kill matrix as HTML', () => {
  it('shows each variant with the invariants that caught it, from a real matrix', async () => {
    const mutant = MUTANTS.find((m) => m.id === 'revoked-key-accepted')!;
    const matrix = await runKillMatrix({ profile: { ...PROFILES.quick, runs: 2 }, seed: 3, mutants: [mutant] });
    const dir = await mkdtemp(join(tmpdir(), 'failclosed-kill-'));
    try {
      const file = join(dir, 'kill-matrix.html');
      await writeKillMatrixHtml(file, matrix, new Date('2026-01-02T03:04:05Z'));
      const html = await readFile(file, 'utf8');
      selfContained(html);
      expect(matrix.ok).toBe(true);
      expect(html).toContain('<div class="banner ok">OK');
      expect(html).toMatch(/<td class="id">revoked-key-accepted<\/td>(?:(?!<\/tr>).)*<td class="inv caught" title="caught by INV-3">/s);
      expect(html).toContain('<span class="verdict-caught">caught</span>');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('marks a variant the suite missed, and escapes what the rows carry', () => {
    const matrix: KillMatrix = {
      profile: 'quick',
      seed: 1,
      skipPrelude: false,
      over: 'in-process',
      reference: { verdict: 'compliant', reasons: [], durationMs: 10 },
      rows: [
        { id: 'blind-<spot>', breaks: 'accepts "anything" & more', expected: ['INV-4'], verdict: 'compliant', caughtBy: [], durationMs: 5 },
        { id: 'store-only', breaks: 'a store', expected: ['INV-3'], verdict: 'inconclusive', caughtBy: [], durationMs: 0, applicable: false },
      ],
      ok: false,
    };
    const html = renderKillMatrixHtml(matrix, new Date('2026-01-02T03:04:05Z'));
    selfContained(html);
    expect(html).toContain('<div class="banner failed">FAILED');
    expect(html).toContain('<tr class="missed"><td class="id">blind-&lt;spot&gt;</td><td class="breaks">accepts &quot;anything&quot; &amp; more</td>');
    expect(html).toContain('NOT CAUGHT (compliant)');
    expect(html).toContain('in-process only');
    expect(html).toContain('0/1 variants caught');
  });

  it('fits a 1400 px window: a fixed layout whose fixed columns leave room, wrapping cells, scrolling rather than cutting', () => {
    const matrix: KillMatrix = {
      profile: 'quick',
      seed: 1,
      skipPrelude: false,
      over: 'in-process',
      reference: { verdict: 'compliant', reasons: [], durationMs: 10 },
      rows: [{ id: 'fail-open-on-control-plane-timeout', breaks: 'x', expected: ['INV-2'], verdict: 'inconclusive', caughtBy: [], durationMs: 123456, phase: 'random', threat: 'control-plane-failure' }],
      ok: false,
    };
    const html = renderKillMatrixHtml(matrix);
    const style = /<style>([\s\S]*)<\/style>/.exec(html)![1]!;
    const rule = (selector: string) => new RegExp(`(?:^|\\n)${selector.replace('.', '\\.')} \\{([^}]*)\\}`).exec(style)?.[1] ?? '';
    // The table takes its container's width and no more; its columns are the colgroup's.
    expect(rule('table')).toMatch(/width: 100%;/);
    expect(rule('table')).toMatch(/table-layout: fixed;/);
    // Every cell wraps: nothing may force a cell wider than its column.
    expect(rule('th, td')).toMatch(/overflow-wrap: anywhere;/);
    expect(style).not.toMatch(/nowrap|min-width/);
    // Narrower than the fixed columns, it scrolls inside its wrapper instead of being cut.
    expect(rule('.table-wrap')).toMatch(/overflow-x: auto;/);
    expect(html).toMatch(/<div class="table-wrap">\n<table>/);
    // One <col> per header cell and per cell of every row; one column (the description) takes the rest.
    const cols = [...html.matchAll(/<col(?: style="width: ([\d.]+)em")?>/g)];
    const heads = /<thead><tr>(.*?)<\/tr><\/thead>/.exec(html)![1]!.match(/<th[ >]/g)!;
    expect(cols.length).toBe(COLUMNS.length);
    expect(heads.length).toBe(COLUMNS.length);
    for (const row of html.match(/<tr(?: class="missed")?><td[\s\S]*?<\/tr>/g)!) expect(row.match(/<td[ >]/g)!.length).toBe(COLUMNS.length);
    expect(cols.filter((c) => c[1] === undefined).length).toBe(1);
    // At 14 px to the em, the fixed columns and a 15em description fit 1400 px less the page's
    // margins (main is at most 1280 px wide, padded 28 px each side).
    const fixed = cols.reduce((sum, c) => sum + (c[1] ? Number(c[1]) : 0), 0);
    expect(style).toMatch(/main \{ max-width: 1280px; margin: 0 auto; padding: 24px 28px 48px; \}/);
    expect((fixed + 15) * 14).toBeLessThanOrEqual(1280 - 2 * 28);
  });
});
