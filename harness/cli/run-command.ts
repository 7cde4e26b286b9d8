/** `failclosed run`: the conformance suite against a system under test. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { RunReport } from '../../conformance/runner.ts';
import { runSuite } from '../../conformance/runner.ts';
import { PROFILES, isProfileName } from '../../conformance/profiles.ts';
import { formatRunReport } from '../report-text.ts';
import type { TargetSpec } from '../targets.ts';
import { TargetError, describeTarget, resolveTarget } from '../targets.ts';
import type { CommandIO, CommandSpec } from './command.ts';

export const COUNTEREXAMPLE_VERSION = 'failclosed-counterexample/1';

export interface CounterexampleFile {
  version: typeof COUNTEREXAMPLE_VERSION;
  target: TargetSpec;
  profile: string;
  report: RunReport;
}

function parseCount(value: unknown, name: string): number | undefined | string {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) return `${name} must be a non-negative integer, not "${String(value)}"`;
  return n;
}

/** Shared by run and replay: runs, prints, writes files, returns the exit status. */
export async function executeRun(
  io: CommandIO,
  spec: TargetSpec,
  options: { profile: string; seed?: number; runs?: number; json?: string; replay?: { seed: number; path: string; replayPath?: string } },
): Promise<number> {
  if (!isProfileName(options.profile)) return io.usageError(`--profile must be quick, standard or thorough, not "${options.profile}"`);
  let makeDriver;
  try {
    makeDriver = await resolveTarget(spec);
  } catch (error) {
    if (error instanceof TargetError) return io.usageError(error.message);
    throw error;
  }
  io.out(`failclosed: ${options.replay ? 'replaying a counterexample against' : 'testing'} ${describeTarget(spec)}\n`);
  const report = await runSuite(makeDriver, {
    profile: PROFILES[options.profile],
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.runs !== undefined ? { runs: options.runs } : {}),
    ...(options.replay ? { replay: options.replay } : {}),
    onProgress: (line) => io.out(`  ${line}\n`),
  });
  let replayHint: string | undefined;
  if (report.failure) {
    const file = resolve(options.json ?? 'failclosed-report/counterexample.json');
    replayHint = `npx failclosed replay ${file}`;
  }
  io.out(formatRunReport(report, replayHint));
  const document: CounterexampleFile = { version: COUNTEREXAMPLE_VERSION, target: spec, profile: options.profile, report };
  const targets = [options.json, report.failure && !options.json ? 'failclosed-report/counterexample.json' : undefined].filter((f): f is string => !!f);
  for (const file of targets) {
    mkdirSync(dirname(resolve(file)), { recursive: true });
    writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
    io.out(`wrote ${resolve(file)}\n`);
  }
  return report.exitCode;
}

export const runCommand: CommandSpec = {
  name: 'run',
  summary: 'run the conformance suite (default: the embedded reference, in-process)',
  usage: 'failclosed run [--profile quick|standard|thorough] [--seed N] [--runs N] [--json FILE] [--variant ID]',
  details: [
    '--profile NAME   quick (default; ~5-20 s), standard, or thorough: how many random command',
    '                 sequences follow the prelude that drives every scenario of the model once',
    '--seed N         fast-check seed (default: random, printed) — the same seed gives the same run',
    '--runs N         number of random command sequences (overrides the profile)',
    '--json FILE      write the run report (also a replayable counterexample file when it fails)',
    '--variant ID     test a planted-bug variant of the reference instead (see failclosed mutants)',
    '',
    'A failure writes failclosed-report/counterexample.json (or --json FILE); re-run it exactly',
    'with `failclosed replay FILE`.',
    'Exit status: 0 compliant, 1 non-compliant, 2 inconclusive (too few steps, too little model',
    'coverage, no effect observed) or a usage error.',
  ],
  options: {
    profile: { type: 'string', default: 'quick' },
    seed: { type: 'string' },
    runs: { type: 'string' },
    json: { type: 'string' },
    variant: { type: 'string' },
  },
  async run(values, io) {
    const seed = parseCount(values.seed, '--seed');
    const runs = parseCount(values.runs, '--runs');
    if (typeof seed === 'string') return io.usageError(seed);
    if (typeof runs === 'string') return io.usageError(runs);
    const spec: TargetSpec = { kind: 'in-process', ...(typeof values.variant === 'string' ? { variant: values.variant } : {}) };
    return executeRun(io, spec, {
      profile: String(values.profile),
      ...(seed !== undefined ? { seed } : {}),
      ...(runs !== undefined ? { runs } : {}),
      ...(typeof values.json === 'string' ? { json: values.json } : {}),
    });
  },
};
