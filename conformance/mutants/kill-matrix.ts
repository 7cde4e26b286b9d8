/**
 * The kill matrix: the suite against the unmodified reference (it must be compliant) and against
 * every planted-bug control (each must be non-compliant). A mutant that passes is a blind spot of
 * the suite, not of the mutant. Runs are sequential: each mutant stops at its first failure, and
 * timings are comparable only without another run competing for the CPU.
 */
import type { InvariantId } from '../../model/profile/denial-codes.ts';
import { INVARIANT_IDS } from '../../model/profile/denial-codes.ts';
import { openTarget } from '../../harness/targets.ts';
import { whyOnlyInProcess } from '../../reference-impl/in-process-target.ts';
import type { Profile } from '../profiles.ts';
import type { FailureReport, RunReport, Verdict } from '../runner.ts';
import { runSuite } from '../runner.ts';
import type { Threat } from '../threats.ts';
import type { Mutant } from './index.ts';
import { MUTANTS } from './index.ts';
import { isProfileInvariant } from '../../model/invariants/plugins.ts';

export interface KillRow {
  id: string;
  breaks: string;
  expected: InvariantId[];
  verdict: Verdict;
  /** the failure's invariants (empty: not caught) */
  caughtBy: InvariantId[];
  threat?: Threat | 'history';
  timeToDetectionMs?: number;
  /** steps of the (shrunk) counterexample */
  counterexampleLength?: number;
  /** false when the variant cannot be built in this wiring (a store replacement over HTTP) */
  applicable?: boolean;
  /** with applicable false: the wiring it exists in (default in-process) */
  onlyOver?: 'in-process' | 'http';
  /** suite runs (prelude = 1) up to and including the failing one */
  runsToDetection?: number;
  phase?: FailureReport['phase'];
  /** the failure's message, for a reader who wants the why */
  message?: string;
  durationMs: number;
}

export interface KillMatrix {
  profile: Profile['name'];
  seed: number;
  skipPrelude: boolean;
  over: 'in-process' | 'http';
  reference: { verdict: Verdict; reasons: string[]; durationMs: number };
  rows: KillRow[];
  /** the reference is compliant and every mutant is non-compliant */
  ok: boolean;
}

export interface KillMatrixOptions {
  profile: Profile;
  seed?: number;
  /** defaults to every mutant */
  mutants?: readonly Mutant[];
  /** the random phase alone: what it catches without the prelude's scripted scenarios */
  skipPrelude?: boolean;
  /** in-process (default), or each variant in its own `failclosed serve` process over HTTP */
  over?: 'in-process' | 'http';
  onProgress?(line: string): void;
}

const DEFAULT_SEED = 42;

async function run(over: 'in-process' | 'http', variant: string | undefined, profile: Profile, seed: number, skipPrelude: boolean, replicas = 1): Promise<RunReport> {
  const target = await openTarget(over === 'http' ? { kind: over, ...(variant ? { variant } : {}), ...(replicas > 1 ? { replicas } : {}) } : { kind: over, ...(variant ? { variant } : {}) });
  try {
    return await runSuite(target.makeDriver, { harness: target.harness, profile, seed, skipPrelude });
  } finally {
    await target.close();
  }
}

export async function runKillMatrix(options: KillMatrixOptions): Promise<KillMatrix> {
  const seed = options.seed ?? DEFAULT_SEED;
  const progress = options.onProgress ?? (() => undefined);
  const skipPrelude = options.skipPrelude ?? false;
  const over = options.over ?? 'in-process';
  const reference = await run(over, undefined, options.profile, seed, skipPrelude);
  progress(`reference: ${reference.verdict} in ${reference.durationMs} ms`);

  const rows: KillRow[] = [];
  for (const mutant of options.mutants ?? MUTANTS) {
    const onlyInProcess = whyOnlyInProcess(mutant.target.variation);
    if (over === 'http' && onlyInProcess) {
      rows.push({ id: mutant.id, breaks: mutant.breaks, expected: [...mutant.expected], verdict: 'inconclusive', caughtBy: [], durationMs: 0, applicable: false });
      progress(`${mutant.id}: ${onlyInProcess}, exists only in-process — not run over HTTP`);
      continue;
    }
    if (over === 'in-process' && mutant.onlyOver === 'http') {
      rows.push({ id: mutant.id, breaks: mutant.breaks, expected: [...mutant.expected], verdict: 'inconclusive', caughtBy: [], durationMs: 0, applicable: false, onlyOver: 'http' });
      progress(`${mutant.id}: correct in-process, exists only over HTTP${mutant.replicas ? ` with ${mutant.replicas} replicas` : ''} — not run in-process`);
      continue;
    }
    const report = await run(over, mutant.id, options.profile, seed, skipPrelude, mutant.replicas);
    const f = report.failure;
    rows.push({
      id: mutant.id,
      breaks: mutant.breaks,
      expected: [...mutant.expected],
      verdict: report.verdict,
      caughtBy: f ? f.invariants.filter(isProfileInvariant) : [],
      durationMs: report.durationMs,
      ...(f
        ? { threat: f.threat, timeToDetectionMs: f.timeToDetectionMs, counterexampleLength: f.commands.length, runsToDetection: report.counts.runs, phase: f.phase, message: f.message }
        : {}),
    });
    progress(`${mutant.id}: ${f ? `caught by ${f.invariants.length > 0 ? f.invariants.join(', ') : 'the model (an answer the oracle does not allow, no invariant broken)'} (${f.phase}, ${f.timeToDetectionMs} ms)` : `NOT CAUGHT (${report.verdict})`}`);
  }
  return {
    profile: options.profile.name,
    seed,
    skipPrelude,
    reference: { verdict: reference.verdict, reasons: reference.reasons, durationMs: reference.durationMs },
    rows,
    over,
    ok: reference.verdict === 'compliant' && rows.every((r) => r.applicable === false || r.verdict === 'non-compliant'),
  };
}

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A table: one row per mutant, ✗ under each invariant that caught it, then a closing line. */
export function formatKillMatrix(matrix: KillMatrix): string {
  const width = Math.max('variant'.length, 'reference'.length, ...matrix.rows.map((r) => r.id.length));
  const invariantHeads = INVARIANT_IDS.map((id) => id.padEnd(5)).join(' ');
  const header = `${'variant'.padEnd(width)}  ${invariantHeads}  ${'phase'.padEnd(7)} ${'detect ms'.padStart(9)} ${'steps'.padStart(5)}  verdict`;
  const lines = [
    `kill matrix — ${matrix.profile} profile, seed ${matrix.seed}${matrix.skipPrelude ? ', random phase only' : ''}`,
    header,
    '-'.repeat(header.length),
    `${'reference'.padEnd(width)}  ${INVARIANT_IDS.map(() => ' '.padEnd(5)).join(' ')}  ${'-'.padEnd(7)} ${'-'.padStart(9)} ${'-'.padStart(5)}  ${matrix.reference.verdict}`,
  ];
  for (const row of matrix.rows) {
    const marks = INVARIANT_IDS.map((id) => (row.caughtBy.includes(id) ? '✗' : row.expected.includes(id) ? '·' : ' ').padEnd(5)).join(' ');
    const detect = row.timeToDetectionMs === undefined ? '-' : String(row.timeToDetectionMs);
    const steps = row.counterexampleLength === undefined ? '-' : String(row.counterexampleLength);
    const verdict = row.applicable === false ? (row.onlyOver === 'http' ? 'over HTTP only' : 'in-process only') : row.verdict === 'non-compliant' ? 'caught' : `NOT CAUGHT (${row.verdict})`;
    lines.push(`${row.id.padEnd(width)}  ${marks}  ${(row.phase ?? '-').padEnd(7)} ${detect.padStart(9)} ${steps.padStart(5)}  ${verdict}`);
  }
  const caught = matrix.rows.filter((r) => r.verdict === 'non-compliant');
  const applicable = matrix.rows.filter((r) => r.applicable !== false);
  const times = caught.map((r) => r.timeToDetectionMs).filter((t): t is number => t !== undefined);
  const lengths = caught.map((r) => r.counterexampleLength).filter((n): n is number => n !== undefined);
  const inPrelude = caught.filter((r) => r.phase === 'prelude').length;
  lines.push('✗ caught by that invariant   · expected but not the one reported   caught with no ✗: by the model (an answer it does not allow, no invariant broken)');
  lines.push(
    `${matrix.ok ? 'OK' : 'FAILED'}: reference ${matrix.reference.verdict}${matrix.over === 'http' ? ' over HTTP' : ''}; ${caught.length}/${applicable.length} mutants caught ` +
      `(${inPrelude} in the prelude, ${caught.length - inPrelude} in the random phase); ` +
      `median time to detection ${median(times) ?? '-'} ms, median counterexample ${median(lengths) ?? '-'} steps`,
  );
  return lines.join('\n');
}
