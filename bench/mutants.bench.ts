/**
 * How fast the suite catches each planted-bug variant, in-process: the quick profile with the
 * prelude, and the standard profile's random command sequences alone (the prelude skipped). Both
 * must catch every variant; kill rates, median time to catch and the longest shrunk
 * counterexample are printed. Targets: median time to catch ≤ 2 s, counterexamples ≤ 6 steps.
 */
import { median, runKillMatrix } from '../conformance/mutants/kill-matrix.ts';
import { PROFILES } from '../conformance/profiles.ts';
import type { BenchResult } from './run.ts';

const TARGET_MEDIAN_MS = 2_000;
const TARGET_STEPS = 6;

export async function run(): Promise<BenchResult> {
  const lines: string[] = [];
  let ok = true;
  for (const skipPrelude of [false, true]) {
    const profile = skipPrelude ? PROFILES.standard : PROFILES.quick;
    const matrix = await runKillMatrix({ profile, seed: 42, skipPrelude });
    const label = skipPrelude ? 'standard, random phase only' : 'quick, with the prelude';
    for (const r of matrix.rows) {
      lines.push(`mutants (${label}): ${r.id.padEnd(36)} ${r.caughtBy.length ? `caught by ${r.caughtBy.join('+').padEnd(11)}` : 'NOT CAUGHT           '} ${String(r.timeToDetectionMs ?? '-').padStart(6)} ms, ${r.runsToDetection ?? '-'} run(s), counterexample ${r.counterexampleLength ?? '-'} step(s)`);
    }
    const times = matrix.rows.flatMap((r) => (r.timeToDetectionMs === undefined ? [] : [r.timeToDetectionMs]));
    const longest = Math.max(0, ...matrix.rows.map((r) => r.counterexampleLength ?? 0));
    const m = median(times) ?? Infinity;
    // Without the prelude the reference cannot reach full coverage (inconclusive); it must never fail.
    // A variant that exists only over HTTP (between replicas) has a row marked so, not a verdict.
    const allCaught = matrix.rows.every((r) => r.applicable === false || r.verdict === 'non-compliant');
    const referenceFine = skipPrelude ? matrix.reference.verdict !== 'non-compliant' : matrix.reference.verdict === 'compliant';
    const good = allCaught && referenceFine && m <= TARGET_MEDIAN_MS && longest <= TARGET_STEPS;
    ok &&= good;
    lines.push(
      `mutants (${label}): ${matrix.rows.filter((r) => r.verdict === 'non-compliant').length}/${matrix.rows.filter((r) => r.applicable !== false).length} caught, reference ${matrix.reference.verdict}; median time to catch ${Math.round(m)} ms (target ≤ ${TARGET_MEDIAN_MS}), ratio to target ${(m / TARGET_MEDIAN_MS).toFixed(2)}; longest counterexample ${longest} steps (target ≤ ${TARGET_STEPS})${good ? '' : '  MISSED A TARGET'}`,
    );
  }
  return { name: 'mutants', ok, lines };
}
