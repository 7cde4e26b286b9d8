/**
 * The suite: a fixed prelude that drives every scenario of the model once (so every transition of
 * the statechart is exercised), then random command sequences from fast-check, shrunk to a short
 * counterexample on failure. After each, the INV-1…INV-6 predicates judge the recorded history.
 *
 * Verdicts: compliant (0), non-compliant (1), inconclusive (2) — a run that executed fewer steps
 * than its profile's floor, covered too little of the model, or saw no effect at all proves
 * nothing and says so.
 */
import fc from 'fast-check';
import { describeChart } from '../model/describe.ts';
import { executionLayerMachine } from '../model/execution-layer-machine.ts';
import { gateMachine } from '../model/gate-machine.ts';
import type { History } from '../model/history.ts';
import { defaultHistoryKeys } from '../model/history-builder.ts';
import { checkInvariants } from '../model/invariants/index.ts';
import type { PriorHistory } from '../model/predict.ts';
import { enumerateDirectCallScenarios, enumerateGateScenarios } from '../model/predict.ts';
import type { InvariantId } from '../model/profile/denial-codes.ts';
import { INVARIANT_IDS, PROFILE_VERSION } from '../model/profile/denial-codes.ts';
import { answersOf } from '../model/concrete-scenario.ts';
import { isHealthy } from '../model/questions.ts';
import type { Question } from '../model/questions.ts';
import { ScriptedControlPlane } from '../harness/control-plane/scripted-control-plane.ts';
import { HistoryRecorder } from '../harness/history-recorder.ts';
import type { InProcessDriverOptions } from '../harness/drivers/in-process.ts';
import type { Command } from './commands/command.ts';
import { commandArbitraries } from './commands/index.ts';
import { ApprovalBoundElsewhere, ExpiredApproval } from './commands/control-plane-commands.ts';
import { PartitionThenHeal } from './commands/fault-commands.ts';
import { MalformedBody } from './commands/request-commands.ts';
import { ClockSkew, ConcurrentDuplicates, CrashRestartThenReplay, ReplayEarlier, SameNonceOtherIdentity } from './commands/replay-commands.ts';
import { DirectCall } from './commands/bypass-commands.ts';
import type { Driver } from './driver.ts';
import type { Profile } from './profiles.ts';
import { ConformanceFailure, RunContext } from './run-context.ts';
import type { Threat } from './threats.ts';
import { THREAT_INVARIANTS } from './threats.ts';

export const REPORT_VERSION = 'failclosed-run/1';
export const ACCEPTANCE_WINDOW_SEC = 300;

export type Verdict = 'compliant' | 'non-compliant' | 'inconclusive';

export interface FailureReport {
  invariants: InvariantId[];
  threat: Threat | 'history';
  message: string;
  /** the steps of the (shrunk) counterexample, in order */
  commands: string[];
  /** what the system did at each step of the last, failing run */
  trail: string[];
  /** the model scenario of each step, "[prior] question.answer …": what reports place on the statechart */
  modelPaths: string[];
  phase: 'prelude' | 'random';
  seed: number;
  path?: string;
  replayPath?: string;
  shrinks: number;
  timeToDetectionMs: number;
}

export interface RunReport {
  version: typeof REPORT_VERSION;
  profile: string;
  profileVersion: typeof PROFILE_VERSION;
  target: string;
  verdict: Verdict;
  exitCode: 0 | 1 | 2;
  reasons: string[];
  seed: number;
  counts: { steps: number; runs: number; effects: number; preludeScenarios: number };
  coverage: { covered: number; total: number; percent: number; missing: string[] };
  invariants: Record<InvariantId, 'held' | 'broken' | 'not tested'>;
  notTested: { scenario: string; needs: string }[];
  failure?: FailureReport;
  durationMs: number;
}

export interface SuiteOptions {
  profile: Profile;
  seed?: number;
  /** overrides the profile's number of random runs */
  runs?: number;
  /** re-run exactly one recorded counterexample (skips the prelude) */
  replay?: { seed: number; path: string; replayPath?: string };
  /** skip the prelude (e.g. to measure the random phase alone) */
  skipPrelude?: boolean;
  /** a harness made beforehand (e.g. to start HTTP services around a gate before the run) */
  harness?: Harness;
  /** receives the recorded history of every run as it is judged (evidence kits, reports) */
  onHistory?: (history: History, run: { index: number; phase: 'prelude' | 'random'; failed: boolean }) => void;
  onProgress?: (line: string) => void;
  /** structured progress after the prelude and after every random run (for live displays) */
  onStatus?: (status: RunStatus) => void;
}

export interface RunStatus {
  phase: 'prelude' | 'random' | 'shrinking';
  runsDone: number;
  /** the prelude plus the random runs the profile asks for */
  runsTotal: number;
  steps: number;
  elapsedMs: number;
  /** runs that failed so far (shrinking fails many on purpose) */
  failures: number;
  invariants: Record<InvariantId, 'held so far' | 'broken'>;
}

/** The harness's side of a run: what it records, the Control Plane it plays, the keys and settings. */
export type Harness = InProcessDriverOptions;

/** Builds a driver wired to the harness's Control Plane and recorder. */
export type DriverFactory = (harness: Harness) => Driver | Promise<Driver>;

/** A fresh harness: recorder, scripted Control Plane, the fixed test keys, the profile's settings. */
export function createHarness(): Harness {
  const keys = defaultHistoryKeys();
  const recorder = new HistoryRecorder({ acceptanceWindowSec: ACCEPTANCE_WINDOW_SEC, replayWindowSec: 2 * ACCEPTANCE_WINDOW_SEC }, keys);
  return {
    controlPlane: new ScriptedControlPlane(recorder),
    recorder,
    identityKeys: keys.identityKeys,
    trustedKeys: keys.controlPlaneKeys,
    settings: { acceptanceWindowSec: ACCEPTANCE_WINDOW_SEC, replayWindowSec: 2 * ACCEPTANCE_WINDOW_SEC, controlPlaneDeadlineMs: 100, executionDeadlineMs: 2000 },
  };
}

/** The threat a scenario stands for, by its first unhealthy answer. */
export const THREAT_OF: Readonly<Record<Question, Threat>> = {
  requestShape: 'malformed-input',
  identityKey: 'forged-request',
  signature: 'forged-request',
  timestamp: 'stale-request',
  nonceStore: 'nonce-store-failure',
  controlPlane: 'control-plane-failure',
  envelopeWindow: 'expired-approval',
  envelopeBinding: 'argument-swap',
  auditStore: 'audit-failure',
  executionLink: 'partition-during-approval',
  executionOutcome: 'lost-confirmation',
  presentedEnvelope: 'bypass',
  envelopeSignature: 'bypass',
  callBinding: 'bypass',
};

/** The model's answer transitions: what coverage is measured against. */
function declaredTransitions(): Set<string> {
  const declared = new Set<string>();
  for (const [chart, machine] of [['gate', gateMachine], ['executionLayer', executionLayerMachine]] as const) {
    for (const t of describeChart(machine).transitions) if (t.event.includes('.')) declared.add(`${chart}:${t.source}:${t.event}`);
  }
  return declared;
}

function scenarioLabel(prior: PriorHistory, steps: { question: Question; answer: string }[]): string {
  const faults = steps.filter((s) => !isHealthy(s.question, s.answer)).map((s) => `${s.question}.${s.answer}`);
  return `${prior === 'none' ? '' : `[${prior}] `}${faults.join(' ') || 'healthy'}`;
}

function tagOf(prior: PriorHistory, steps: { question: Question; answer: string }[]) {
  const first = steps.find((s) => !isHealthy(s.question, s.answer));
  const tampered = first?.question === 'executionLink' && first.answer === 'tampered';
  const threat: Threat = prior !== 'none' ? 'replay' : tampered ? 'argument-swap' : first ? (THREAT_OF[first.question] ?? 'happy-path') : 'happy-path';
  return { threat, invariants: THREAT_INVARIANTS[threat] };
}

function renderWitnesses(history: History, indexes: number[]): string {
  return indexes
    .slice(0, 6)
    .map((i) => {
      const e = history.events[i];
      if (!e) return `#${i}`;
      switch (e.kind) {
        case 'request':
          return `request op ${e.op}`;
        case 'response':
          return `answer to op ${e.op}: ${e.status}${e.code ? ` ${e.code}` : ''}`;
        case 'effect':
          return `effect ${e.effect_id} (approval ${e.approval_id ?? 'none'})`;
        case 'policy':
          return `Control Plane ${e.answer.kind}`;
        case 'direct-call':
          return `direct call op ${e.op}: ${e.status}`;
        case 'fault':
          return `fault ${e.fault}`;
        default:
          return e.kind;
      }
    })
    .join('; ');
}

/** The run's history as it stands (for a run that failed before it was judged). */
async function snapshot(ctx: RunContext): Promise<History | undefined> {
  try {
    const exported = ctx.driver.capabilities.has('audit-export');
    await ctx.driver.settle();
    return ctx.recorder.build(exported ? await ctx.driver.auditExport() : [], exported);
  } catch {
    return undefined; // the system may be in no state to export: the report says what it can
  }
}

/** Judges the run's history with INV-1…INV-6; throws on the first invariant that does not hold. */
async function judgeHistory(ctx: RunContext, keep?: (history: History, failed: boolean) => void): Promise<History> {
  const exported = ctx.driver.capabilities.has('audit-export');
  await ctx.driver.settle();
  const exports = exported ? await ctx.driver.auditExport() : [];
  const history = ctx.recorder.build(exports, exported);
  const verdicts = checkInvariants(history);
  keep?.(history, verdicts.some((v) => !v.holds));
  for (const verdict of verdicts) {
    if (verdict.invariant === 'INV-5' && !exported) continue;
    const v = verdict.violations[0];
    if (v) {
      const line = `${v.invariant} does not hold: ${v.message} [${renderWitnesses(history, v.eventIndexes)}]`;
      ctx.trail.push(line);
      throw new ConformanceFailure([v.invariant], 'history', line, v.eventIndexes);
    }
  }
  return history;
}

/** Every model scenario once, then the commands whose behaviour lies outside one request. */
async function prelude(ctx: RunContext): Promise<number> {
  let scenarios = 0;
  for (const run of enumerateGateScenarios()) {
    ctx.beginSegment(scenarioLabel(run.prior, run.steps));
    await ctx.gateScenario({ label: scenarioLabel(run.prior, run.steps), tag: tagOf(run.prior, run.steps), answers: answersOf(run), prior: run.prior });
    scenarios += 1;
  }
  for (const run of enumerateDirectCallScenarios()) {
    // A valid, unused envelope made up by the harness is not a compliant trace: its effect would
    // have no policy exchange. Those runs are the Execution Layer's own tests.
    if (run.outcome.decision === 'executed') continue;
    ctx.beginSegment(`direct call ${scenarioLabel(run.prior, run.steps)}`);
    await ctx.directCall({ label: `direct call ${scenarioLabel(run.prior, run.steps)}`, tag: tagOf('none', run.steps), answers: answersOf(run), prior: run.prior === 'approvalConsumed' ? 'approvalConsumed' : 'none' });
    scenarios += 1;
  }
  const extras: Command[] = [
    new ConcurrentDuplicates(8),
    new SameNonceOtherIdentity(),
    new PartitionThenHeal(),
    new ExpiredApproval('expired', true),
    new ApprovalBoundElsewhere('otherParameters', 'nested'),
    new ApprovalBoundElsewhere('otherParameters', 'array-order'),
    ...(['duplicate-key', 'missing-field', 'wrong-type', 'proto-key', 'not-json', 'oversized'] as const).map((k) => new MalformedBody(k)),
    new ClockSkew(ACCEPTANCE_WINDOW_SEC + 30),
    new ClockSkew(-(ACCEPTANCE_WINDOW_SEC + 30)),
    new DirectCall('expired-at-edge'),
    new CrashRestartThenReplay(0),
    new ReplayEarlier(1),
  ];
  for (const command of extras) {
    ctx.beginSegment(command.toString());
    await command.run({}, ctx);
    scenarios += 1;
  }
  return scenarios;
}

export async function runSuite(makeDriver: DriverFactory, options: SuiteOptions): Promise<RunReport> {
  const started = Date.now();
  const progress = options.onProgress ?? (() => undefined);
  const profile = options.profile;
  const seed = options.replay?.seed ?? options.seed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;
  const harness = options.harness ?? createHarness();
  const { recorder, controlPlane } = harness;
  const driver = await makeDriver(harness);

  let runTag = 0;
  const newContext = async (): Promise<RunContext> => {
    await driver.reset();
    recorder.reset();
    runTag += 1;
    return new RunContext(driver, controlPlane, recorder, ACCEPTANCE_WINDOW_SEC, `${seed.toString(36)}r${runTag}`);
  };

  const coverage = new Set<string>();
  const notTested = new Map<string, string>();
  let steps = 0;
  let effects = 0;
  let runs = 0;
  let preludeScenarios = 0;
  let failure: FailureReport | undefined;
  let failingRuns = 0;
  const broken = new Set<InvariantId>();
  const runsTotal = (options.replay || options.skipPrelude ? 0 : 1) + (options.replay ? 1 : (options.runs ?? profile.runs));
  const status = (phase: RunStatus['phase']) =>
    options.onStatus?.({
      phase,
      runsDone: runs,
      runsTotal,
      steps,
      elapsedMs: Date.now() - started,
      failures: failingRuns,
      invariants: Object.fromEntries(INVARIANT_IDS.map((id) => [id, broken.has(id) ? 'broken' : 'held so far'])) as RunStatus['invariants'],
    });
  const absorb = (ctx: RunContext) => {
    for (const c of ctx.coverage) coverage.add(c);
    for (const [k, v] of ctx.notTested) notTested.set(k, v);
    steps += ctx.steps;
    effects += ctx.effectsSeen;
  };

  try {
    if (!options.replay && !options.skipPrelude) {
      progress('prelude: every scenario of the model once');
      const ctx = await newContext();
      try {
        preludeScenarios = await prelude(ctx);
        await judgeHistory(ctx, (history, failed) => options.onHistory?.(history, { index: 0, phase: 'prelude', failed }));
      } catch (error) {
        if (!(error instanceof ConformanceFailure)) throw error;
        if (error.threat !== 'history') {
          const history = await snapshot(ctx);
          if (history) options.onHistory?.(history, { index: 0, phase: 'prelude', failed: true });
        }
        // The counterexample is the scenario that failed, or those whose events witness the violation.
        const { labels, trail, modelPaths } = ctx.segmentsFor(error.eventIndexes);
        preludeScenarios = ctx.segments.length;
        failure = {
          invariants: [...error.invariants],
          threat: error.threat,
          message: error.message,
          commands: labels,
          trail: error.threat === 'history' ? [...trail, error.message] : trail,
          modelPaths,
          phase: 'prelude',
          seed,
          shrinks: 0,
          timeToDetectionMs: Date.now() - started,
        };
      } finally {
        absorb(ctx);
        runs += 1;
      }
      if (failure) {
        failingRuns += 1;
        for (const id of failure.invariants) broken.add(id);
      }
      status('prelude');
      progress(`prelude: ${preludeScenarios} scenarios, ${steps} steps${failure ? ', FAILED' : ''}`);
    }

    if (!failure && !driver.capabilities.has('reset') && (runs > 0 || options.replay)) {
      // Without a reset every later run would be judged against an audit log holding earlier runs.
      notTested.set('random command sequences', 'reset');
    } else if (!failure) {
      let lastFailure: { error: ConformanceFailure; trail: string[]; modelPaths: string[]; at: number; history?: History; run: number } | undefined;
      const property = fc.asyncProperty(
        fc.commands(commandArbitraries(ACCEPTANCE_WINDOW_SEC), {
          maxCommands: profile.maxCommands,
          ...(options.replay?.replayPath ? { replayPath: options.replay.replayPath } : {}),
        }),
        async (commands) => {
          const ctx = await newContext();
          try {
            await fc.asyncModelRun(() => ({ model: {}, real: ctx }), commands);
            await judgeHistory(ctx, (history, failed) => options.onHistory?.(history, { index: runs, phase: 'random', failed }));
          } catch (error) {
            if (error instanceof ConformanceFailure) {
              // Kept for the report and the evidence kit; only the last (shrunk) one is handed on.
              const history = error.threat === 'history' ? undefined : await snapshot(ctx);
              lastFailure = { error, trail: [...ctx.trail], modelPaths: [...ctx.modelPaths], at: Date.now(), run: runs, ...(history ? { history } : {}) };
              failingRuns += 1;
              for (const id of error.invariants) broken.add(id);
            }
            throw error;
          } finally {
            absorb(ctx);
            runs += 1;
            status(lastFailure ? 'shrinking' : 'random');
            if (runs % 10 === 0) progress(`random: ${runs} runs, ${steps} steps`);
          }
        },
      );
      const numRuns = options.replay ? 1 : (options.runs ?? profile.runs);
      const details = await fc.check(property, {
        seed,
        numRuns,
        ...(options.replay ? { path: options.replay.path } : {}),
        interruptAfterTimeLimit: profile.timeLimitMs,
        markInterruptAsFailure: false,
      });
      if (details.failed && lastFailure?.history) options.onHistory?.(lastFailure.history, { index: lastFailure.run, phase: 'random', failed: true });
      if (details.failed && lastFailure) {
        const printed = String(details.counterexample?.[0] ?? '');
        const replayPath = /replayPath="([^"]*)"/.exec(printed)?.[1];
        failure = {
          invariants: [...lastFailure.error.invariants],
          threat: lastFailure.error.threat,
          message: lastFailure.error.message,
          commands: printed.replace(/\/\*replayPath=.*?\*\//, '').split(',').map((c) => c.trim()).filter(Boolean),
          trail: lastFailure.trail,
          modelPaths: lastFailure.modelPaths,
          phase: 'random',
          seed: details.seed,
          ...(details.counterexamplePath ? { path: details.counterexamplePath } : {}),
          ...(replayPath ? { replayPath } : {}),
          shrinks: details.numShrinks,
          timeToDetectionMs: lastFailure.at - started,
        };
      } else if (details.failed) {
        // Not a finding of the suite: the harness itself broke. Surface it, never a pass.
        throw details.errorInstance ?? new Error("the property failed outside the suite");
      }
    }
  } finally {
    await driver.close();
  }

  const declared = declaredTransitions();
  const missing = [...declared].filter((t) => !coverage.has(t));
  const percent = Math.floor((1000 * (declared.size - missing.length)) / declared.size) / 10;
  const reasons: string[] = [];
  let verdict: Verdict;
  if (failure) {
    verdict = 'non-compliant';
    reasons.push(`${failure.invariants.join(', ')} broke (${failure.threat}): ${failure.message}`);
  } else {
    if (steps < profile.minSteps) reasons.push(`only ${steps} steps executed; the ${profile.name} profile needs ${profile.minSteps}`);
    if (percent < profile.coverageFloor) reasons.push(`model coverage ${percent}% is below the floor of ${profile.coverageFloor}%`);
    if (effects === 0) reasons.push('no effect was observed at all: the system never executed anything');
    verdict = reasons.length > 0 ? 'inconclusive' : 'compliant';
  }
  const invariants = Object.fromEntries(
    INVARIANT_IDS.map((id) => [id, failure?.invariants.includes(id) ? 'broken' : id === 'INV-5' && !driver.capabilities.has('audit-export') ? 'not tested' : 'held']),
  ) as RunReport['invariants'];

  return {
    version: REPORT_VERSION,
    profile: profile.name,
    profileVersion: PROFILE_VERSION,
    target: driver.target,
    verdict,
    exitCode: verdict === 'compliant' ? 0 : verdict === 'non-compliant' ? 1 : 2,
    reasons,
    seed,
    counts: { steps, runs, effects, preludeScenarios },
    coverage: { covered: declared.size - missing.length, total: declared.size, percent, missing },
    invariants,
    notTested: [...notTested].map(([scenario, needs]) => ({ scenario, needs })),
    ...(failure ? { failure } : {}),
    durationMs: Date.now() - started,
  };
}
