/** `failclosed run`: the conformance suite against a system under test. */
import { availableParallelism } from 'node:os';
import type { History } from '../../model/history.ts';
import type { RunReport } from '../../conformance/runner.ts';
import { runSuite } from '../../conformance/runner.ts';
import { PROFILES, isProfileName } from '../../conformance/profiles.ts';
import type { Level } from '../../conformance/run-control/levels.ts';
import { DEFAULT_LEVEL, LEVELS, LEVEL_SUMMARY, isLevel } from '../../conformance/run-control/levels.ts';
import { formatRunReport } from '../report-text.ts';
import type { OpenTarget, TargetSpec } from '../targets.ts';
import { TargetError, describeTarget, openTarget } from '../targets.ts';
import { HarnessError } from '../drivers/http.ts';
import { progressDisplay, wantsLiveProgress } from '../progress.ts';
import { DEFAULT_HARNESS_PORT } from '../http-harness.ts';
import { defaultReportDir, reportDirProblem, writeRunEvidence } from '../reports/run-evidence.ts';
import type { CommandIO, CommandSpec } from './command.ts';
import type { LoadedCommands, LoadedInvariants } from '../api/load-plugins.ts';
import { loadCommandFiles } from '../api/load-plugins.ts';
import { invariantsOption } from './plugin-options.ts';
import { PluginCommandError } from '../../conformance/commands/plugin-commands.ts';
import type { DriverOptions } from '../drivers/plugin-driver.ts';
import { resolve } from 'node:path';
import { PluginError } from '../../model/invariants/plugins.ts';

export type { CounterexampleFile } from '../reports/run-evidence.ts';
export { COUNTEREXAMPLE_VERSION } from '../reports/run-evidence.ts';

function parseCount(value: unknown, name: string): number | undefined | string {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) return `${name} must be a non-negative integer, not "${String(value)}"`;
  return n;
}

export interface RunOptions {
  profile: string;
  level?: string;
  seed?: number;
  runs?: number;
  /** time budget of the random phase, in seconds */
  budgetSec?: number;
  json?: string;
  report?: string;
  replay?: { seed: number; path: string; replayPath?: string };
  /** systems to run the random phase on at the same time (default: the cores, for targets the harness starts) */
  parallel?: number;
  /** one shard of a campaign */
  shard?: { index: number; count: number };
  /** plug-in invariant modules (--invariants), judged after INV-1…INV-6 */
  invariantFiles?: string[];
  /** plug-in command modules (--commands), drawn among the built-in commands */
  commandFiles?: string[];
  /** how the target is opened (tests put a failing one here) */
  open?: (spec: TargetSpec) => Promise<OpenTarget>;
}

/**
 * How many systems a run uses by default: one per core (at most 4) when the harness starts them
 * itself — in-process systems overlap their waits, processes and containers use the cores — and
 * one for a running gate, which is one system.
 */
export function defaultParallelism(spec: TargetSpec): number {
  return spec.kind === 'url' ? 1 : Math.max(1, Math.min(4, availableParallelism()));
}

/** Shared by run and replay: checks, runs, writes the evidence, prints — the verdict last — and returns the exit status. */
export async function executeRun(io: CommandIO, spec: TargetSpec, options: RunOptions): Promise<number> {
  if (!isProfileName(options.profile)) return io.usageError(`--profile must be quick, standard or thorough, not "${options.profile}"`);
  const level: Level | undefined = options.level === undefined ? DEFAULT_LEVEL : isLevel(options.level) ? options.level : undefined;
  if (!level) return io.usageError(`--level must be ${LEVELS.join(' or ')}, not "${options.level}"`);
  const started = new Date();
  // Chosen now, so that the folder can be named and checked before anything runs.
  const seed = options.replay?.seed ?? options.seed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;
  const reportDir = options.report ?? defaultReportDir(started, seed);
  const problem = reportDirProblem(reportDir);
  if (problem) return io.fail(problem, 'give --report a new or empty folder (every run writes its own), or remove that one');

  let plugins: LoadedInvariants | undefined;
  if (options.invariantFiles?.length) {
    const loaded = await invariantsOption(options.invariantFiles, io);
    if (typeof loaded === 'number') return loaded;
    plugins = loaded;
  }

  let commands: LoadedCommands | undefined;
  if (options.commandFiles?.length) {
    try {
      commands = await loadCommandFiles(options.commandFiles);
    } catch (error) {
      if (!(error instanceof PluginCommandError)) throw error;
      return io.fail(error.message, 'give --commands a module that exports defineCommand(…) values (see docs/extending/commands.md)');
    }
  }

  const parallel = options.replay ? 1 : (options.parallel ?? defaultParallelism(spec));
  if (parallel > 1 && spec.kind === 'url') return io.usageError('--parallel needs systems the harness starts itself (in-process, --over http, --command, --image): a running --target is one gate');
  io.out(`failclosed: ${options.replay ? 'replaying a counterexample against' : 'testing'} ${describeTarget(spec)} at level ${level}${parallel > 1 ? `, ${parallel} systems in parallel` : ''}\n`);
  const targets: OpenTarget[] = [];
  const closeTargets = async () => {
    for (const t of targets) {
      // Closing what the harness started cannot change what it observed: a failure here is reported, never thrown.
      await t.close().catch((error: unknown) => io.err(`failclosed: warning — the harness could not close the target cleanly: ${(error as Error).message}\n`));
    }
  };
  try {
    for (let i = 0; i < parallel; i++) targets.push(await (options.open ?? openTarget)(spec));
  } catch (error) {
    await closeTargets();
    if (error instanceof TargetError) return io.fail(error.message, error.remedy);
    if (error instanceof HarnessError) return io.fail(`inconclusive — cannot reach the system under test: ${error.message}`, error.remedy);
    throw error;
  }
  const [target, ...others] = targets as [OpenTarget, ...OpenTarget[]];
  let report: RunReport;
  let logs: string | undefined;
  const histories: History[] = [];
  let digest: string | undefined;
  // Custom output (tests, embedding) never gets terminal control sequences.
  const display = progressDisplay(io.out, io.live === true && wantsLiveProgress());
  try {
    report = await runSuite(target.makeDriver, {
      harness: target.harness,
      ...(others.length > 0 ? { moreSystems: others.map((t) => ({ harness: t.harness, makeDriver: t.makeDriver })) } : {}),
      profile: PROFILES[options.profile],
      level,
      seed,
      ...(options.runs !== undefined ? { runs: options.runs } : {}),
      ...(options.budgetSec !== undefined ? { timeBudgetMs: options.budgetSec * 1000 } : {}),
      ...(options.replay ? { replay: options.replay } : {}),
      ...(options.shard ? { shard: options.shard } : {}),
      ...(plugins ? { invariants: plugins.invariants } : {}),
      ...(commands ? { commands: commands.commands } : {}),
      onProgress: (line) => display.line(`  ${line}`),
      onStatus: (s) => display.status(s),
      onHistory: (history) => histories.push(history),
    });
  } catch (error) {
    display.end();
    if (error instanceof PluginError) return io.fail(`a plug-in invariant failed, not the gate: ${error.message}`, 'fix the plug-in (its predicate must not throw and must name witnesses inside the history)');
    if (error instanceof PluginCommandError) return io.fail(`a plug-in command failed, not the gate: ${error.message}`, 'fix the plug-in command (its steps take answers of model/questions.ts)');
    if (error instanceof HarnessError) {
      return io.fail(`inconclusive — the run could not observe the system: ${error.message}`, error.remedy);
    }
    throw error;
  } finally {
    logs = targets.map((t, i) => { const l = t.logs?.(); return l && targets.length > 1 ? `--- system ${i + 1} ---\n${l}` : l; }).filter(Boolean).join('\n') || undefined;
    digest = target.digest;
    await closeTargets();
  }
  display.end();
  const evidence = await writeRunEvidence(reportDir, report, {
    histories,
    target: spec,
    level,
    ...(logs ? { logs: logs.slice(-20_000) } : {}),
    ...(digest ? { targetDigest: digest } : {}),
    ...(options.json ? { jsonFile: options.json } : {}),
    ...(plugins ? { invariantFiles: plugins.files } : {}),
    ...(commands ? { commandFiles: commands.files } : {}),
  });
  if (report.failure && logs) io.out(`The system under test printed (last lines):\n${logs.trimEnd().split('\n').slice(-15).map((l) => `  | ${l}`).join('\n')}\n`);
  io.out(
    formatRunReport(report, {
      reportHtml: evidence.reportHtml,
      kit: { dir: evidence.kit.dir, histories: evidence.kit.runs, files: evidence.kit.files, harnessKeyId: evidence.kit.harnessKeyId },
      ...(evidence.replayCommand ? { replayCommand: evidence.replayCommand } : {}),
    }),
  );
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
  let store: string | undefined;
  if (values.store !== undefined) {
    store = String(values.store);
    if (store !== 'postgres' && store !== 'file' && !/^postgres(ql)?:\/\/\S+$/.test(store)) return `--store must be postgres, file or a postgres:// URL, not "${store}"`;
    if (typeof values.image !== 'string' && values.over !== 'http') return '--store goes with --over http or --image (the reference the harness starts)';
  }
  if (typeof values.command === 'string') {
    if (typeof values.target === 'string' || typeof values.image === 'string' || variant || values.over !== undefined || replicas) return '--command takes neither --target, --image, --variant, --over nor --replicas';
    if (values.command.trim() === '') return '--command needs the command line that starts the gate';
    return { kind: 'command', command: values.command, ...(typeof values.cwd === 'string' ? { cwd: values.cwd } : {}) };
  }
  if (values.cwd !== undefined) return '--cwd goes with --command';
  if (typeof values.driver === 'string') {
    if (typeof values.target === 'string' || typeof values.image === 'string' || variant || values.over !== undefined || replicas) return '--driver takes neither --target, --image, --variant, --over nor --replicas';
    let options: DriverOptions | undefined;
    if (typeof values['driver-options'] === 'string') {
      try {
        options = JSON.parse(values['driver-options']) as DriverOptions;
      } catch {
        return `--driver-options must be a JSON object, not "${values['driver-options']}"`;
      }
      if (typeof options !== 'object' || options === null || Array.isArray(options)) return `--driver-options must be a JSON object, not "${values['driver-options']}"`;
    }
    return { kind: 'driver', module: resolve(values.driver), ...(options ? { options } : {}) };
  }
  if (values['driver-options'] !== undefined) return '--driver-options goes with --driver';
  if (typeof values.image === 'string') {
    if (typeof values.target === 'string' || variant || values.over !== undefined) return '--image takes neither --target, --variant nor --over';
    return { kind: 'image', image: values.image, ...(replicas ? { replicas } : {}), ...(store ? { store } : {}) };
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
    let executionLayer: string | undefined;
    if (typeof values['execution-layer'] === 'string') {
      try {
        const el = new URL(values['execution-layer']);
        if (el.protocol !== 'http:') throw new Error();
        executionLayer = el.href;
      } catch {
        return `--execution-layer must be an http:// URL, not "${values['execution-layer']}"`;
      }
    }
    return {
      kind: 'url',
      url: url.href,
      harnessHost: typeof values['harness-host'] === 'string' ? values['harness-host'] : '127.0.0.1',
      harnessPort: port,
      ...(executionLayer ? { executionLayer } : {}),
    };
  }
  if (values['harness-port'] !== undefined) return '--harness-port goes with --target';
  if (values['execution-layer'] !== undefined) return '--execution-layer goes with --target';
  const over = values.over === undefined ? 'in-process' : String(values.over);
  if (over !== 'in-process' && over !== 'http') return `--over must be in-process or http, not "${over}"`;
  if (over === 'http') return { kind: 'http', ...(variant ? { variant } : {}), ...(replicas ? { replicas } : {}), ...(store ? { store } : {}) };
  return { kind: 'in-process', ...(variant ? { variant } : {}) };
}

export const runCommand: CommandSpec = {
  name: 'run',
  summary: 'run the conformance suite (default: the embedded reference, in-process)',
  usage:
    'failclosed run [--target URL [--harness-port N] [--execution-layer URL] | --command CMD [--cwd DIR] | --image IMAGE [--replicas N] [--store S] | --over in-process|http [--replicas N] [--store S]] [--level core|full] [--profile quick|standard|thorough] [--seed N] [--runs N] [--budget SECONDS] [--parallel N] [--shard i/n] [--report DIR] [--json FILE] [--variant ID] [--driver FILE [--driver-options JSON]] [--commands FILE]… [--invariants FILE]…',
  details: [
    `--level LEVEL    the conformance level to certify (default ${DEFAULT_LEVEL}):`,
    ...LEVELS.map((l) => `                   ${l.padEnd(5)} ${LEVEL_SUMMARY[l]}`),
    '                 a gate without the control channel can be certified at core only',
    '--profile NAME   quick (default; ~5-20 s), standard, or thorough: how many random command',
    '                 sequences follow the prelude that drives every scenario of the model once',
    '--seed N         fast-check seed (default: random, printed) — the same seed gives the same run',
    '--runs N         number of random command sequences (overrides the profile); all of them run,',
    '                 whatever the time, unless --budget is given too',
    '--budget SECONDS time budget of the random phase (default: the profile\'s; none with --runs). No',
    '                 sequence starts after it; one in flight finishes. A budget that stops --runs',
    '                 short makes the run inconclusive; the profile\'s own budget is stretched (up to',
    '                 4x) for a slow system that has not reached the step floor yet',
    '--parallel N     run the random phase on N systems at the same time, each with its own harness',
    '                 and fast-check lane (default: one per core, at most 4; 1 for --target); the',
    '                 prelude runs on the first; one verdict, one report, one kit',
    '--shard i/n      run slice i of n of the campaign (needs --seed, the same in every shard): the',
    '                 prelude in shard 1, lane i of the random phase with its share of the runs; exit',
    '                 0 when nothing failed in the slice (verdict partial), 1 on a failure; then',
    '                 `failclosed merge` the n report folders for the campaign\'s verdict',
    '--report DIR     where to write the report folder: result.json, junit.xml, report.html, the',
    '                 verification kit (kit/), and counterexample.json when it fails (default: a new',
    '                 failclosed-report/run-<time>-seed-<seed>/ for every run); it must be new or empty',
    '--json FILE      also write the run report there (a replayable counterexample file when it fails)',
    '--target URL     test a running gate (a vendor\'s) configured as `failclosed doctor --print-config`',
    '                 says; the harness serves its Control Plane, effect sink and Execution Layer',
    `                 proxy on --harness-port N, N+1, N+2 (default ${DEFAULT_HARNESS_PORT})`,
    '--execution-layer URL  with --target, for a gate without the control channel: where its',
    '                 Execution Layer really listens, so the proxy on N+2 can forward there (the gate',
    '                 sets FAILCLOSED_EXECUTION_LAYER_URL to the proxy); a handshake\'s URL wins',
    '--command CMD    start the gate yourself: the harness runs CMD (with sh -c, in --cwd DIR) configured',
    '                 through the contract\'s environment on free loopback ports and a fresh data',
    '                 directory, waits for a line "ready" and GET /healthz, crashes it for real',
    '                 (SIGKILL, then CMD again on the same data) and probes its Execution Layer where',
    '                 it told it to listen — so crash-restart and bypass are tested without a channel',
    '--image IMAGE    start that image with testcontainers (host network, loopback only), configured',
    '                 through the contract\'s environment; crashes are container restarts; needs Docker',
    '--replicas N     with --image or --over http: N instances of the gate sharing the system\'s own',
    '                 stores; requests (concurrent duplicates included) are spread over all of them',
    '--store S        where the reference (--over http, or an image of it) keeps its state: postgres',
    '                 (a throw-away PostgreSQL cluster the harness starts; the default with replicas),',
    '                 a postgres://… URL of your server (the harness creates and drops a database on',
    '                 it), or file (one process only)',
    '--over WIRING    without --target: the embedded reference in-process (default) or over http',
    '                 (its own `failclosed serve` process, configured through the contract)',
    '--variant ID     test a planted-bug variant of the reference instead (see failclosed mutants)',
    '--driver FILE    test a gate that does not speak HTTP (a library, a CLI) through your adapter: a',
    '                 module whose default export is defineDriver({ name, capabilities, start })',
    '                 (failclosed/api); --driver-options JSON is handed to its start',
    '--commands FILE  plug-in commands: a module exporting defineCommand(…) values (failclosed/api),',
    '                 drawn among the built-in commands (and run once in the prelude when they say',
    '                 so); repeatable',
    '--invariants FILE  plug-in invariants: a .ts or .js module exporting defineInvariant(…) values',
    '                 (failclosed/api); judged after INV-1…INV-6 on every run and reported beside',
    '                 them (text, result.json, junit.xml, report.html); repeatable',
    '',
    'A failure writes counterexample.json in the report folder (and --json FILE); re-run it exactly',
    'with `failclosed replay FILE`. The verdict is the last line printed.',
    'Exit status: 0 compliant at the level asked for, 1 non-compliant, 2 inconclusive (a scenario of',
    'the level not tested, too few steps, too little model coverage, no effect observed, a gate that',
    'was not fresh or could not be observed) or a usage error.',
  ],
  options: {
    profile: { type: 'string', default: 'quick' },
    level: { type: 'string' },
    budget: { type: 'string' },
    parallel: { type: 'string' },
    shard: { type: 'string' },
    seed: { type: 'string' },
    runs: { type: 'string' },
    json: { type: 'string' },
    report: { type: 'string' },
    variant: { type: 'string' },
    target: { type: 'string' },
    image: { type: 'string' },
    command: { type: 'string' },
    cwd: { type: 'string' },
    replicas: { type: 'string' },
    store: { type: 'string' },
    'harness-port': { type: 'string' },
    'harness-host': { type: 'string' },
    'execution-layer': { type: 'string' },
    over: { type: 'string' },
    invariants: { type: 'string', multiple: true },
    commands: { type: 'string', multiple: true },
    driver: { type: 'string' },
    'driver-options': { type: 'string' },
  },
  async run(values, io) {
    const seed = parseCount(values.seed, '--seed');
    const runs = parseCount(values.runs, '--runs');
    const budget = parseCount(values.budget, '--budget');
    let shard: { index: number; count: number } | undefined;
    if (values.shard !== undefined) {
      const m = /^(\d+)\/(\d+)$/.exec(String(values.shard));
      const index = Number(m?.[1]);
      const count = Number(m?.[2]);
      if (!m || index < 1 || count < 1 || index > count || count > 256) return io.usageError(`--shard must be i/n with 1 ≤ i ≤ n ≤ 256, not "${String(values.shard)}"`);
      if (seed === undefined) return io.usageError('--shard needs --seed: every shard of a campaign runs under the same seed');
      shard = { index, count };
    }
    const parallel = parseCount(values.parallel, '--parallel');
    if (typeof parallel === 'string') return io.usageError(parallel);
    if (parallel !== undefined && (parallel < 1 || parallel > 16)) return io.usageError('--parallel must be a whole number from 1 to 16');
    if (typeof seed === 'string') return io.usageError(seed);
    if (typeof runs === 'string') return io.usageError(runs);
    if (typeof budget === 'string') return io.usageError(budget);
    if (budget === 0) return io.usageError('--budget must be at least 1 second');
    const spec = targetSpecOf(values);
    if (typeof spec === 'string') return io.usageError(spec);
    return executeRun(io, spec, {
      profile: String(values.profile),
      ...(typeof values.level === 'string' ? { level: values.level } : {}),
      ...(budget !== undefined ? { budgetSec: budget } : {}),
      ...(parallel !== undefined ? { parallel } : {}),
      ...(shard ? { shard } : {}),
      ...(seed !== undefined ? { seed } : {}),
      ...(runs !== undefined ? { runs } : {}),
      ...(typeof values.json === 'string' ? { json: values.json } : {}),
      ...(typeof values.report === 'string' ? { report: values.report } : {}),
      ...(Array.isArray(values.invariants) ? { invariantFiles: values.invariants } : {}),
      ...(Array.isArray(values.commands) ? { commandFiles: values.commands } : {}),
    });
  },
};
