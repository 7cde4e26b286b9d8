/**
 * The suite against one system: open the driver, make sure the system is fresh, run the campaign
 * (run-control/campaign.ts: the prelude that drives every scenario of the model once, then random
 * command sequences, each judged by INV-1…INV-6), and turn what it counted into the verdict
 * (run-control/verdict.ts) at the requested conformance level (run-control/levels.ts).
 *
 * Verdicts: compliant (0) at the requested level, non-compliant (1), inconclusive (2) — a run that
 * could not observe the system, executed fewer steps than its profile's floor, covered too little
 * of what its level reaches, left scenarios of its level untested, or saw no effect at all proves
 * nothing and says so.
 */
import type { History } from '../model/history.ts';
import { defaultHistoryKeys } from '../model/history-builder.ts';
import { ScriptedControlPlane } from '../harness/control-plane/scripted-control-plane.ts';
import { HistoryRecorder } from '../harness/history-recorder.ts';
import type { InProcessDriverOptions } from '../harness/drivers/in-process.ts';
import type { Driver } from './driver.ts';
import type { Profile } from './profiles.ts';
import { RunBudget } from './run-control/budget.ts';
import type { PluginInvariant } from '../model/invariants/plugins.ts';
import { validatePluginInvariants } from '../model/invariants/plugins.ts';
import type { PluginCommand } from './commands/plugin-commands.ts';
import { validatePluginCommands } from './commands/plugin-commands.ts';
import type { CampaignHooks, FailureReport, HistoryRole, LaneSystem, RunStatus } from './run-control/campaign.ts';
import { Campaign } from './run-control/campaign.ts';
import type { Level } from './run-control/levels.ts';
import { DEFAULT_LEVEL } from './run-control/levels.ts';
import { buildRunReport } from './run-control/report.ts';
import type { RunReport } from './run-control/report.ts';
import { RunWindows, SystemNotFresh } from './run-control/windows.ts';

export type { FailureReport, HistoryRole, RunStatus } from './run-control/campaign.ts';
export type { InvariantStatus, PluginInvariantOutcome, Verdict } from './run-control/verdict.ts';
export type { RunReport } from './run-control/report.ts';
export { REPORT_VERSION } from './run-control/report.ts';
export type { Level } from './run-control/levels.ts';
export { THREAT_OF } from './run-control/prelude.ts';

export const ACCEPTANCE_WINDOW_SEC = 300;


export interface SuiteOptions {
  profile: Profile;
  /** the conformance level to certify (default full) */
  level?: Level;
  seed?: number;
  /** overrides the profile's number of random runs; honoured whatever the time (unless timeBudgetMs) */
  runs?: number;
  /** a time budget for the random phase, in milliseconds (default: the profile's, none with explicit runs) */
  timeBudgetMs?: number;
  /** re-run exactly one recorded counterexample (skips the prelude) */
  replay?: { seed: number; path: string; replayPath?: string };
  /** skip the prelude (e.g. to measure the random phase alone) */
  skipPrelude?: boolean;
  /** a harness made beforehand (e.g. to start HTTP services around a gate before the run) */
  harness?: Harness;
  /**
   * one shard of a campaign (`run --shard i/n`): the prelude on shard 1 only, the random phase in
   * lane i of n (its share of the runs, its lane seed); the verdict is 'partial' unless it failed
   */
  shard?: { index: number; count: number };
  /**
   * more systems of the same kind, each with its own harness: the random phase runs one lane per
   * system at the same time (`run --parallel N`); the prelude runs on the first
   */
  moreSystems?: readonly { harness: Harness; makeDriver: DriverFactory }[];
  /** plug-in invariants (model/invariants/plugins.ts), judged after INV-1…INV-6 on every run */
  invariants?: readonly PluginInvariant[];
  /** plug-in commands (commands/plugin-commands.ts), drawn among the built-in ones */
  commands?: readonly PluginCommand[];
  /** receives every history the run hands on, exactly once each (evidence kits, reports) */
  onHistory?: CampaignHooks['onHistory'];
  onProgress?: (line: string) => void;
  /** structured progress after the prelude and after every random run (for live displays) */
  onStatus?: (status: RunStatus) => void;
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
    settings: { acceptanceWindowSec: ACCEPTANCE_WINDOW_SEC, replayWindowSec: 2 * ACCEPTANCE_WINDOW_SEC, controlPlaneDeadlineMs: 100, executionDeadlineMs: 200 },
  };
}

export async function runSuite(makeDriver: DriverFactory, options: SuiteOptions): Promise<RunReport> {
  const started = Date.now();
  const profile = options.profile;
  const level = options.level ?? DEFAULT_LEVEL;
  const seed = options.replay?.seed ?? options.seed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;
  const harness = options.harness ?? createHarness();
  const systems: LaneSystem[] = [];
  const closeAll = () => Promise.allSettled(systems.map((s) => s.driver.close()));
  try {
    for (const { harness: h, makeDriver: make } of [{ harness, makeDriver }, ...(options.moreSystems ?? [])]) {
      const driver = await make(h);
      systems.push({ driver, recorder: h.recorder, controlPlane: h.controlPlane, windows: new RunWindows(driver, h.recorder) });
    }
  } catch (error) {
    await closeAll();
    throw error;
  }
  const [first] = systems as [LaneSystem, ...LaneSystem[]];
  const { driver, windows } = first;
  const shard = options.replay ? undefined : options.shard;
  const budget = new RunBudget(
    profile,
    options.replay
      ? { runs: 1 }
      : { ...(options.runs !== undefined ? { runs: options.runs } : {}), ...(options.timeBudgetMs !== undefined ? { timeBudgetMs: options.timeBudgetMs } : {}), ...(shard ? { shard } : {}) },
  );
  const campaign = new Campaign({
    systems: systems as [LaneSystem, ...LaneSystem[]],
    ...(shard ? { laneOffset: (shard.index - 1) * systems.length } : {}),
    budget,
    profile,
    seed,
    acceptanceWindowSec: ACCEPTANCE_WINDOW_SEC,
    ...(options.invariants?.length ? { pluginInvariants: validatePluginInvariants(options.invariants) } : {}),
    ...(options.commands?.length ? { pluginCommands: validatePluginCommands(options.commands) } : {}),
    hooks: { ...(options.onHistory ? { onHistory: options.onHistory } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...(options.onStatus ? { onStatus: options.onStatus } : {}) },
    ...(options.replay ? { replay: { path: options.replay.path, ...(options.replay.replayPath ? { replayPath: options.replay.replayPath } : {}) } } : {}),
  });

  let unobservable: string | undefined;
  try {
    for (const system of systems) await system.windows.ensureFresh();
    if (!options.replay && !options.skipPrelude && (!shard || shard.index === 1)) await campaign.prelude();
    await campaign.randomPhase();
  } catch (error) {
    if (!(error instanceof SystemNotFresh)) throw error;
    unobservable = error.message;
  } finally {
    await closeAll();
  }

  const tally = campaign.tally;
  const failure = campaign.failure;
  const unfinished =
    budget.explicitRuns && !failure && !options.replay && tally.randomRuns < budget.requestedRuns
      ? `${budget.requestedRuns} random runs were requested but only ${tally.randomRuns} ran before the time budget of ${((budget.timeBudgetMs ?? 0) / 1000).toFixed(0)} s ended`
      : undefined;
  return buildRunReport({
    tally,
    failure,
    level,
    profile,
    capabilities: driver.capabilities,
    target: driver.target,
    seed,
    campaign: {
      requestedRuns: budget.requestedRuns,
      explicitRuns: budget.explicitRuns,
      stoppedBy: unobservable ? 'not run' : campaign.stopReason,
      timeBudgetMs: budget.timeBudgetMs ?? null,
      extendedForFloor: budget.extended,
      windows: windows.mode,
      parallel: options.replay ? 1 : systems.length,
    },
    ...(unfinished ? { unfinished } : {}),
    ...(unobservable ? { unobservable } : {}),
    ...(shard ? { shard } : {}),
    ...(options.invariants?.length ? { pluginInvariants: options.invariants } : {}),
    durationMs: Date.now() - started,
  });
}

/** For callers that keep the histories of a run: typed like the hook. */
export type HistorySink = (history: History, run: { index: number; phase: HistoryRole; failed: boolean }) => void;
