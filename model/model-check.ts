/**
 * The exhaustive model check: every scenario the statecharts distinguish (request attributes ×
 * environment answers × prior history), plus replays of every executed scenario and a restart in
 * between, checked against what the spec demands:
 *   (a) every run that reaches `executed` passed every check;
 *   (b) every failure condition ends in denial with a code — and a healthy request executes;
 *   (c) every terminal leaves the audit records INV-5 demands, intent before effect;
 *   (d) no nonce or approval is consumed twice, across replays and restarts;
 *   (e) INV-1…INV-6 hold on the concrete history a compliant system would record for all of it;
 * and that every transition of the chart is exercised and every denial code is reachable.
 *
 * It takes the machines as parameters so that tests can plant a bug in the model itself and see
 * the check fail.
 */
import type { DenialCode } from './profile/denial-codes.ts';
import { ALL_DENIAL_CODES, isDenialCode } from './profile/denial-codes.ts';
import { describeChart } from './describe.ts';
import { executionLayerMachine } from './execution-layer-machine.ts';
import type { DirectCallOutcome } from './execution-layer-machine.ts';
import type { GateOutcome } from './gate-machine.ts';
import { GATE_CHECKS, gateMachine } from './gate-machine.ts';
import type { DirectCallScenarioRun, GateScenarioRun, PriorHistory } from './predict.ts';
import { MODEL_REQUEST, enumerateDirectCallScenarios, enumerateGateScenarios, memoryFor } from './predict.ts';
import { isHealthy } from './questions.ts';
import type { ModelRun } from './simulate.ts';
import { runScenario } from './simulate.ts';
import { restart } from './system-memory.ts';
import type { InvariantVerdict } from './history.ts';
import { checkInvariants } from './invariants/index.ts';
import { materializeHistory } from './materialize.ts';

export type ModelCheckProperty =
  | 'executed-passed-every-check'
  | 'failure-ends-in-denial'
  | 'healthy-request-executes'
  | 'audit-records'
  | 'single-consumption'
  | 'transition-coverage'
  | 'code-reachability'
  | 'history-invariants';

export interface ModelCheckViolation {
  property: ModelCheckProperty;
  message: string;
  /** the scenario's answers, as `question.answer` */
  path?: string[];
  prior?: PriorHistory;
}

export interface ModelCheckReport {
  ok: boolean;
  counts: {
    gateStates: number;
    gateTransitions: number;
    executionLayerStates: number;
    executionLayerTransitions: number;
    gateScenarios: number;
    directCallScenarios: number;
    replaySequences: number;
    terminals: Record<string, number>;
  };
  coverage: { transitionsCovered: number; transitionsTotal: number; codesReached: DenialCode[]; codesMissing: DenialCode[] };
  /** INV-1…INV-6 over the concrete history a compliant system would record for every scenario */
  invariants: { invariant: InvariantVerdict['invariant']; holds: boolean; examined: number; violations: number }[];
  violations: ModelCheckViolation[];
}

const pathOf = (run: ModelRun<unknown>) => run.steps.map((s) => `${s.question}.${s.answer}`);

/** The conditions in a run under which a compliant system must deny. */
function failureConditions(run: GateScenarioRun): string[] {
  const conditions = run.steps.filter((s) => !isHealthy(s.question, s.answer)).map((s) => `${s.question}.${s.answer}`);
  const asked = new Set(run.steps.map((s) => `${s.question}.${s.answer}`));
  // Prior history matters only once the run reaches the store that remembers it.
  if (run.prior === 'nonceClaimed' && asked.has('nonceStore.available')) conditions.push('nonce already claimed');
  if (run.prior === 'approvalConsumed' && asked.has('executionLink.up')) conditions.push('approval already consumed');
  return conditions;
}

function checkGateRun(run: GateScenarioRun, violations: ModelCheckViolation[]): void {
  const o = run.outcome;
  const report = (property: ModelCheckProperty, message: string) =>
    violations.push({ property, message, path: pathOf(run), prior: run.prior });

  if (run.terminal !== o.decision) report('failure-ends-in-denial', `terminal state "${run.terminal}" but outcome "${o.decision}"`);

  // (a)
  if (run.terminal === 'executed') {
    const missing = GATE_CHECKS.filter((c) => !o.passed.includes(c));
    if (missing.length > 0) report('executed-passed-every-check', `executed without passing: ${missing.join(', ')}`);
  }

  // (b)
  const conditions = failureConditions(run);
  if (conditions.length > 0 && run.terminal !== 'denied') {
    report('failure-ends-in-denial', `executed despite ${conditions.join(', ')}`);
  }
  if (conditions.length === 0 && run.terminal !== 'executed') {
    report('healthy-request-executes', 'a healthy request with no prior history was denied');
  }
  if (run.terminal === 'denied' && (o.acceptableCodes.length === 0 || !o.acceptableCodes.every(isDenialCode))) {
    report('failure-ends-in-denial', `denial without a profile code: [${o.acceptableCodes.join(', ')}]`);
  }

  // (c)
  const finals = o.audit.filter((r) => r.stage === 'final');
  const intents = o.audit.filter((r) => r.stage === 'intent');
  if (finals.length !== 1) report('audit-records', `expected exactly one final audit record, found ${finals.length}`);
  const final = finals[0];
  if (final) {
    if (o.audit.indexOf(final) !== o.audit.length - 1) report('audit-records', 'the final record is not the last one');
    const expected = run.terminal === 'executed' ? 'allow' : 'deny';
    if (final.decision !== expected) report('audit-records', `final record says ${final.decision} for a run that ${run.terminal}`);
    const sameCodes = (a: readonly string[] = [], b: readonly string[] = []) => JSON.stringify([...new Set(a)].sort()) === JSON.stringify([...new Set(b)].sort());
    if (final.decision === 'deny' && !sameCodes(final.codes, o.acceptableCodes)) {
      report('audit-records', 'the denial record does not carry the denial codes');
    }
    if (final.decision === 'allow' && (final.outcome !== 'executed' || final.approvalId !== MODEL_REQUEST.approvalId)) {
      report('audit-records', 'the execution record lacks its approval id or outcome');
    }
    const malformed = o.acceptableCodes.includes('REQUEST_MALFORMED');
    if (final.identityKnown === malformed) report('audit-records', 'identity must be "unknown" exactly when the request did not parse');
  }
  if (o.effects.length > 0 && intents.length === 0) report('audit-records', 'an effect without an intent record (audit after effect)');
  if (intents.length > 0 && !o.passed.includes('intentAudited')) report('audit-records', 'an intent record that was never confirmed');
  if (run.terminal === 'executed' && o.effects.length !== 1) report('failure-ends-in-denial', `executed with ${o.effects.length} effects`);
  if (o.effects.length > 0 && run.terminal === 'denied' && !o.acceptableCodes.every((c) => c === 'EXECUTION_UNCONFIRMED')) {
    report('failure-ends-in-denial', 'an effect for a request denied before dispatch');
  }
  const accepted = o.gatewayEvents.includes('accepted');
  const closing = o.gatewayEvents.filter((e) => e !== 'accepted');
  if (accepted && closing.length !== 1) report('audit-records', `gateway events ${o.gatewayEvents.join(',')}: an accepted request must complete or fail once`);

  // (d)
  const prior = memoryFor(run.prior);
  const doubles = [
    ...o.consumed.nonces.filter((n, i, all) => prior.claimedNonces.includes(n) || all.indexOf(n) !== i),
    ...o.consumed.approvals.filter((a, i, all) => prior.consumedApprovals.includes(a) || all.indexOf(a) !== i),
  ];
  if (doubles.length > 0) report('single-consumption', `consumed twice: ${doubles.join(', ')}`);
}

/** Replays after success, with a restart in between: the same request, and the same approval under a new nonce. */
function checkReplays(runs: GateScenarioRun[], violations: ModelCheckViolation[], machine: typeof gateMachine): number {
  let sequences = 0;
  for (const run of runs.filter((r) => r.outcome.consumed.nonces.length > 0)) {
    // Replayed once every dependency is healthy again: only memory can deny it now.
    const memory = restart(run.outcome.memory);
    const scenario = {};
    const sameRequest = runScenario<GateOutcome>(machine, { request: MODEL_REQUEST, memory }, scenario);
    sequences += 1;
    if (sameRequest.terminal !== 'denied' || !sameRequest.outcome.acceptableCodes.includes('REPLAY_DETECTED')) {
      violations.push({ property: 'single-consumption', message: 'a replayed request was not denied REPLAY_DETECTED after a restart', path: pathOf(run), prior: run.prior });
    }
    if (run.outcome.consumed.approvals.length === 0) continue;
    const newNonce = { ...MODEL_REQUEST, nonce: `${MODEL_REQUEST.nonce}-retry` };
    const sameApproval = runScenario<GateOutcome>(machine, { request: newNonce, memory }, scenario);
    sequences += 1;
    if (sameApproval.terminal !== 'denied' || !sameApproval.outcome.acceptableCodes.includes('ENVELOPE_REPLAYED')) {
      violations.push({ property: 'single-consumption', message: 'an approval was executed under twice', path: pathOf(run), prior: run.prior });
    }
  }
  return sequences;
}

function checkDirectCallRun(run: DirectCallScenarioRun, violations: ModelCheckViolation[], machine: typeof executionLayerMachine): number {
  const o = run.outcome;
  const report = (property: ModelCheckProperty, message: string) =>
    violations.push({ property, message, path: pathOf(run), prior: run.prior });
  const unhealthy = run.steps.some((s) => !isHealthy(s.question, s.answer)) || run.prior === 'approvalConsumed';
  if (run.terminal !== o.decision) report('failure-ends-in-denial', `terminal "${run.terminal}" but outcome "${o.decision}"`);
  if (unhealthy && (o.decision !== 'denied' || o.effects.length > 0)) report('failure-ends-in-denial', 'a direct call with a bad envelope executed');
  if (!unhealthy && o.decision !== 'executed') report('healthy-request-executes', 'a valid, unused envelope was refused');
  if (o.decision === 'denied' && o.acceptableCodes.length === 0) report('failure-ends-in-denial', 'denial without a code');
  if (o.effects.length === 0) return 0;
  const replay = runScenario<DirectCallOutcome>(
    machine,
    { approvalId: MODEL_REQUEST.approvalId, requestId: MODEL_REQUEST.requestId, memory: restart(o.memory) },
    {},
  );
  if (replay.outcome.effects.length > 0 || !replay.outcome.acceptableCodes.includes('ENVELOPE_REPLAYED')) {
    report('single-consumption', 'the Execution Layer executed the same approval twice');
  }
  return 1;
}

export function modelCheck(machines: { gate?: typeof gateMachine; executionLayer?: typeof executionLayerMachine } = {}): ModelCheckReport {
  const gate = machines.gate ?? gateMachine;
  const executionLayer = machines.executionLayer ?? executionLayerMachine;
  const violations: ModelCheckViolation[] = [];

  const gateRuns = enumerateGateScenarios(gate);
  const directRuns = enumerateDirectCallScenarios(executionLayer);
  for (const run of gateRuns) checkGateRun(run, violations);
  let replaySequences = checkReplays(gateRuns, violations, gate);
  for (const run of directRuns) replaySequences += checkDirectCallRun(run, violations, executionLayer);

  // Coverage: every answer transition declared by either chart is taken by some scenario.
  const gateChart = describeChart(gate);
  const elChart = describeChart(executionLayer);
  const declared = new Set<string>();
  for (const [prefix, chart] of [['gate', gateChart], ['executionLayer', elChart]] as const) {
    for (const t of chart.transitions) if (t.event.includes('.')) declared.add(`${prefix}:${t.source}:${t.event}`);
  }
  const taken = new Set<string>();
  for (const run of gateRuns) for (const s of run.steps) taken.add(`gate:${s.state}:${s.question}.${s.answer}`);
  for (const run of directRuns) for (const s of run.steps) taken.add(`executionLayer:${s.state}:${s.question}.${s.answer}`);
  const untaken = [...declared].filter((d) => !taken.has(d));
  for (const d of untaken) violations.push({ property: 'transition-coverage', message: `transition never taken: ${d}` });

  const reached = new Set<DenialCode>();
  for (const run of [...gateRuns, ...directRuns]) for (const code of run.outcome.acceptableCodes) reached.add(code);
  const codesMissing = ALL_DENIAL_CODES.filter((c) => !reached.has(c));
  for (const code of codesMissing) violations.push({ property: 'code-reachability', message: `denial code ${code} is unreachable in the model` });

  // (e) The same predicates that judge live runs accept everything the model does.
  const history = materializeHistory(gateRuns, directRuns);
  const verdicts = checkInvariants(history);
  for (const verdict of verdicts) {
    if (verdict.examined === 0) violations.push({ property: 'history-invariants', message: `${verdict.invariant} examined nothing` });
    for (const v of verdict.violations) violations.push({ property: 'history-invariants', message: `${v.invariant}: ${v.message}` });
  }

  const terminals: Record<string, number> = {};
  for (const run of gateRuns) {
    const key = run.terminal === 'executed' ? 'executed' : `denied(${run.outcome.acceptableCodes.join('|')})`;
    terminals[key] = (terminals[key] ?? 0) + 1;
  }

  return {
    ok: violations.length === 0,
    counts: {
      gateStates: gateChart.states.length,
      gateTransitions: gateChart.transitions.length,
      executionLayerStates: elChart.states.length,
      executionLayerTransitions: elChart.transitions.length,
      gateScenarios: gateRuns.length,
      directCallScenarios: directRuns.length,
      replaySequences,
      terminals,
    },
    coverage: {
      transitionsCovered: declared.size - untaken.length,
      transitionsTotal: declared.size,
      codesReached: ALL_DENIAL_CODES.filter((c) => reached.has(c)),
      codesMissing,
    },
    invariants: verdicts.map((v) => ({ invariant: v.invariant, holds: v.holds, examined: v.examined, violations: v.violations.length })),
    violations,
  };
}
