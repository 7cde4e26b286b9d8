/** `failclosed run`: the conformance suite against a system under test. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { History } from '../../model/history.ts';
import { writeReportFolder } from '../reports/report-folder.ts';
import { writeKit } from '../evidence/kit.ts';
import type { RunReport } from '../../conformance/runner.ts';
import { runSuite } from '../../conformance/runner.ts';
import { PROFILES, isProfileName } from '../../conformance/profiles.ts';
import { formatRunReport } from '../report-text.ts';
import type { OpenTarget, TargetSpec } from '../targets.ts';
import { TargetError, describeTarget, openTarget } from '../targets.ts';
import { HarnessError } from '../drivers/http.ts';
import { progressDisplay, wantsLiveProgress } from '../progress.ts';
import { DEFAULT_HARNESS_PORT } from '../http-harness.ts';
import type { CommandIO, CommandSpec } from './command.ts';

export const COUNTEREXAMPLE_VERSION = 'failclosed-counterexample/1';

export interface CounterexampleFile {
  version: typeof COUNTEREXAMPLE_VERSION;
  target: TargetSpec;
  profile: string;
  report: RunReport;
  /** the end of what the system under test printed, when the harness could see it */
  logs?: string;
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
  options: {
    profile: string;
    seed?: number;
    runs?: number;
    json?: string;
    report?: string;
    replay?: { seed: number; path: string; replayPath?: string };
    /** how the target is opened (tests put a failing one here) */
    open?: (spec: TargetSpec) => Promise<OpenTarget>;
  },
): Promise<number> {
  if (!isProfileName(options.profile)) return io.usageError(`--profile must be quick, standard or thorough, not "${options.profile}"`);
  io.out(`failclosed: ${options.replay ? 'replaying a counterexample against' : 'testing'} ${describeTarget(spec)}\n`);
  let target;
  try {
    target = await (options.open ?? openTarget)(spec);
  } catch (error) {
    if (error instanceof TargetError || error instanceof HarnessError) {
      io.err(`failclosed: inconclusive — cannot reach the system under test: ${(error as Error).message}\n`);
      if (error instanceof HarnessError) io.err(`  what to do: ${error.remedy}\n`);
      return 2;
    }
    throw error;
  }
  let report: RunReport;
  let logs: string | undefined;
  const histories: History[] = [];
  let digest: string | undefined;
  // Custom output (tests, embedding) never gets terminal control sequences.
  const display = progressDisplay(io.out, io.live === true && wantsLiveProgress());
  try {
    report = await runSuite(target.makeDriver, {
    harness: target.harness,
    profile: PROFILES[options.profile],
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.runs !== undefined ? { runs: options.runs } : {}),
    ...(options.replay ? { replay: options.replay } : {}),
    onProgress: (line) => display.line(`  ${line}`),
    onStatus: (s) => display.status(s),
    onHistory: (history) => histories.push(history),
  });
    display.end();
  } catch (error) {
    display.end();
    if (error instanceof HarnessError) {
      io.err(`failclosed: inconclusive — the run could not observe the system: ${error.message}\n  what to do: ${error.remedy}\n`);
      return 2;
    }
    throw error;
  } finally {
    logs = target.logs?.();
    digest = target.digest;
    // Closing what the harness started cannot change what it observed: a failure here is reported, never thrown.
    await target.close().catch((error: unknown) => io.err(`failclosed: warning — the harness could not close the target cleanly: ${(error as Error).message}\n`));
  }
  // Every run gets a folder of its own: an earlier run's evidence is never overwritten.
  const reportDir = resolve(options.report ?? join('failclosed-report', `run-${new Date(Date.now() - report.durationMs).toISOString().replace(/[:.]/g, '-')}-seed-${report.seed}`));
  const counterexampleFile = join(reportDir, 'counterexample.json');
  const replayHint = report.failure ? `npx failclosed replay ${counterexampleFile}` : undefined;
  io.out(formatRunReport(report, replayHint));
  if (report.failure && logs) io.out(`The system under test printed (last lines):\n${logs.trimEnd().split('\n').slice(-15).map((l) => `  | ${l}`).join('\n')}\n`);
  const document: CounterexampleFile = { version: COUNTEREXAMPLE_VERSION, target: spec, profile: options.profile, report, ...(logs ? { logs: logs.slice(-20_000) } : {}) };
  const written = await writeReportFolder(reportDir, report, {
    histories,
    ...(logs ? { logs: logs.slice(-20_000) } : {}),
    ...(replayHint ? { replayCommand: replayHint } : {}),
    ...(digest ? { targetDigest: digest } : {}),
  });
  const documents = [report.failure ? counterexampleFile : undefined, options.json].filter((f): f is string => !!f);
  for (const file of documents) {
    mkdirSync(dirname(resolve(file)), { recursive: true });
    writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
    written.push(resolve(file));
  }
  const kit = await writeKit(join(reportDir, 'kit'), histories, { target: report.target, seed: report.seed, profile: report.profile, verdict: report.verdict });
  io.out(`report: ${join(reportDir, 'report.html')}\n`);
  io.out(`verification kit: ${kit.dir} (${kit.runs} runs, ${kit.requests} requests, ${kit.files} files, signed by ${kit.harnessKeyId}); check it with: npx failclosed verify ${kit.dir}\n`);
  return report.exitCode;
}

/** The target the options name, or what is wrong with them. Shared by run and doctor. */
export function targetSpecOf(values: Record<string, string | boolean | string[] | undefined>): TargetSpec | string {
  const variant = typeof values.variant === 'string' ? values.variant : undefined;
  let replicas: number | undefined;
  if (values.replicas !== undefined) {
    replicas = Number(values.replicas);
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > 8) return `--replicas must be a whole number from 1 to 8, not "${String(values.replicas)}"`;
    if (typeof values.image !== 'string' && values.over !== 'http') return '--replicas goes with --image or --over http (a running --target is one gate)';
  }
  if (typeof values.image === 'string') {
    if (typeof values.target === 'string' || variant || values.over !== undefined) return '--image takes neither --target, --variant nor --over';
    return { kind: 'image', image: values.image, ...(replicas ? { replicas } : {}) };
  }
  if (typeof values.target === 'string') {
    if (variant || values.over !== undefined) return '--target names a running gate: it takes neither --variant nor --over';
    let url: URL;
    try {
      url = new URL(values.target);
      if (url.protocol !== 'http:') throw new Error();
    } catch {
      return `--target must be an http:// URL, not "${values.target}"`;
    }
    const port = values['harness-port'] === undefined ? DEFAULT_HARNESS_PORT : Number(values['harness-port']);
    if (!Number.isInteger(port) || port < 1 || port > 65533) return `--harness-port must be a port number, not "${String(values['harness-port'])}"`;
    return { kind: 'url', url: url.href, harnessHost: typeof values['harness-host'] === 'string' ? values['harness-host'] : '127.0.0.1', harnessPort: port };
  }
  if (values['harness-port'] !== undefined) return '--harness-port goes with --target';
  const over = values.over === undefined ? 'in-process' : String(values.over);
  if (over !== 'in-process' && over !== 'http') return `--over must be in-process or http, not "${over}"`;
  if (over === 'http') return { kind: 'http', ...(variant ? { variant } : {}), ...(replicas ? { replicas } : {}) };
  return { kind: 'in-process', ...(variant ? { variant } : {}) };
}

export const runCommand: CommandSpec = {
  name: 'run',
  summary: 'run the conformance suite (default: the embedded reference, in-process)',
  usage: 'failclosed run [--target URL [--harness-port N] | --image IMAGE [--replicas N] | --over in-process|http [--replicas N]] [--profile quick|standard|thorough] [--seed N] [--runs N] [--json FILE] [--variant ID]',
  details: [
    '--profile NAME   quick (default; ~5-20 s), standard, or thorough: how many random command',
    '                 sequences follow the prelude that drives every scenario of the model once',
    '--seed N         fast-check seed (default: random, printed) — the same seed gives the same run',
    '--runs N         number of random command sequences (overrides the profile)',
    '--report DIR     where to write the report folder: result.json, junit.xml, report.html, the',
    '                 verification kit (kit/), and counterexample.json when it fails (default: a new',
    '                 failclosed-report/run-<time>-seed-<seed>/ for every run)',
    '--json FILE      also write the run report there (a replayable counterexample file when it fails)',
    '--target URL     test a running gate (a vendor\'s) configured as `failclosed doctor --print-config`',
    '                 says; the harness serves its Control Plane, effect sink and Execution Layer',
    `                 proxy on --harness-port N, N+1, N+2 (default ${DEFAULT_HARNESS_PORT})`,
    '--image IMAGE    start that image with testcontainers (host network, loopback only), configured',
    '                 through the contract\'s environment; crashes are container restarts; needs Docker',
    '--replicas N     with --image or --over http: N instances of the gate sharing the system\'s own',
    '                 stores; requests (concurrent duplicates included) are spread over all of them',
    '--over WIRING    without --target: the embedded reference in-process (default) or over http',
    '                 (its own `failclosed serve` process, configured through the contract)',
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
    report: { type: 'string' },
    variant: { type: 'string' },
    target: { type: 'string' },
    image: { type: 'string' },
    replicas: { type: 'string' },
    'harness-port': { type: 'string' },
    'harness-host': { type: 'string' },
    over: { type: 'string' },
  },
  async run(values, io) {
    const seed = parseCount(values.seed, '--seed');
    const runs = parseCount(values.runs, '--runs');
    if (typeof seed === 'string') return io.usageError(seed);
    if (typeof runs === 'string') return io.usageError(runs);
    const spec = targetSpecOf(values);
    if (typeof spec === 'string') return io.usageError(spec);
    return executeRun(io, spec, {
      profile: String(values.profile),
      ...(seed !== undefined ? { seed } : {}),
      ...(runs !== undefined ? { runs } : {}),
      ...(typeof values.json === 'string' ? { json: values.json } : {}),
      ...(typeof values.report === 'string' ? { report: values.report } : {}),
    });
  },
};
