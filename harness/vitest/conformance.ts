/**
 * failclosed inside a vendor's own vitest run: one call registers a suite with one test per
 * invariant (INV-1…INV-6, then each plug-in invariant given as `invariants`) against a target,
 * plus one that the run was conclusive at its level.
 *
 *   // gate.conformance.test.ts
 *   import { failclosedSuites } from 'failclosed/vitest';
 *   failclosedSuites({ target: { kind: 'url', url: 'http://127.0.0.1:9000', harnessHost: '127.0.0.1', harnessPort: 8790 } });
 *
 * A gate without the HTTP contract: target { kind: 'driver', module: '/abs/path/adapter.ts' }.
 *
 * The suite runs once (in beforeAll) and writes the same report folder and verification kit as
 * `failclosed run`. Each test reports its invariant: held passes, broken fails with the
 * counterexample and the replay command, not tested and not reached are skipped with the reason.
 * Every test names the seed, the report folder and the kit.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { History } from '../../model/history.ts';
import type { InvariantName, PluginInvariant } from '../../model/invariants/plugins.ts';
import { validatePluginInvariants } from '../../model/invariants/plugins.ts';
import type { PluginCommand } from '../../conformance/commands/plugin-commands.ts';
import { invariantRows } from '../reports/scenario-matrix.ts';
import { INVARIANT_IDS } from '../../model/profile/denial-codes.ts';
import { INVARIANT_CHECKS } from '../../model/invariants/index.ts';
import type { Profile } from '../../conformance/profiles.ts';
import { PROFILES } from '../../conformance/profiles.ts';
import type { InvariantStatus, Level, RunReport } from '../../conformance/runner.ts';
import { runSuite } from '../../conformance/runner.ts';
import { DEFAULT_LEVEL } from '../../conformance/run-control/levels.ts';
import { verdictLine } from '../report-text.ts';
import type { RunEvidence } from '../reports/run-evidence.ts';
import { defaultReportDir, reportDirProblem, writeRunEvidence } from '../reports/run-evidence.ts';
import type { TargetSpec } from '../targets.ts';
import { describeTarget, openTarget } from '../targets.ts';

export interface FailclosedSuiteOptions {
  /** default: the embedded reference, in-process */
  target?: TargetSpec;
  profile?: Profile['name'];
  /** the conformance level to certify (default full; core for a gate without the control channel) */
  level?: Level;
  seed?: number;
  runs?: number;
  /** where the report folder and kit go (default: a new failclosed-report/run-…/ in the working directory) */
  reportDir?: string;
  /** plug-in invariants (failclosed/api defineInvariant), judged on every run and tested beside INV-1…INV-6 */
  invariants?: readonly PluginInvariant[];
  /** plug-in commands (failclosed/api defineCommand), drawn among the built-in commands */
  commands?: readonly PluginCommand[];
  /** for beforeAll (default 10 minutes) */
  timeoutMs?: number;
}

/** Where the run's evidence is, for every test's message. */
export function evidenceLine(report: RunReport, evidence?: Pick<RunEvidence, 'reportDir' | 'kit' | 'replayCommand'>): string {
  return [
    `seed ${report.seed}`,
    ...(evidence ? [`report ${evidence.reportDir}`, `kit ${evidence.kit.dir} (check it: npx failclosed verify ${evidence.kit.dir})`] : []),
    ...(evidence?.replayCommand ? [`replay: ${evidence.replayCommand}`] : []),
  ].join('; ');
}

/** What the test of one invariant should say about a report. */
export function invariantOutcome(
  report: RunReport,
  id: InvariantName,
  evidence?: Pick<RunEvidence, 'reportDir' | 'kit' | 'replayCommand'>,
): { state: InvariantStatus; message: string } {
  const row = invariantRows(report).find((r) => r.id === id);
  if (!row) throw new Error(`${id} is not an invariant of this run`);
  const state = row.status;
  const where = evidenceLine(report, evidence);
  if (state === 'broken' && report.failure) {
    const f = report.failure;
    const steps = f.commands.map((c, i) => `  ${i + 1}. ${c}`).join('\n');
    const trail = f.trail.slice(-6).map((t) => `  - ${t}`).join('\n');
    return { state, message: `${id} broke (${f.threat}): ${f.message}\ncounterexample:\n${steps}\nwhat the system did:\n${trail}\nseed ${f.seed}${f.path ? `, path ${f.path}` : ''}\n${where}` };
  }
  if (state === 'not tested' || state === 'not reached') return { state, message: `${id} ${state}: ${row.note ?? 'the system cannot show it'} (${where})` };
  return { state, message: `${id} held over ${report.counts.steps} steps in ${report.counts.runs} runs (${where})` };
}

export function failclosedSuites(options: FailclosedSuiteOptions = {}): void {
  const spec: TargetSpec = options.target ?? { kind: 'in-process' };
  const profile = PROFILES[options.profile ?? 'quick'];
  const level = options.level ?? DEFAULT_LEVEL;
  const plugins = validatePluginInvariants(options.invariants ?? [], 'failclosedSuites({ invariants })');
  describe(`failclosed conformance — ${describeTarget(spec)}, level ${level}`, () => {
    let report: RunReport | undefined;
    let evidence: RunEvidence | undefined;
    beforeAll(async () => {
      const seed = options.seed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;
      const reportDir = options.reportDir ?? defaultReportDir(new Date(), seed);
      const problem = reportDirProblem(reportDir);
      if (problem) throw new Error(`failclosed: ${problem}`);
      const histories: History[] = [];
      const target = await openTarget(spec);
      let logs: string | undefined;
      try {
        report = await runSuite(target.makeDriver, {
          harness: target.harness,
          profile,
          level,
          seed,
          ...(options.runs !== undefined ? { runs: options.runs } : {}),
          ...(plugins.length > 0 ? { invariants: plugins } : {}),
          ...(options.commands?.length ? { commands: options.commands } : {}),
          onHistory: (history) => histories.push(history),
        });
      } finally {
        logs = target.logs?.();
        await target.close();
      }
      evidence = await writeRunEvidence(reportDir, report, {
        histories,
        target: spec,
        level,
        ...(logs ? { logs: logs.slice(-20_000) } : {}),
        ...(target.digest ? { targetDigest: target.digest } : {}),
      });
      console.log(`failclosed: ${verdictLine(report)}\n  ${evidenceLine(report, evidence).split('; ').join('\n  ')}`);
    }, options.timeoutMs ?? 600_000);

    it(`was conclusive at level ${level}`, async (ctx) => {
      expect(report, 'the suite did not run').toBeDefined();
      await ctx.annotate(`${verdictLine(report!)}; ${evidenceLine(report!, evidence)}`);
      expect(report!.verdict, `${report!.reasons.join('; ')} (${evidenceLine(report!, evidence)})`).not.toBe('inconclusive');
    });

    const tested = [...INVARIANT_IDS.map((id) => ({ id, statement: INVARIANT_CHECKS[id].statement })), ...plugins.map((p) => ({ id: p.id, statement: `${p.statement} (plug-in)` }))];
    for (const { id, statement } of tested) {
      it(`${id} — ${statement}`, async (ctx) => {
        expect(report, 'the suite did not run').toBeDefined();
        const outcome = invariantOutcome(report!, id, evidence);
        if (outcome.state === 'not tested' || outcome.state === 'not reached') {
          console.log(outcome.message);
          ctx.skip(outcome.message);
        }
        await ctx.annotate(outcome.message);
        expect(outcome.state, outcome.message).toBe('held');
      });
    }
  });
}
