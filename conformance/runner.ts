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
import type { InvariantId } from '../model/profile/denial-codes.ts';
import { INVARIANT_IDS, PROFILE_VERSION } from '../model/profile/denial-codes.ts';
import { ScriptedControlPlane } from '../harness/control-plane/scripted-control-plane.ts';
import { HistoryRecorder } from '../harness/history-recorder.ts';
import type { InProcessDriverOptions } from '../harness/drivers/in-process.ts';
import type { Driver } from './driver.ts';
import type { Profile } from './profiles.ts';
import type { Threat } from './threats.ts';
import type { StopReason } from './run-control/budget.ts';
import { RunBudget } from './run-control/budget.ts';
import type { CampaignHooks, FailureReport, HistoryRole, RunStatus } from './run-control/campaign.ts';
import { Campaign } from './run-control/campaign.ts';
import type { Level } from './run-control/levels.ts';
import { DEFAULT_LEVEL } from './run-control/levels.ts';
import type { InvariantStatus, LevelOutcome, Verdict } from './run-control/verdict.ts';
import { allLevelOutcomes, judgeInvariants, levelRemedy } from './run-control/verdict.ts';
import { RunWindows, SystemNotFresh } from './run-control/windows.ts';

export type { FailureReport, HistoryRole, RunStatus } from './run-control/campaign.ts';
export type { InvariantStatus, Verdict } from './run-control/verdict.ts';
export type { Level } from './run-control/levels.ts';
export { THREAT_OF } from './run-control/prelude.ts';

export const REPORT_VERSION = 'failclosed-run/2';
export const ACCEPTANCE_WINDOW_SEC = 300;

export interface RunReport {
  version: typeof REPORT_VERSION;
  profile: string;
  profileVersion: typeof PROFILE_VERSION;
  target: string;
  /** the conformance level asked for, whether it was met, and every level this run meets */
  level: { requested: Level; met: boolean; levelsMet: Level[] };
  verdict: Verdict;
  exitCode: 0 | 1 | 2;
  reasons: string[];
  seed: number;
  counts: {
    /** wrong-but-safe denial codes seen (contractFindings keeps the first few) */
    contractFindings: number;
    steps: number;
    /** the prelude (1) plus the random runs of the campaign */
    runs: number;
    randomRuns: number;
    /** attempts made while shrinking a failure (not runs of the campaign) */
    shrinkRuns: number;
    /** histories handed on: one per run, plus the shrunk counterexample — what the kit holds */
    histories: number;
    effects: number;
    preludeScenarios: number;
  };
  /** how the random phase went, and why it stopped */
  campaign: {
    requestedRuns: number;
    explicitRuns: boolean;
    stoppedBy: StopReason;
    /** the random phase's time budget (null: none, for an explicit number of runs) */
    timeBudgetMs: number | null;
    /** the budget was exceeded to reach the profile's step floor */
    extendedForFloor: boolean;
    /** runs separated by resetting the system, or judged one after another on a system that keeps running */
    windows: 'reset' | 'continuous';
  };
  timing: { preludeMs: number; randomMs: number; shrinkMs: number };
  /** over the model transitions the requested level reaches */
  coverage: { covered: number; total: number; percent: number; missing: string[] };
  invariants: Record<InvariantId, InvariantStatus>;
  /** why an invariant is not held (broken, not tested, not reached) */
  invariantNotes: Partial<Record<InvariantId, string>>;
  /** checked steps per threat, in runs whose history held */
  exercised: Partial<Record<Threat, number>>;
  notTested: { scenario: string; needs: string }[];
  /** denials that were safe but carried a code the contract does not allow there (the first 20) */
  contractFindings: { threat: Threat; message: string }[];
  failure?: FailureReport;
  durationMs: number;
}

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
  const driver = await makeDriver(harness);
  const windows = new RunWindows(driver, harness.recorder);
  const budget = new RunBudget(profile, options.replay ? { runs: 1 } : { ...(options.runs !== undefined ? { runs: options.runs } : {}), ...(options.timeBudgetMs !== undefined ? { timeBudgetMs: options.timeBudgetMs } : {}) });
  const campaign = new Campaign({
    driver,
    recorder: harness.recorder,
    controlPlane: harness.controlPlane,
    windows,
    budget,
    profile,
    seed,
    acceptanceWindowSec: ACCEPTANCE_WINDOW_SEC,
    hooks: { ...(options.onHistory ? { onHistory: options.onHistory } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...(options.onStatus ? { onStatus: options.onStatus } : {}) },
    ...(options.replay ? { replay: { path: options.replay.path, ...(options.replay.replayPath ? { replayPath: options.replay.replayPath } : {}) } } : {}),
  });

  let unobservable: string | undefined;
  try {
    await windows.ensureFresh();
    if (!options.replay && !options.skipPrelude) await campaign.prelude();
    await campaign.randomPhase();
  } catch (error) {
    if (!(error instanceof SystemNotFresh)) throw error;
    unobservable = error.message;
  } finally {
    await driver.close();
  }

  const tally = campaign.tally;
  const failure = campaign.failure;
  const unfinished =
    budget.explicitRuns && !failure && !options.replay && tally.randomRuns < budget.requestedRuns
      ? `${budget.requestedRuns} random runs were requested but only ${tally.randomRuns} ran before the time budget of ${((budget.timeBudgetMs ?? 0) / 1000).toFixed(0)} s ended`
      : undefined;
  const outcomes = allLevelOutcomes({
    tally,
    profile,
    capabilities: driver.capabilities,
    failure,
    ...(unfinished ? { unfinished } : {}),
    ...(unobservable ? { unobservable } : {}),
  });
  const wanted: LevelOutcome = outcomes[level];
  const reasons: string[] = [];
  let verdict: Verdict;
  if (failure) {
    verdict = 'non-compliant';
    reasons.push(`${failure.invariants.join(', ') || 'the model'} broke (${failure.threat}): ${failure.message}`);
  } else if (tally.contractFindingCount > 0) {
    // Safe, but not what the contract says: non-compliant, with no invariant broken.
    verdict = 'non-compliant';
    reasons.push(`${tally.contractFindingCount} contract finding(s), no invariant broken — ${tally.contractFindings[0]!.message}`);
  } else {
    reasons.push(...wanted.reasons);
    const remedy = levelRemedy(level, outcomes);
    if (remedy) reasons.push(remedy);
    verdict = wanted.met ? 'compliant' : 'inconclusive';
  }
  const judged = judgeInvariants(tally, failure, driver.capabilities);
  return {
    version: REPORT_VERSION,
    profile: profile.name,
    profileVersion: PROFILE_VERSION,
    target: driver.target,
    level: {
      requested: level,
      met: wanted.met && tally.contractFindingCount === 0,
      levelsMet: tally.contractFindingCount > 0 ? [] : Object.values(outcomes).filter((o) => o.met).map((o) => o.level),
    },
    verdict,
    exitCode: verdict === 'compliant' ? 0 : verdict === 'non-compliant' ? 1 : 2,
    reasons,
    seed,
    counts: {
      contractFindings: tally.contractFindingCount,
      steps: tally.steps,
      runs: tally.runs,
      randomRuns: tally.randomRuns,
      shrinkRuns: tally.shrinkRuns,
      histories: tally.histories,
      effects: tally.effects,
      preludeScenarios: tally.preludeScenarios,
    },
    campaign: {
      requestedRuns: budget.requestedRuns,
      explicitRuns: budget.explicitRuns,
      stoppedBy: unobservable ? 'not run' : campaign.stopReason,
      timeBudgetMs: budget.timeBudgetMs ?? null,
      extendedForFloor: budget.extended,
      windows: windows.mode,
    },
    timing: { ...tally.timing },
    coverage: wanted.coverage,
    invariants: Object.fromEntries(INVARIANT_IDS.map((id) => [id, judged[id].status])) as RunReport['invariants'],
    invariantNotes: Object.fromEntries(INVARIANT_IDS.flatMap((id) => (judged[id].note ? [[id, judged[id].note]] : []))),
    exercised: Object.fromEntries(tally.exercised),
    notTested: [...tally.notTested].map(([scenario, needs]) => ({ scenario, needs })),
    contractFindings: [...tally.contractFindings],
    ...(failure ? { failure } : {}),
    durationMs: Date.now() - started,
  };
}

/** For callers that keep the histories of a run: typed like the hook. */
export type HistorySink = (history: History, run: { index: number; phase: HistoryRole; failed: boolean }) => void;
