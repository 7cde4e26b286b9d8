import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MUTANTS } from '../../conformance/mutants/index.ts';
import type { KillMatrix } from '../../conformance/mutants/kill-matrix.ts';
import { runKillMatrix } from '../../conformance/mutants/kill-matrix.ts';
import { PROFILES } from '../../conformance/profiles.ts';
import { renderKillMatrixHtml, writeKillMatrixHtml } from './kill-matrix-html.ts';

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
});
