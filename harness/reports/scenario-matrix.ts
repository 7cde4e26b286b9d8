/**
 * The run as a matrix: invariant × threat scenario (plus "history": the INV predicates over every
 * recorded history), each cell held, broken, not tested, partly tested or not at stake. One
 * function, so that result.json, junit.xml and report.html can never disagree about a cell.
 */
import { THREAT_OF, threatOfAnswer } from '../../conformance/run-control/prelude.ts';
import { THREAT_REQUIRES } from '../../conformance/run-control/verdict.ts';
import type { Capability } from '../../conformance/driver.ts';
import type { RunReport } from '../../conformance/runner.ts';
import type { Threat } from '../../conformance/threats.ts';
import { THREATS, THREAT_INVARIANTS } from '../../conformance/threats.ts';
import type { History } from '../../model/history.ts';
import { INVARIANT_CHECKS, checkInvariants } from '../../model/invariants/index.ts';
import type { InvariantName } from '../../model/invariants/plugins.ts';
import type { InvariantStatus } from '../../conformance/run-control/verdict.ts';
import type { InvariantId } from '../../model/profile/denial-codes.ts';
import { INVARIANT_IDS } from '../../model/profile/denial-codes.ts';
import type { Question } from '../../model/questions.ts';
import { QUESTIONS, isHealthy } from '../../model/questions.ts';

export type Scenario = Threat | 'history';
export type CellStatus = 'held' | 'broken' | 'not tested' | 'partly tested' | 'not reached' | 'not at stake';

export const SCENARIOS: readonly Scenario[] = [...(Object.keys(THREATS) as Threat[]), 'history'];

export interface NotTestedEntry {
  scenario: string;
  needs: string;
  /** the threat scenario it belongs to; null when the label says too little to tell */
  threat: Threat | null;
}

export interface MatrixCell {
  /** INV-1…INV-6, or a plug-in invariant's id */
  invariant: InvariantName;
  scenario: Scenario;
  status: CellStatus;
  /** THREAT_INVARIANTS puts the invariant at stake under this threat (always, for history) */
  atStake: boolean;
  /** why a cell is not (fully) tested, or what broke it */
  note?: string;
}

/** What the recorded histories add: how much each predicate examined (0 across all: vacuous). */
export interface HistorySummary {
  histories: number;
  events: number;
  auditRecords: number;
  examined: Record<InvariantId, number>;
}

export interface ScenarioMatrix {
  cells: MatrixCell[];
  notTested: NotTestedEntry[];
  /** a failure that names no invariant: the system's answer diverged from the model's */
  modelDivergence?: { threat: Scenario; message: string };
  histories?: HistorySummary;
}

/** One invariant as every report lists it: INV-1…INV-6, then the run's plug-ins in their order. */
export interface InvariantRow {
  id: InvariantName;
  statement: string;
  status: InvariantStatus;
  note?: string;
  /** a plug-in invariant (model/invariants/plugins.ts), not one of the profile's */
  plugin: boolean;
}

export function invariantRows(report: RunReport): InvariantRow[] {
  return [
    ...INVARIANT_IDS.map((id) => ({
      id,
      statement: INVARIANT_CHECKS[id].statement,
      status: report.invariants[id],
      ...(report.invariantNotes[id] ? { note: report.invariantNotes[id] } : {}),
      plugin: false,
    })),
    ...(report.pluginInvariants ?? []).map((p) => ({ id: p.id, statement: p.statement, status: p.status, ...(p.note ? { note: p.note } : {}), plugin: true })),
  ];
}

/** The threat a scenario stands for, by its first unhealthy answer (the prelude's table). */
export const THREAT_OF_QUESTION = THREAT_OF;

/** For labels without answers (commands): the threat whose scenarios need the capability. */
const THREAT_OF_CAPABILITY: Readonly<Partial<Record<Capability, Threat>>> = {
  'nonce-store-down': 'nonce-store-failure',
  'nonce-store-unconfirmed': 'nonce-store-failure',
  'audit-down': 'audit-failure',
  'execution-partition': 'partition-during-approval',
  'execution-tamper': 'argument-swap',
  'execution-unconfirmed': 'lost-confirmation',
  'execution-delayed': 'late-answer',
  'clock-offset': 'stale-request',
  'crash-restart': 'crash-restart',
  'direct-execution': 'bypass',
};

/** Every `question.answer` in a text, in order. */
export function answerTokens(text: string): { question: Question; answer: string }[] {
  const found: { question: Question; answer: string }[] = [];
  for (const m of text.matchAll(/\b([A-Za-z]+)\.([A-Za-z]+)\b/g)) {
    const question = m[1] as Question;
    if (Object.hasOwn(QUESTIONS, question) && (QUESTIONS[question] as readonly string[]).includes(m[2]!)) found.push({ question, answer: m[2]! });
  }
  return found;
}

/** The threat an untested scenario belongs to, from its label (the runner's) or what it needs. */
export function threatOfNotTested(scenario: string, needs: string): Threat | null {
  if (scenario.startsWith('direct call')) return 'bypass';
  if (/^\[(nonceClaimed|approvalConsumed)\]/.test(scenario)) return 'replay';
  const first = answerTokens(scenario).find((t) => !isHealthy(t.question, t.answer));
  if (first) return threatOfAnswer(first.question, first.answer);
  return THREAT_OF_CAPABILITY[needs as Capability] ?? null;
}

export function summarizeHistories(histories: readonly History[]): HistorySummary {
  const examined = Object.fromEntries(INVARIANT_IDS.map((id) => [id, 0])) as Record<InvariantId, number>;
  let events = 0;
  let auditRecords = 0;
  for (const history of histories) {
    events += history.events.length;
    auditRecords += history.audit.length;
    for (const verdict of checkInvariants(history)) {
      // Without an export INV-5 examined nothing real; the runner does not judge it either.
      if (verdict.invariant === 'INV-5' && !history.auditExported) continue;
      examined[verdict.invariant] += verdict.examined;
    }
  }
  return { histories: histories.length, events, auditRecords, examined };
}

export function scenarioMatrix(report: RunReport, histories?: readonly History[]): ScenarioMatrix {
  const notTested: NotTestedEntry[] = report.notTested.map((n) => ({ ...n, threat: threatOfNotTested(n.scenario, n.needs) }));
  const summary = histories ? summarizeHistories(histories) : undefined;
  const failure = report.failure;
  const cells: MatrixCell[] = [];
  for (const invariant of INVARIANT_IDS) {
    for (const scenario of SCENARIOS) {
      const atStake = scenario === 'history' || THREAT_INVARIANTS[scenario].includes(invariant);
      const cell = (status: CellStatus, note?: string) => cells.push({ invariant, scenario, status, atStake, ...(note ? { note } : {}) });
      if (failure && failure.threat === scenario && failure.invariants.includes(invariant)) {
        cell('broken', failure.message);
        continue;
      }
      if (!atStake) {
        cell('not at stake');
        continue;
      }
      if (report.invariants[invariant] === 'not tested') {
        cell('not tested', `${invariant} could not be judged against this system: ${report.invariantNotes[invariant] ?? 'the system cannot show it'}`);
        continue;
      }
      if (report.invariants[invariant] === 'not reached') {
        cell('not reached', `not reached: ${report.invariantNotes[invariant] ?? 'the run stopped before it was judged'}`);
        continue;
      }
      if (scenario === 'history') {
        if (Object.keys(report.exercised).length === 0) {
          cell('not reached', 'not reached: the run stopped before it judged any history');
        } else if (summary && summary.histories === 0) {
          cell('not reached', 'no recorded history was judged (the run stopped before the predicates ran)');
        } else if (summary && summary.examined[invariant] === 0) {
          cell('not tested', `vacuous: over ${summary.histories} recorded histories the ${invariant} predicate found nothing to examine`);
        } else cell('held');
        continue;
      }
      const missing = notTested.filter((n) => n.threat === scenario);
      const exercised = (report.exercised[scenario] ?? 0) > 0;
      if (missing.length === 0) {
        if (exercised) cell('held');
        else cell('not reached', `not reached: no ${scenario} scenario was judged before the run stopped`);
        continue;
      }
      const list = missing.map((n) => `${n.scenario} (needs ${n.needs})`).join('; ');
      const required = THREAT_REQUIRES[scenario];
      if ((required && missing.some((n) => n.needs === required)) || !exercised) cell('not tested', `not tested: ${list}`);
      else cell('partly tested', `held where tested; not tested: ${list}`);
    }
  }
  // A plug-in is judged over histories only: 'history' is the one scenario it is at stake in.
  for (const plugin of report.pluginInvariants ?? []) {
    for (const scenario of SCENARIOS) {
      const atStake = scenario === 'history';
      const cell = (status: CellStatus, note?: string) => cells.push({ invariant: plugin.id, scenario, status, atStake, ...(note ? { note } : {}) });
      if (failure && failure.threat === scenario && failure.invariants.includes(plugin.id)) cell('broken', failure.message);
      else if (!atStake) cell('not at stake');
      else if (plugin.status === 'not tested' || plugin.status === 'not reached') cell(plugin.status, `${plugin.status}: ${plugin.note ?? ''}`);
      else if (plugin.examined === 0) cell('not tested', `vacuous: over the judged histories the ${plugin.id} predicate found nothing to examine`);
      else cell('held');
    }
  }
  return {
    cells,
    notTested,
    ...(failure && failure.invariants.length === 0 ? { modelDivergence: { threat: failure.threat, message: failure.message } } : {}),
    ...(summary ? { histories: summary } : {}),
  };
}
