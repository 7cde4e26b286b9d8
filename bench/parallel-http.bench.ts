/**
 * `run --parallel 2` against `--parallel 1`, the reference over loopback HTTP (each lane its own
 * `failclosed serve` process and its own harness, as the CLI opens them): steps per second of the
 * random phase, same seed and same number of runs for both. Target (issue 11): on 2 cores,
 * parallel 2 ≥ 1.6× the steps/s of parallel 1.
 *
 * - The prelude is skipped: it runs on the first system alone whatever --parallel says, so it
 *   would only dilute what is compared (the random phase's lanes).
 * - Steps/s, not wall time: each lane draws its own commands (lane seeds derive from the seed),
 *   so the two configurations do comparable, not identical, work.
 * - ROUNDS rounds, the order alternating, so that load drifting on a shared machine favours
 *   neither; the ratio is of the mean rates, each round's printed too.
 * - A run that did not do what it claims (a failure against the reference, fewer runs than
 *   requested, no steps) makes the result not ok: it is not a measurement of --parallel.
 */
import { availableParallelism, loadavg } from 'node:os';
import { PROFILES } from '../conformance/profiles.ts';
import { runSuite } from '../conformance/runner.ts';
import type { RunReport } from '../conformance/runner.ts';
import type { OpenTarget } from '../harness/targets.ts';
import { openTarget } from '../harness/targets.ts';
import { judgeRatio } from './ratio-target.ts';
import type { BenchResult } from './run.ts';

const NAME = 'parallel-http';
const TARGET_SPEEDUP = 1.6;
const SEED = 2026;
/** Random runs per configuration (split across the lanes). */
const RUNS = 60;
const ROUNDS = 2;
/** Per configuration: no run starts after this (a run that started finishes). */
const TIME_BUDGET_MS = 120_000;

interface Measured {
  parallel: number;
  stepsPerSec: number;
  report: RunReport;
  problems: string[];
}

async function measure(parallel: number): Promise<Measured> {
  const targets: OpenTarget[] = [];
  try {
    for (let i = 0; i < parallel; i++) targets.push(await openTarget({ kind: 'http' }));
    const [first, ...others] = targets as [OpenTarget, ...OpenTarget[]];
    const report = await runSuite(first.makeDriver, {
      harness: first.harness,
      ...(others.length > 0 ? { moreSystems: others.map((t) => ({ harness: t.harness, makeDriver: t.makeDriver })) } : {}),
      profile: PROFILES.quick,
      seed: SEED,
      runs: RUNS,
      timeBudgetMs: TIME_BUDGET_MS,
      skipPrelude: true,
    });
    const problems: string[] = [];
    if (report.verdict === 'non-compliant') problems.push(`--parallel ${parallel}: the reference was judged non-compliant: ${report.reasons[0] ?? ''}`);
    if (report.counts.randomRuns !== RUNS) problems.push(`--parallel ${parallel}: ${report.counts.randomRuns} of ${RUNS} runs ran (${report.campaign.stoppedBy})`);
    if (report.campaign.parallel !== parallel) problems.push(`--parallel ${parallel}: the run reports ${report.campaign.parallel} lanes`);
    const stepsPerSec = (report.counts.steps / report.timing.randomMs) * 1000;
    return { parallel, stepsPerSec, report, problems };
  } finally {
    for (const target of targets) await target.close().catch(() => undefined);
  }
}

const mean = (rows: readonly Measured[]): number => rows.reduce((sum, row) => sum + row.stepsPerSec, 0) / rows.length;

export async function run(): Promise<BenchResult> {
  const lines = [`${NAME}: quick profile's random phase, ${RUNS} runs, seed ${SEED}, prelude skipped, reference over loopback HTTP (one serve process per lane); ${availableParallelism()} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`];
  const rows: { 1: Measured[]; 2: Measured[] } = { 1: [], 2: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const parallel of round % 2 === 1 ? ([1, 2] as const) : ([2, 1] as const)) {
      const row = await measure(parallel);
      rows[parallel].push(row);
      const r = row.report;
      lines.push(
        `  round ${round}, --parallel ${parallel}: ${r.counts.steps} steps in ${(r.timing.randomMs / 1000).toFixed(1)} s of random phase = ${row.stepsPerSec.toFixed(1)} steps/s (${r.counts.randomRuns} runs, verdict ${r.verdict})`,
      );
    }
  }
  const problems = [...rows[1], ...rows[2]].flatMap((row) => row.problems);
  const verdict = judgeRatio(
    NAME,
    { ratio: 'steps/s with --parallel 2 ÷ with --parallel 1', direction: 'atLeast', bound: TARGET_SPEEDUP },
    { label: '--parallel 2 steps/s (mean of rounds)', value: mean(rows[2]) },
    { label: '--parallel 1 steps/s (mean of rounds)', value: mean(rows[1]), ...(problems.length > 0 ? { failed: problems.join('; ') } : {}) },
  );
  lines.push(`${verdict.line}  (per round: ${rows[2].map((two, i) => (two.stepsPerSec / rows[1][i]!.stepsPerSec).toFixed(2)).join(', ')})`);
  return { name: NAME, lines, ok: verdict.measurable };
}
