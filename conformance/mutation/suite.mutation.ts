/**
 * The test run that judges each mutant of `npm run mutation`: the conformance suite itself against
 * the in-process reference — the quick profile's prelude, and random runs on fixed seeds — not the
 * reference's own unit tests. The question a mutation score answers here is what the conformance
 * suite detects. A mutant is killed when a run is not clean: a broken invariant, a contract finding
 * or an error of the system under test.
 */
import { describe, expect, it } from 'vitest';
import { PROFILES } from '../profiles.ts';
import type { DriverFactory } from '../runner.ts';
import { runSuite } from '../runner.ts';
import { InProcessDriver } from '../../harness/drivers/in-process.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import { MUTATION_SEEDS } from './seeds.ts';

const makeDriver: DriverFactory = (harness) => new InProcessDriver(referenceTarget(), harness);

const RUNS_PER_SEED = 15;

describe('the conformance suite against the in-process reference (the judge of each mutant)', () => {
  it('the prelude (every model scenario and threat once) is compliant', { timeout: 60_000 }, async () => {
    const report = await runSuite(makeDriver, { profile: PROFILES.quick, seed: 100, runs: 0 });
    expect(report.failure?.message).toBeUndefined();
    expect(report.counts.contractFindings).toBe(0);
    expect(report.verdict).toBe('compliant');
  });

  for (const seed of MUTATION_SEEDS) {
    it(`random runs on seed ${seed} find nothing`, { timeout: 60_000 }, async () => {
      const report = await runSuite(makeDriver, { profile: PROFILES.quick, seed, runs: RUNS_PER_SEED, skipPrelude: true });
      // Alone, random runs may miss the coverage floors (inconclusive); what they must not find is a fault.
      expect(report.failure?.message).toBeUndefined();
      expect(report.counts.contractFindings).toBe(0);
      expect(report.verdict).not.toBe('non-compliant');
      // A gate that gives up on a healthy dependency is not judged non-compliant (CONTRACT §4), but a mutant that makes it do so is found.
      expect(report.counts.unprovokedTimeouts).toBe(0);
    });
  }
});
