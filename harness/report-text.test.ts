import { describe, expect, it } from 'vitest';
import { PROFILES } from '../conformance/profiles.ts';
import type { DriverFactory } from '../conformance/runner.ts';
import { runSuite } from '../conformance/runner.ts';
import { MUTANTS } from '../conformance/mutants/index.ts';
import { referenceTarget } from '../reference-impl/in-process-target.ts';
import { InProcessDriver } from './drivers/in-process.ts';
import { formatRunReport } from './report-text.ts';

/** The reference as a gate without the control channel shows it: the audit export only. */
const channelless: DriverFactory = (h) => {
  const driver = new InProcessDriver(referenceTarget(), h);
  Object.defineProperty(driver, 'capabilities', { value: new Set(['audit-export']) });
  return driver;
};

describe('the run summary', () => {
  it('lists what was not tested once, one line per missing capability, and ends with the verdict', async () => {
    const report = await runSuite(channelless, { profile: PROFILES.quick, seed: 3, level: 'core' });
    const text = formatRunReport(report, { reportHtml: '/r/report.html' });
    const lines = text.trimEnd().split('\n');
    const needs = [...new Set(report.notTested.map((n) => n.needs))];
    expect(report.notTested.length).toBeGreaterThan(needs.length);
    const listed = lines.filter((l) => l.startsWith('  needs '));
    expect(listed).toHaveLength(needs.length);
    for (const need of needs) expect(listed.filter((l) => l.startsWith(`  needs ${need}: `))).toHaveLength(1);
    expect(lines.at(-1)).toMatch(/^COMPLIANT at level core — /);
  });

  it('shows no model coverage for a failing run: the counterexample is what matters', async () => {
    const mutant = MUTANTS.find((m) => m.id === 'revoked-key-accepted')!;
    const report = await runSuite((h) => new InProcessDriver(mutant.target, h), { profile: PROFILES.quick, seed: 3 });
    const text = formatRunReport(report, { replayCommand: 'npx failclosed replay /r/counterexample.json' });
    expect(report.verdict).toBe('non-compliant');
    expect(text).not.toMatch(/coverage/i);
    expect(text).not.toMatch(/not covered/);
    expect(text).toContain('Counterexample (prelude phase');
    const lines = text.trimEnd().split('\n');
    expect(lines.at(-2)).toBe('replay: npx failclosed replay /r/counterexample.json');
    expect(lines.at(-1)).toMatch(/^NON-COMPLIANT — /);
  });
});
