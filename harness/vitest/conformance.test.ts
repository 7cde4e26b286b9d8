import { describe, expect, it } from 'vitest';
import { MUTANTS } from '../../conformance/mutants/index.ts';
import { PROFILES } from '../../conformance/profiles.ts';
import { runSuite } from '../../conformance/runner.ts';
import { InProcessDriver } from '../drivers/in-process.ts';
import { failclosedSuites, invariantOutcome } from './conformance.ts';

// The integration itself, as a vendor would use it: the reference must pass every test it registers.
failclosedSuites({ target: { kind: 'in-process' }, runs: 3, seed: 12 });

describe('what each registered test says', () => {
  it('a broken invariant fails with the counterexample and the seed', async () => {
    const mutant = MUTANTS.find((m) => m.id === 'revoked-key-accepted')!;
    const report = await runSuite((h) => new InProcessDriver(mutant.target, h), { profile: PROFILES.quick, seed: 12, runs: 2 });
    const outcome = invariantOutcome(report, 'INV-3');
    expect(outcome.state).toBe('broken');
    expect(outcome.message).toContain('identityKey.revoked');
    expect(outcome.message).toContain('seed 12');
    expect(invariantOutcome(report, 'INV-1').state).toBe('held');
  });
});
