/**
 * From a campaign's tally to the RunReport: the one place the verdict, the exit status and every
 * per-invariant and per-level status are decided — for a run (runner.ts), and for the shards of a
 * campaign merged back into one (merge.ts).
 */
import type { InvariantId } from '../../model/profile/denial-codes.ts';
import { INVARIANT_IDS, PROFILE_VERSION } from '../../model/profile/denial-codes.ts';
import type { Capability } from '../driver.ts';
import type { Profile } from '../profiles.ts';
import type { Threat } from '../threats.ts';
import type { StopReason } from './budget.ts';
import type { FailureReport } from './campaign.ts';
import type { Level } from './levels.ts';
import type { InvariantStatus, LevelOutcome, PluginInvariantOutcome, TallyView, Verdict } from './verdict.ts';
import { allLevelOutcomes, judgeInvariants, judgePluginInvariants, levelRemedy } from './verdict.ts';
import type { PluginInvariant } from '../../model/invariants/plugins.ts';

export const REPORT_VERSION = 'failclosed-run/2';

/** What one shard observed, beyond the report, so that the shards can be judged as one campaign. */
export interface ShardSlice {
  index: number;
  count: number;
  /** every model transition it exercised */
  covered: string[];
  /** what its system offered */
  capabilities: Capability[];
  judgedHistories: number;
  /** checked steps per threat in its runs that held */
  exercised: Record<string, number>;
}

export interface RunReport {
  version: typeof REPORT_VERSION;
  profile: string;
  profileVersion: typeof PROFILE_VERSION;
  target: string;
  /** one slice of a sharded campaign (run --shard i/n): what `failclosed merge` needs to judge the whole */
  shard?: ShardSlice;
  /** the conformance level asked for, whether it was met, and every level this run meets */
  level: { requested: Level; met: boolean; levelsMet: Level[] };
  verdict: Verdict;
  exitCode: 0 | 1 | 2;
  reasons: string[];
  seed: number;
  counts: {
    /** wrong-but-safe denial codes seen (contractFindings keeps the first few) */
    contractFindings: number;
    /** steps answered with a timeout the harness did not provoke (unprovokedTimeouts keeps the first few): the run cannot be compliant */
    unprovokedTimeouts: number;
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
    /** systems the random phase ran on at the same time (one lane each) */
    parallel: number;
  };
  timing: { preludeMs: number; randomMs: number; shrinkMs: number };
  /** over the model transitions the requested level reaches */
  coverage: { covered: number; total: number; percent: number; missing: string[] };
  invariants: Record<InvariantId, InvariantStatus>;
  /** why an invariant is not held (broken, not tested, not reached) */
  invariantNotes: Partial<Record<InvariantId, string>>;
  /** the plug-in invariants the run judged (model/invariants/plugins.ts), in the order given; absent when none */
  pluginInvariants?: PluginInvariantOutcome[];
  /** checked steps per threat, in runs whose history held */
  exercised: Partial<Record<Threat, number>>;
  notTested: { scenario: string; needs: string }[];
  /** denials that were safe but carried a code the contract does not allow there (the first 20) */
  contractFindings: { threat: Threat; message: string }[];
  /** the first (up to 20) steps answered with a timeout the harness did not provoke */
  unprovokedTimeouts: string[];
  failure?: FailureReport;
  durationMs: number;
}

export interface ReportInputs {
  tally: TallyView;
  failure: FailureReport | undefined;
  level: Level;
  profile: Profile;
  capabilities: ReadonlySet<Capability>;
  target: string;
  seed: number;
  campaign: RunReport['campaign'];
  unfinished?: string;
  unobservable?: string;
  shard?: { index: number; count: number };
  durationMs: number;
  pluginInvariants?: readonly Pick<PluginInvariant, 'id' | 'statement' | 'needsAuditExport'>[];
}

export function buildRunReport(input: ReportInputs): RunReport {
  const { tally, failure, level, profile, capabilities, shard } = input;
  const outcomes = allLevelOutcomes({
    tally,
    profile,
    capabilities,
    failure,
    ...(input.unfinished ? { unfinished: input.unfinished } : {}),
    ...(input.unobservable ? { unobservable: input.unobservable } : {}),
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
  } else if (shard && !input.unobservable) {
    // A slice proves nothing alone, but a failure in it is a failure of the campaign.
    verdict = 'partial';
    reasons.push(`shard ${shard.index} of ${shard.count}: nothing failed in this slice; \`failclosed merge\` its report folder with the other shards' for the campaign's verdict`);
  } else {
    reasons.push(...wanted.reasons);
    const remedy = levelRemedy(level, outcomes);
    if (remedy) reasons.push(remedy);
    verdict = wanted.met ? 'compliant' : 'inconclusive';
  }
  const judged = judgeInvariants(tally, failure, capabilities);
  return {
    version: REPORT_VERSION,
    profile: profile.name,
    profileVersion: PROFILE_VERSION,
    target: input.target,
    ...(shard
      ? { shard: { ...shard, covered: [...tally.coverage].sort(), capabilities: [...capabilities].sort(), judgedHistories: tally.judgedHistories, exercised: Object.fromEntries(tally.exercised) } }
      : {}),
    level: {
      requested: level,
      met: verdict === 'compliant',
      levelsMet: tally.contractFindingCount > 0 || verdict === 'partial' ? [] : Object.values(outcomes).filter((o) => o.met).map((o) => o.level),
    },
    verdict,
    exitCode: verdict === 'compliant' || verdict === 'partial' ? 0 : verdict === 'non-compliant' ? 1 : 2,
    reasons,
    seed: input.seed,
    counts: {
      contractFindings: tally.contractFindingCount,
      unprovokedTimeouts: tally.unprovokedTimeoutCount,
      steps: tally.steps,
      runs: tally.runs,
      randomRuns: tally.randomRuns,
      shrinkRuns: tally.shrinkRuns,
      histories: tally.histories,
      effects: tally.effects,
      preludeScenarios: tally.preludeScenarios,
    },
    campaign: { ...input.campaign },
    timing: { ...tally.timing },
    coverage: wanted.coverage,
    invariants: Object.fromEntries(INVARIANT_IDS.map((id) => [id, judged[id].status])) as RunReport['invariants'],
    invariantNotes: Object.fromEntries(INVARIANT_IDS.flatMap((id) => (judged[id].note ? [[id, judged[id].note]] : []))),
    ...(input.pluginInvariants?.length ? { pluginInvariants: judgePluginInvariants(input.pluginInvariants, tally, failure, capabilities) } : {}),
    exercised: Object.fromEntries(tally.exercised),
    notTested: [...tally.notTested].map(([scenario, needs]) => ({ scenario, needs })),
    contractFindings: [...tally.contractFindings],
    unprovokedTimeouts: [...tally.unprovokedTimeouts],
    ...(failure ? { failure } : {}),
    durationMs: input.durationMs,
  };
}
