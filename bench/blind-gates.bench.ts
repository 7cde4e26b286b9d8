/**
 * Detection power on gates the suite's authors did not write: the blind gates (blind-gates/),
 * each correct build first — it must be compliant at its level, or every number below is a false
 * alarm's — then each planted defect, with the quick profile (prelude and random phase), and the
 * standard profile's random phase alone for the defects quick missed.
 *
 *   npm run blind            (= npm run bench -- blind-gates)
 */
import { PROFILES } from '../conformance/profiles.ts';
import type { RunReport } from '../conformance/runner.ts';
import { BLIND_GATES, runBlindGate } from '../harness/blind-gates.ts';
import { median } from '../conformance/mutants/kill-matrix.ts';
import type { BenchResult } from './run.ts';

const SEED = 42;

/** A run, or why it could not judge the gate (the gate went away, …): inconclusive, never a catch. */
async function attempt(run: () => Promise<RunReport>): Promise<RunReport | Error> {
  try {
    return await run();
  } catch (error) {
    return error as Error;
  }
}

function caughtBy(report: RunReport | Error): string {
  if (report instanceof Error) return `missed (inconclusive: ${report.message.split('\n')[0]!.slice(0, 80)})`;
  if (report.verdict !== 'non-compliant') return `missed (${report.verdict})`;
  const f = report.failure;
  return f ? `${f.invariants.join('+') || 'model'} (${f.phase}, ${f.threat})` : `contract finding (${report.counts.contractFindings})`;
}

export async function run(): Promise<BenchResult> {
  const lines: string[] = ['blind gates — written from CONTRACT.md alone; quick profile (seed 42), then standard random-only for what quick missed'];
  let ok = true;
  let defects = 0;
  let quickCaught = 0;
  let eventually = 0;
  const times: number[] = [];
  for (const gate of BLIND_GATES) {
    const clean = await attempt(() => runBlindGate(gate, { profile: PROFILES.quick, seed: SEED }));
    const fine = !(clean instanceof Error) && clean.verdict === 'compliant';
    if (!fine) ok = false;
    const said = clean instanceof Error ? `INCONCLUSIVE — ${clean.message}` : `${clean.verdict.toUpperCase()}${fine ? '' : ` — FALSE ALARM: ${clean.reasons[0] ?? ''}`}`;
    lines.push(`${gate.id} (${gate.summary}), level ${gate.level}: correct build ${said}`);
    const width = Math.max(...Object.keys(gate.defects).map((d) => d.length));
    for (const [defect, what] of Object.entries(gate.defects)) {
      defects += 1;
      const quick = await attempt(() => runBlindGate(gate, { profile: PROFILES.quick, seed: SEED, defect }));
      let line = `  ${defect.padEnd(width)}  quick: ${caughtBy(quick).padEnd(40)}`;
      if (!(quick instanceof Error) && quick.verdict === 'non-compliant') {
        quickCaught += 1;
        eventually += 1;
        if (quick.failure) times.push(quick.failure.timeToDetectionMs);
      } else {
        const standard = await attempt(() => runBlindGate(gate, { profile: PROFILES.standard, seed: SEED, defect, skipPrelude: true }));
        line += `  standard random-only: ${caughtBy(standard)}`;
        if (!(standard instanceof Error) && standard.verdict === 'non-compliant') eventually += 1;
      }
      lines.push(`${line}  — ${what}`);
    }
  }
  lines.push(
    `blind gates: ${quickCaught}/${defects} defects caught by quick, ${eventually}/${defects} by quick or standard; median time to catch (quick) ${median(times) ?? '-'} ms`,
  );
  return { name: 'blind-gates', lines, ok };
}
