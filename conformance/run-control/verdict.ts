/**
 * From what a campaign counted to its verdict: per invariant, per level, and for the run.
 *
 *   held         judged over at least one complete history that exercised it, never violated
 *   broken       a run violated it
 *   not tested   the system cannot show it (a capability it lacks, e.g. no audit export)
 *   not reached  the run stopped (at a failure elsewhere) before anything exercising it was judged
 *
 * A level is met when no scenario it needs went untested and the floors hold; the coverage floor
 * counts only the model transitions the level can reach.
 */
import type { InvariantId } from '../../model/profile/denial-codes.ts';
import { INVARIANT_IDS } from '../../model/profile/denial-codes.ts';
import type { Capability } from '../driver.ts';
import type { PluginInvariant } from '../../model/invariants/plugins.ts';
import type { Profile } from '../profiles.ts';
import type { Threat } from '../threats.ts';
import { THREATS, THREAT_INVARIANTS } from '../threats.ts';
import type { FailureReport } from './campaign.ts';
import type { Level } from './levels.ts';
import { LEVELS, levelGaps, levelNeeds, reachableTransitions } from './levels.ts';

/** partial: one shard of a campaign in which nothing failed — the campaign's verdict comes from merging */
export type Verdict = 'compliant' | 'non-compliant' | 'inconclusive' | 'partial';

/** What a verdict is computed from: a campaign's tally, or the shards' tallies merged. */
export interface TallyView {
  readonly coverage: ReadonlySet<string>;
  /** scenario label → the capability it needs */
  readonly notTested: ReadonlyMap<string, string>;
  readonly exercised: ReadonlyMap<Threat, number>;
  readonly contractFindings: readonly { threat: Threat; message: string }[];
  readonly contractFindingCount: number;
  /** steps answered with a timeout the harness did not provoke, and the first few of them */
  readonly unprovokedTimeoutCount: number;
  readonly unprovokedTimeouts: readonly string[];
  readonly steps: number;
  readonly effects: number;
  readonly runs: number;
  readonly randomRuns: number;
  readonly shrinkRuns: number;
  readonly histories: number;
  readonly preludeScenarios: number;
  readonly judgedHistories: number;
  readonly timing: { preludeMs: number; randomMs: number; shrinkMs: number };
  /** plug-in id → items examined over the judged histories */
  readonly pluginExamined?: ReadonlyMap<string, number>;
}
export type InvariantStatus = 'held' | 'broken' | 'not tested' | 'not reached';

/** The capability without which none of a threat's scenarios can run. */
export const THREAT_REQUIRES: Readonly<Partial<Record<Threat, Capability>>> = {
  bypass: 'direct-execution',
  'crash-restart': 'crash-restart',
  'partition-during-approval': 'execution-partition',
  'lost-confirmation': 'execution-unconfirmed',
  'audit-failure': 'audit-down',
};

export interface InvariantJudgement {
  status: InvariantStatus;
  /** why, when not held */
  note?: string;
}

export function judgeInvariants(
  tally: TallyView,
  failure: FailureReport | undefined,
  capabilities: ReadonlySet<Capability>,
): Record<InvariantId, InvariantJudgement> {
  const result = {} as Record<InvariantId, InvariantJudgement>;
  for (const id of INVARIANT_IDS) {
    const atStake = (Object.keys(THREATS) as Threat[]).filter((t) => THREAT_INVARIANTS[t].includes(id));
    const exercised = atStake.filter((t) => (tally.exercised.get(t) ?? 0) > 0);
    const untestable = atStake.filter((t) => {
      const needs = THREAT_REQUIRES[t];
      return needs !== undefined && !capabilities.has(needs);
    });
    if (failure?.invariants.includes(id)) result[id] = { status: 'broken', note: failure.message };
    else if (id === 'INV-5' && !capabilities.has('audit-export')) result[id] = { status: 'not tested', note: 'needs the audit export' };
    else if (tally.judgedHistories === 0) result[id] = { status: 'not reached', note: 'the run stopped at a failure before any history was judged' };
    else if (exercised.length === 0 && untestable.length === atStake.length && atStake.length > 0) {
      result[id] = { status: 'not tested', note: `needs ${[...new Set(untestable.map((t) => THREAT_REQUIRES[t]))].join(', ')}` };
    } else if (exercised.length === 0 && atStake.length > 0) {
      result[id] = { status: 'not reached', note: `no scenario of ${atStake.join(', ')} was judged before the run stopped` };
    } else result[id] = { status: 'held' };
  }
  return result;
}

/** A plug-in invariant as a report shows it, beside INV-1…INV-6. */
export interface PluginInvariantOutcome {
  id: string;
  statement: string;
  status: InvariantStatus;
  /** why, when not held */
  note?: string;
  /** items its predicate examined over every judged history: 0 means it was vacuous */
  examined: number;
}

/** The plug-ins' statuses, by the same rules as the six (judged over histories; 'history' is their only scenario). */
export function judgePluginInvariants(
  plugins: readonly Pick<PluginInvariant, 'id' | 'statement' | 'needsAuditExport'>[],
  tally: Pick<TallyView, 'judgedHistories' | 'pluginExamined'>,
  failure: FailureReport | undefined,
  capabilities: ReadonlySet<Capability>,
): PluginInvariantOutcome[] {
  return plugins.map(({ id, statement, needsAuditExport }) => {
    const examined = tally.pluginExamined?.get(id) ?? 0;
    const judged = (status: InvariantStatus, note?: string): PluginInvariantOutcome => ({ id, statement, status, ...(note ? { note } : {}), examined });
    if (failure?.invariants.includes(id)) return judged('broken', failure.message);
    if (needsAuditExport && !capabilities.has('audit-export')) return judged('not tested', 'needs the audit export');
    if (tally.judgedHistories === 0) return judged('not reached', 'the run stopped at a failure before any history was judged');
    return judged('held');
  });
}

export interface LevelOutcome {
  level: Level;
  met: boolean;
  /** why not */
  reasons: string[];
  coverage: { covered: number; total: number; percent: number; missing: string[] };
  /** capabilities the level needs that the system lacks */
  gaps: Capability[];
}

export interface FloorInputs {
  tally: TallyView;
  profile: Profile;
  capabilities: ReadonlySet<Capability>;
  failure: FailureReport | undefined;
  /** an explicit number of runs that did not all run */
  unfinished?: string;
  /** the system could not be judged at all (e.g. it was not fresh) */
  unobservable?: string;
}

export function levelOutcome(level: Level, input: FloorInputs): LevelOutcome {
  const { tally, profile, capabilities } = input;
  const reachable = reachableTransitions(level);
  const missing = [...reachable].filter((t) => !tally.coverage.has(t)).sort();
  const percent = reachable.size === 0 ? 100 : Math.floor((1000 * (reachable.size - missing.length)) / reachable.size) / 10;
  const gaps = levelGaps(level, capabilities);
  const reasons: string[] = [];
  if (input.unobservable) reasons.push(input.unobservable);
  else {
    const untested = [...tally.notTested].filter(([, needs]) => levelNeeds(level, needs));
    if (untested.length > 0) {
      const byNeed = new Map<string, number>();
      for (const [, needs] of untested) byNeed.set(needs, (byNeed.get(needs) ?? 0) + 1);
      reasons.push(`level ${level} needs what the system does not offer: ${[...byNeed].map(([c, n]) => `${c} (${n} scenario${n === 1 ? '' : 's'})`).join(', ')}`);
    }
    if (tally.steps < profile.minSteps) reasons.push(`only ${tally.steps} steps executed; the ${profile.name} profile needs ${profile.minSteps}`);
    if (percent < profile.coverageFloor) reasons.push(`model coverage ${percent}% of what level ${level} reaches is below the floor of ${profile.coverageFloor}%`);
    if (tally.effects === 0) reasons.push('no effect was observed at all: the system never executed anything');
    if (input.unfinished) reasons.push(input.unfinished);
    if (tally.unprovokedTimeoutCount > 0) reasons.push(unprovokedTimeoutReason(tally));
  }
  return {
    level,
    met: !input.failure && reasons.length === 0,
    reasons,
    coverage: { covered: reachable.size - missing.length, total: reachable.size, percent, missing },
    gaps,
  };
}

export function allLevelOutcomes(input: FloorInputs): Record<Level, LevelOutcome> {
  return Object.fromEntries(LEVELS.map((level) => [level, levelOutcome(level, input)])) as Record<Level, LevelOutcome>;
}

/** The remedy for a level the system cannot reach, in one line. */
export function levelRemedy(requested: Level, outcomes: Record<Level, LevelOutcome>): string | undefined {
  const wanted = outcomes[requested];
  if (wanted.met || wanted.gaps.length === 0) return undefined;
  const lower = LEVELS.slice(0, LEVELS.indexOf(requested)).filter((l) => outcomes[l].met);
  const meets = lower.length > 0 ? `; this run meets level ${lower.at(-1)} — certify that with --level ${lower.at(-1)}` : '';
  return `offer ${wanted.gaps.join(', ')} through the conformance control channel (FAILCLOSED_CONFORMANCE_CHANNEL=1, test deployments only)${meets}`;
}

/** Why a run with timeouts the harness did not provoke cannot be compliant, and what to do. */
export function unprovokedTimeoutReason(tally: Pick<TallyView, 'unprovokedTimeoutCount' | 'unprovokedTimeouts'>): string {
  const n = tally.unprovokedTimeoutCount;
  return (
    `${n} step${n === 1 ? ' was' : 's were'} answered with a timeout the harness did not provoke${tally.unprovokedTimeouts[0] ? ` (first: ${tally.unprovokedTimeouts[0]})` : ''}: ` +
    "those steps did not test what they meant to. The machine was too loaded for the gate's deadlines, or the gate gives up too early; " +
    're-run on a quieter machine or with longer deadlines (FAILCLOSED_CONTROL_PLANE_DEADLINE_MS, FAILCLOSED_EXECUTION_DEADLINE_MS)'
  );
}
