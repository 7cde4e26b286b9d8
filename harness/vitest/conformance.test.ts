import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MUTANTS } from '../../conformance/mutants/index.ts';
import { PROFILES } from '../../conformance/profiles.ts';
import { runSuite } from '../../conformance/runner.ts';
import { InProcessDriver } from '../drivers/in-process.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import { failclosedSuites, invariantOutcome } from './conformance.ts';
import rateLimits, { maxActionsPerMinute } from '../../examples/invariants/max-actions-per-minute.ts';
import auditDeadlines from '../../examples/invariants/denials-audited-promptly.ts';

// The integration itself, as a vendor would use it — with the example plug-in invariants — the
// reference must pass every test it registers (INV-1…INV-6, then one per plug-in).
failclosedSuites({
  target: { kind: 'in-process' },
  runs: 3,
  seed: 12,
  reportDir: join(mkdtempSync(join(tmpdir(), 'failclosed-vitest-')), 'report'),
  invariants: [...rateLimits, ...auditDeadlines],
});

describe('what each registered test says', () => {
  it('a broken invariant fails with the counterexample and the seed', async () => {
    const mutant = MUTANTS.find((m) => m.id === 'revoked-key-accepted')!;
    const report = await runSuite((h) => new InProcessDriver(mutant.target, h), { profile: PROFILES.quick, seed: 12, runs: 2 });
    const outcome = invariantOutcome(report, 'INV-3');
    expect(outcome.state).toBe('broken');
    expect(outcome.message).toContain('identityKey.revoked');
    expect(outcome.message).toContain('seed 12');
    const evidence = { reportDir: '/tmp/r', kit: { dir: '/tmp/r/kit' } as never, replayCommand: 'npx failclosed replay /tmp/r/counterexample.json' };
    const named = invariantOutcome(report, 'INV-3', evidence).message;
    expect(named).toContain('report /tmp/r');
    expect(named).toContain('npx failclosed verify /tmp/r/kit');
    expect(named).toContain('replay: npx failclosed replay /tmp/r/counterexample.json');
    expect(invariantOutcome(report, 'INV-1', evidence).message).toMatch(/^INV-1 not reached: .*seed 12; report \/tmp\/r/);
    // The run stopped in the prelude before any history was judged: nothing else was reached.
    expect(invariantOutcome(report, 'INV-1').state).toBe('not reached');
  });

  it('a broken plug-in invariant fails its own test with its witnesses; INV-1…INV-6 were not reached', async () => {
    const report = await runSuite((h) => new InProcessDriver(referenceTarget(), h), { profile: PROFILES.quick, seed: 12, runs: 1, invariants: [maxActionsPerMinute(3)] });
    const outcome = invariantOutcome(report, 'RATE-3-PER-MINUTE');
    expect(outcome.state).toBe('broken');
    expect(outcome.message).toMatch(/^RATE-3-PER-MINUTE broke \(history\): .*alice executed 4 actions/);
    expect(invariantOutcome(report, 'INV-2').state).toBe('not reached');
    expect(() => invariantOutcome(report, 'NOT-GIVEN')).toThrow(/not an invariant of this run/);
  });
});
