/**
 * One campaign of the suite against one system: the prelude, then random command sequences, each
 * judged when it ends. This is the one place that decides what runs, when the campaign stops, and
 * what it counted — so the summary, result.json, junit and the kit can only agree.
 *
 * Run control:
 * - a run that started is always finished and judged (the budget is consulted before a run, never
 *   during one: fast-check is interrupted by a PreconditionFailure thrown *before* a run starts);
 * - every run of the campaign hands its history on exactly once (judged, or as it stood when it
 *   failed); shrinking attempts do not, except the final shrunk counterexample;
 * - an error of the harness (the system went away) stops the campaign at once, without shrinking.
 */
import fc from 'fast-check';
import type { History } from '../../model/history.ts';
import { INVARIANT_IDS } from '../../model/profile/denial-codes.ts';
import type { ScriptedControlPlane } from '../../harness/control-plane/scripted-control-plane.ts';
import type { HistoryRecorder } from '../../harness/history-recorder.ts';
import { commandArbitraries } from '../commands/index.ts';
import type { Driver } from '../driver.ts';
import type { Profile } from '../profiles.ts';
import { ConformanceFailure, RunContext, StepNotObserved } from '../run-context.ts';
import type { Threat } from '../threats.ts';
import type { RunBudget, StopReason } from './budget.ts';
import { judgeHistory, snapshot } from './judge.ts';
import type { PluginCommand } from '../commands/plugin-commands.ts';
import { pluginCommandArbitraries, pluginPreludeCommands } from '../commands/plugin-commands.ts';
import type { InvariantName, PluginInvariant } from '../../model/invariants/plugins.ts';
import { runPrelude } from './prelude.ts';
import type { RunWindows } from './windows.ts';

export interface FailureReport {
  /** INV-1…INV-6, or plug-in invariants' ids */
  invariants: InvariantName[];
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

/** Which history a run hands on: a run of the campaign, or the shrunk counterexample. */
export type HistoryRole = 'prelude' | 'random' | 'counterexample';

export interface RunStatus {
  phase: 'prelude' | 'random' | 'shrinking';
  runsDone: number;
  /** the prelude plus the random runs requested */
  runsTotal: number;
  steps: number;
  elapsedMs: number;
  /** runs that failed so far (shrinking fails many on purpose) */
  failures: number;
  /** INV-1…INV-6, then the plug-in invariants */
  invariants: Record<InvariantName, 'held so far' | 'broken'>;
}

export interface CampaignHooks {
  onHistory?: (history: History, run: { index: number; phase: HistoryRole; failed: boolean }) => void;
  onProgress?: (line: string) => void;
  onStatus?: (status: RunStatus) => void;
}

/** One system under test the campaign drives: its driver, the harness around it, its run windows. */
export interface LaneSystem {
  driver: Driver;
  recorder: HistoryRecorder;
  controlPlane: ScriptedControlPlane;
  windows: RunWindows;
}

export interface CampaignSetup {
  /** the systems: the prelude runs on the first; the random phase runs one lane per system, at the same time */
  systems: readonly [LaneSystem, ...LaneSystem[]];
  /** the campaign-wide number of the first system's lane (a shard's lanes are numbered after the shards before it) */
  laneOffset?: number;
  budget: RunBudget;
  profile: Profile;
  seed: number;
  acceptanceWindowSec: number;
  hooks: CampaignHooks;
  /** re-run exactly one recorded counterexample */
  replay?: { path: string; replayPath?: string };
  /** judged after INV-1…INV-6 on every run's history */
  pluginInvariants?: readonly PluginInvariant[];
  /** drawn among the built-in commands; those with a prelude value run once in the prelude */
  pluginCommands?: readonly PluginCommand[];
}

const MAX_FINDINGS_KEPT = 20;

/** What the campaign counted: the single source of every number a report shows. */
export class CampaignTally {
  readonly coverage = new Set<string>();
  /** scenario label → the capability it needs */
  readonly notTested = new Map<string, string>();
  /** steps per threat, in runs whose history was judged and held */
  readonly exercised = new Map<Threat, number>();
  steps = 0;
  effects = 0;
  preludeScenarios = 0;
  /** the prelude (1) and the random runs of the campaign; shrinking attempts are not runs */
  runs = 0;
  randomRuns = 0;
  shrinkRuns = 0;
  /** histories handed on (the kit holds exactly these) */
  histories = 0;
  /** runs whose history the predicates judged and found holding */
  judgedHistories = 0;
  failingRuns = 0;
  readonly broken = new Set<InvariantName>();
  /** plug-in id → items its predicate examined over the judged histories of the campaign (not shrinking) */
  readonly pluginExamined = new Map<string, number>();
  readonly timing = { preludeMs: 0, randomMs: 0, shrinkMs: 0 };
  /** wrong-but-safe denial codes, one per distinct step (the first few kept in full) */
  readonly contractFindings: { threat: Threat; message: string }[] = [];
  contractFindingCount = 0;
  /** steps answered with a timeout the harness did not provoke (the first few kept in full) */
  unprovokedTimeoutCount = 0;
  readonly unprovokedTimeouts: string[] = [];

  absorb(ctx: RunContext): void {
    for (const line of ctx.unprovokedTimeouts) {
      this.unprovokedTimeoutCount += 1;
      if (this.unprovokedTimeouts.length < MAX_FINDINGS_KEPT) this.unprovokedTimeouts.push(line);
    }
    for (const c of ctx.coverage) this.coverage.add(c);
    for (const [k, v] of ctx.notTested) this.notTested.set(k, v);
    for (const finding of ctx.contractFindings) {
      this.contractFindingCount += 1;
      if (this.contractFindings.length < MAX_FINDINGS_KEPT) this.contractFindings.push(finding);
    }
    this.steps += ctx.steps;
    this.effects += ctx.effectsSeen;
  }

  held(ctx: RunContext): void {
    this.judgedHistories += 1;
    for (const [threat, n] of ctx.exercised) this.exercised.set(threat, (this.exercised.get(threat) ?? 0) + n);
  }
}

/** What the lanes of one random phase share. */
interface LaneShared {
  harnessError: unknown;
  /** the first lane whose run failed: the only one that goes on (to shrink) */
  failedLane: number | undefined;
  shrinkStarted: number | undefined;
  /** random runs started by all lanes together: the count every lane's next run is decided on */
  startedRuns: number;
}

/** Lane 0 runs under the run's own seed; the others under seeds derived from it, the same every time. */
export function laneSeed(seed: number, lane: number): number {
  return lane === 0 ? seed : (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(lane, 0xc2b2ae35)) >>> 0;
}

interface RandomFailure {
  error: ConformanceFailure;
  trail: string[];
  modelPaths: string[];
  at: number;
  history?: History;
  /** found while shrinking (its history is not one of the campaign's) */
  shrinking: boolean;
}

export class Campaign {
  readonly tally = new CampaignTally();
  failure: FailureReport | undefined;
  stopReason: StopReason = 'not run';
  private runTag = 0;
  private readonly started = Date.now();

  constructor(private readonly setup: CampaignSetup) {}

  /** The plug-ins and where their examined counts go (a shrinking attempt counts nowhere). */
  private plugins(shrinking: boolean): { invariants: readonly PluginInvariant[]; examined: Map<string, number> } {
    return { invariants: this.setup.pluginInvariants ?? [], examined: shrinking ? new Map() : this.tally.pluginExamined };
  }

  private progress(line: string): void {
    this.setup.hooks.onProgress?.(line);
  }

  private handOn(history: History, index: number, phase: HistoryRole, failed: boolean): void {
    this.tally.histories += 1;
    this.setup.hooks.onHistory?.(history, { index, phase, failed });
  }

  private status(phase: RunStatus['phase']): void {
    const t = this.tally;
    this.setup.hooks.onStatus?.({
      phase,
      runsDone: t.runs,
      runsTotal: (this.setup.replay ? 0 : 1) + this.setup.budget.requestedRuns,
      steps: t.steps,
      elapsedMs: Date.now() - this.started,
      failures: t.failingRuns,
      invariants: Object.fromEntries(
        [...INVARIANT_IDS, ...(this.setup.pluginInvariants ?? []).map((p) => p.id)].map((id) => [id, t.broken.has(id) ? 'broken' : 'held so far']),
      ),
    });
  }

  private async newContext(system: LaneSystem): Promise<RunContext> {
    const { seed, acceptanceWindowSec } = this.setup;
    await system.windows.begin();
    this.runTag += 1;
    return new RunContext(system.driver, system.controlPlane, system.recorder, acceptanceWindowSec, `${seed.toString(36)}r${this.runTag}`);
  }

  /** Every scenario of the model once, judged as one run. */
  async prelude(): Promise<void> {
    const t0 = Date.now();
    this.progress('prelude: every scenario of the model once');
    const system = this.setup.systems[0];
    const ctx = await this.newContext(system);
    try {
      this.tally.preludeScenarios = await runPrelude(ctx, pluginPreludeCommands(this.setup.pluginCommands ?? []));
      await judgeHistory(ctx, system.windows, (history, failed) => this.handOn(history, 0, 'prelude', failed), this.plugins(false));
      this.tally.held(ctx);
    } catch (error) {
      if (!(error instanceof ConformanceFailure)) throw error;
      if (error.threat !== 'history') {
        const history = await snapshot(system.windows);
        if (history) this.handOn(history, 0, 'prelude', true);
      }
      // The counterexample is the scenario that failed, or those whose events witness the violation.
      const { labels, trail, modelPaths } = ctx.segmentsFor(error.eventIndexes);
      this.tally.preludeScenarios = ctx.segments.length;
      this.failure = {
        invariants: [...error.invariants],
        threat: error.threat,
        message: error.message,
        commands: labels,
        trail: error.threat === 'history' ? [...trail, error.message] : trail,
        modelPaths,
        phase: 'prelude',
        seed: this.setup.seed,
        shrinks: 0,
        timeToDetectionMs: Date.now() - this.started,
      };
      this.tally.failingRuns += 1;
      for (const id of error.invariants) this.tally.broken.add(id);
      this.stopReason = 'failure';
    } finally {
      this.tally.absorb(ctx);
      this.tally.runs += 1;
      this.tally.timing.preludeMs = Date.now() - t0;
    }
    this.status('prelude');
    this.progress(`prelude: ${this.tally.preludeScenarios} scenarios, ${this.tally.steps} steps${this.failure ? ', FAILED' : ''}`);
  }

  /**
   * Random command sequences until the budget says stop; a failure is shrunk. One lane per system,
   * all at the same time, each its own fast-check campaign with its own seed (the first lane's is
   * the run's seed), taking runs from one shared count until the requested runs have started; the
   * first lane that fails shrinks, the others stop.
   */
  async randomPhase(): Promise<void> {
    if (this.failure) return;
    const { budget, seed, replay, systems } = this.setup;
    const tally = this.tally;
    const t0 = Date.now();
    const shared: LaneShared = { harnessError: undefined, failedLane: undefined, shrinkStarted: undefined, startedRuns: 0 };
    budget.start();
    const lanes = replay ? [systems[0]] : systems;
    // The lanes take runs from one shared count rather than a fixed share each: runs differ in
    // length (late answers are watched for up to seconds), and a fixed split left a lane that drew
    // short runs idle while another finished its long ones. Each lane may run them all.
    const results = await Promise.all(lanes.map((system, lane) => this.lane(system, lane, laneSeed(seed, (this.setup.laneOffset ?? 0) + lane), budget.requestedRuns, shared)));
    const ended = Date.now();
    tally.timing.randomMs = (shared.shrinkStarted ?? ended) - t0;
    tally.timing.shrinkMs = shared.shrinkStarted ? ended - shared.shrinkStarted : 0;
    this.stopReason = budget.stopReason(tally.randomRuns);
    if (shared.harnessError !== undefined) throw shared.harnessError;
    const failed = shared.failedLane === undefined ? undefined : results[shared.failedLane];
    const lastFailure = failed?.lastFailure;
    const details = failed?.details;
    if (lastFailure && details) {
      if (lastFailure.shrinking && lastFailure.history) this.handOn(lastFailure.history, tally.runs, 'counterexample', true);
      const printed = String(details.counterexample?.[0] ?? '');
      const replayPath = /replayPath="([^"]*)"/.exec(printed)?.[1];
      this.failure = {
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
        timeToDetectionMs: (shared.shrinkStarted ?? lastFailure.at) - this.started,
      };
      return;
    }
    for (const result of results) {
      const d = result.details;
      // Not a finding of the suite: the property broke outside it. Surface it, never a pass.
      if (d.failed && d.counterexample !== null && !result.lastFailure) throw d.errorInstance ?? new Error('the property failed outside the suite');
    }
  }

  /** One lane: a fast-check campaign against one system. */
  private async lane(system: LaneSystem, lane: number, seed: number, numRuns: number, shared: LaneShared): Promise<{ details: fc.RunDetails<[Iterable<fc.AsyncCommand<object, RunContext, boolean>>]>; lastFailure: RandomFailure | undefined }> {
    const { budget, profile, replay, acceptanceWindowSec } = this.setup;
    const tally = this.tally;
    let lastFailure: RandomFailure | undefined;
    const property = fc.asyncProperty(
      fc.commands([...commandArbitraries(acceptanceWindowSec), ...pluginCommandArbitraries(this.setup.pluginCommands ?? [])], { maxCommands: profile.maxCommands, ...(replay?.replayPath ? { replayPath: replay.replayPath } : {}) }),
      async (commands) => {
        // Decided before the run starts: a run that starts is finished and judged. Another lane's
        // failure stops this one; only the lane that failed goes on, to shrink.
        const stopped = shared.harnessError !== undefined || (shared.failedLane !== undefined && shared.failedLane !== lane);
        if (stopped || !budget.mayStartRun(shared.startedRuns, tally.steps)) throw new fc.PreconditionFailure(true);
        const shrinking = lastFailure !== undefined;
        if (!shrinking) shared.startedRuns += 1;
        const index = tally.runs;
        const ctx = await this.newContext(system);
        let judged: History | undefined;
        try {
          try {
            await fc.asyncModelRun(() => ({ model: {}, real: ctx }), commands);
          } catch (error) {
            // A step answered with a timeout the harness did not provoke ends the run there; what it did is judged as any run's.
            if (!(error instanceof StepNotObserved)) throw error;
          }
          await judgeHistory(
            ctx,
            system.windows,
            (history) => {
              judged = history;
            },
            this.plugins(shrinking),
          );
          if (!shrinking) {
            this.handOn(judged!, index, 'random', false);
            tally.held(ctx);
          }
        } catch (error) {
          if (!(error instanceof ConformanceFailure)) {
            // The harness or the system broke, not an invariant: stop, and do not shrink.
            shared.harnessError ??= error;
            throw new fc.PreconditionFailure(true);
          }
          const history = judged ?? (await snapshot(system.windows));
          if (!shrinking && history) this.handOn(history, index, 'random', true);
          tally.failingRuns += 1;
          for (const id of error.invariants) tally.broken.add(id);
          // The first lane to fail is the one whose counterexample is shrunk and reported.
          shared.failedLane ??= lane;
          if (shared.failedLane !== lane) throw new fc.PreconditionFailure(true);
          lastFailure = { error, trail: [...ctx.trail], modelPaths: [...ctx.modelPaths], at: Date.now(), shrinking, ...(history ? { history } : {}) };
          budget.failed();
          shared.shrinkStarted ??= Date.now();
          throw error;
        } finally {
          tally.absorb(ctx);
          if (shrinking) tally.shrinkRuns += 1;
          else {
            tally.randomRuns += 1;
            tally.runs += 1;
          }
          this.status(shared.failedLane !== undefined ? 'shrinking' : 'random');
          if (!shrinking && tally.randomRuns % 10 === 0) this.progress(`random: ${tally.randomRuns} runs, ${tally.steps} steps`);
        }
      },
    );
    const details = await fc.check(property, { seed, numRuns, ...(replay ? { path: replay.path } : {}) });
    return { details, lastFailure };
  }
}
