/**
 * failclosed inside a vendor's own vitest run: one call registers a suite with one test per
 * invariant (INV-1…INV-6) against a target, plus one that the run was conclusive.
 *
 *   // gate.conformance.test.ts
 *   import { failclosedSuites } from 'failclosed/vitest';
 *   failclosedSuites({ target: { kind: 'url', url: 'http://127.0.0.1:9000', harnessHost: '127.0.0.1', harnessPort: 8790 } });
 *
 * The suite runs once (in beforeAll) and each test reports its invariant: held passes, broken
 * fails with the counterexample, not tested is skipped with the reason printed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { InvariantId } from '../../model/profile/denial-codes.ts';
import { INVARIANT_IDS } from '../../model/profile/denial-codes.ts';
import { INVARIANT_CHECKS } from '../../model/invariants/index.ts';
import type { Profile } from '../../conformance/profiles.ts';
import { PROFILES } from '../../conformance/profiles.ts';
import type { RunReport } from '../../conformance/runner.ts';
import { runSuite } from '../../conformance/runner.ts';
import type { TargetSpec } from '../targets.ts';
import { describeTarget, openTarget } from '../targets.ts';

export interface FailclosedSuiteOptions {
  /** default: the embedded reference, in-process */
  target?: TargetSpec;
  profile?: Profile['name'];
  seed?: number;
  runs?: number;
  /** for beforeAll (default 10 minutes) */
  timeoutMs?: number;
}

/** What the test of one invariant should say about a report. */
export function invariantOutcome(report: RunReport, id: InvariantId): { state: 'held' | 'broken' | 'not tested'; message: string } {
  const state = report.invariants[id];
  if (state === 'broken' && report.failure) {
    const f = report.failure;
    const steps = f.commands.map((c, i) => `  ${i + 1}. ${c}`).join('\n');
    const trail = f.trail.slice(-6).map((t) => `  - ${t}`).join('\n');
    return { state, message: `${id} broke (${f.threat}): ${f.message}\ncounterexample:\n${steps}\nwhat the system did:\n${trail}\nseed ${f.seed}${f.path ? `, path ${f.path}` : ''}` };
  }
  if (state === 'not tested') return { state, message: `${id} was not tested: ${report.notTested.map((n) => `${n.scenario} needs ${n.needs}`).join('; ') || 'the system cannot show it'}` };
  return { state, message: `${id} held over ${report.counts.steps} steps` };
}

export function failclosedSuites(options: FailclosedSuiteOptions = {}): void {
  const spec: TargetSpec = options.target ?? { kind: 'in-process' };
  const profile = PROFILES[options.profile ?? 'quick'];
  describe(`failclosed conformance — ${describeTarget(spec)}`, () => {
    let report: RunReport | undefined;
    beforeAll(async () => {
      const target = await openTarget(spec);
      try {
        report = await runSuite(target.makeDriver, {
          harness: target.harness,
          profile,
          ...(options.seed !== undefined ? { seed: options.seed } : {}),
          ...(options.runs !== undefined ? { runs: options.runs } : {}),
        });
      } finally {
        await target.close();
      }
    }, options.timeoutMs ?? 600_000);

    it('observed the system enough for a verdict (not inconclusive)', () => {
      expect(report, 'the suite did not run').toBeDefined();
      expect(report!.verdict, report!.reasons.join('; ')).not.toBe('inconclusive');
    });

    for (const id of INVARIANT_IDS) {
      it(`${id} — ${INVARIANT_CHECKS[id].statement}`, (ctx) => {
        expect(report, 'the suite did not run').toBeDefined();
        const outcome = invariantOutcome(report!, id);
        if (outcome.state === 'not tested') {
          console.log(outcome.message);
          ctx.skip(outcome.message);
        }
        expect(outcome.state, outcome.message).toBe('held');
      });
    }
  });
}
