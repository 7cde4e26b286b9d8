/**
 * One run of the suite against one system: drives model scenarios through the Driver, predicts
 * each outcome by running the model, and compares — decision, denial code, and the effects that
 * really happened (ground truth). The model's memory of claimed nonces and consumed approvals is
 * threaded from step to step, so replays and restarts mean what they mean in the model.
 *
 * Every command of the suite comes down to `gateScenario` or `directCall` here.
 */
import type fc from 'fast-check';
import type { Answers, EnvelopeOptions, RequestFields } from '../model/concrete-scenario.ts';
import { concreteRequest, envelopeWindow } from '../model/concrete-scenario.ts';
import { TEST_KEYS } from '../model/history-builder.ts';
import type { DirectCallRun, GateRun, PriorHistory } from '../model/predict.ts';
import { predictDirectCall, predictionInput, predictRequest } from '../model/predict.ts';
import type { JsonValue } from '../model/profile/canonical-json.ts';
import { canonicalBytes } from '../model/profile/canonical-json.ts';
import type { InvariantName } from '../model/invariants/plugins.ts';
import { digestJson } from '../model/profile/digest.ts';
import { utf8Encode } from '../model/profile/encoding.ts';
import type { ClientRequest } from '../model/profile/messages.ts';
import { signEnvelope } from '../model/profile/messages.ts';
import type { Question, Scenario } from '../model/questions.ts';
import { isHealthy } from '../model/questions.ts';
import type { ModelRequest, SystemMemory } from '../model/system-memory.ts';
import { EMPTY_MEMORY, restart } from '../model/system-memory.ts';
import type { MalformedForm, ScriptedControlPlane } from '../harness/control-plane/scripted-control-plane.ts';
import type { HistoryRecorder } from '../harness/history-recorder.ts';
import type { Answer, Capability, Driver, DriverFault, FaultOptions, LostConfirmationForm } from './driver.ts';
import type { Tagged, Threat } from './threats.ts';
import { stillRemembered } from './scenarios/memory-horizon.ts';
import { deliverLateAnswers } from './scenarios/late-answers.ts';

export const ACTION = 'payments.transfer';

/** A step the system got wrong, with the invariants and threat it concerns. */
export class ConformanceFailure extends Error {
  constructor(
    /** INV-1…INV-6, or plug-in invariants' ids */
    readonly invariants: readonly InvariantName[],
    readonly threat: Threat | 'history',
    message: string,
    /** for a failure of the history predicates: the witnessing events */
    readonly eventIndexes: readonly number[] = [],
  ) {
    super(message);
    this.name = 'ConformanceFailure';
  }
}

/**
 * A step the system answered with a timeout the harness did not provoke (see
 * RunContext.judgeRequest): not a failure. It ends the command it was part of; the run's history
 * is judged as any run's, and the run cannot be compliant.
 */
export class StepNotObserved extends Error {
  override name = 'StepNotObserved';
}

/** Faults each answer needs switched on inside the system. */
const FAULTS_FOR: Partial<Record<string, DriverFault>> = {
  'nonceStore.unavailable': 'nonce-store-down',
  'nonceStore.writeUnconfirmed': 'nonce-store-unconfirmed',
  'auditStore.failing': 'audit-down',
  'executionLink.partitioned': 'execution-partition',
  'executionLink.tampered': 'execution-tamper',
  'executionOutcome.unconfirmed': 'execution-unconfirmed',
  'executionLink.delayed': 'execution-delayed',
};

/** "[prior] question.answer …": the model scenario a prediction ran, as reports place it on the chart. */
export function modelPathOf(run: GateRun | DirectCallRun): string {
  const direct = run.steps.some((s) => s.question === 'presentedEnvelope');
  const codes: readonly string[] = run.outcome.acceptableCodes;
  // What the system already remembered is visible in what the model concluded from it.
  const prior = codes.includes('REPLAY_DETECTED') ? '[nonceClaimed] ' : codes.includes('ENVELOPE_REPLAYED') ? '[approvalConsumed] ' : '';
  const answers = run.steps.filter((s) => !isHealthy(s.question, s.answer)).map((s) => `${s.question}.${s.answer}`);
  return `${direct ? 'direct call ' : ''}${prior}${answers.join(' ') || 'healthy'}`;
}

export function faultsFor(answers: Answers): DriverFault[] {
  return Object.entries(answers)
    .map(([q, a]) => FAULTS_FOR[`${q}.${a}`])
    .filter((f): f is DriverFault => f !== undefined);
}

/** A malformed body of a given kind, made from a valid request so only the defect differs. */
export type MalformedKind = 'truncated' | 'duplicate-key' | 'missing-field' | 'wrong-type' | 'proto-key' | 'not-json' | 'oversized';

export function malformedBody(kind: MalformedKind, request: ClientRequest): Uint8Array {
  const text = new TextDecoder().decode(canonicalBytes(request));
  switch (kind) {
    case 'truncated':
      return utf8Encode(text.slice(0, Math.floor(text.length / 2)));
    case 'duplicate-key':
      // The second "action" is what a lax reader would execute; the signature covers the first.
      return utf8Encode(text.replace('"action":', '"action":"admin.delete","action":'));
    case 'missing-field': {
      const { timestamp: _t, ...rest } = request;
      return canonicalBytes(rest);
    }
    case 'wrong-type':
      return canonicalBytes({ ...request, timestamp: String(request.timestamp) });
    case 'proto-key':
      return utf8Encode(text.replace('{', '{"__proto__":{"action":"admin.delete"},'));
    case 'not-json':
      return utf8Encode(`request_id=${request.request_id}&action=${request.action}`);
    case 'oversized':
      return canonicalBytes({ ...request, parameters: { blob: 'x'.repeat(2 * 1024 * 1024) } });
  }
}

export interface GateStep {
  label: string;
  tag: Tagged;
  answers: Answers;
  prior?: PriorHistory;
  identity?: 'alice' | 'bob';
  nonce?: string;
  requestId?: string;
  approvalId?: string;
  parameters?: JsonValue;
  envelope?: EnvelopeOptions;
  malformed?: MalformedKind;
  /** leave the scenario's faults on after the request (the caller switches them off later) */
  faultsStayOn?: boolean;
  /** how a "malformed" Control Plane answer looks (default: garbage) */
  controlPlaneForm?: MalformedForm;
  /** how execution-unconfirmed loses the Execution Layer's answer (default: reset) */
  confirmationForm?: LostConfirmationForm;
  /**
   * The bytes to send for the signed request (default: its canonical form): another spelling of
   * the same value — or, for `requestShape: 'malformed'`, a malformed body made from the valid one.
   */
  spell?: (request: ClientRequest) => Uint8Array;
  /** the request's timestamp, unix seconds (default: the harness's now; a stale or future answer is made from it) */
  timestampSec?: number;
  /** a late allow / delayed call is delivered this long after the Gate answered (scenarios/late-answers.ts) */
  lateByMs?: number;
}

export interface DirectStep {
  label: string;
  tag: Tagged;
  answers: Answers;
  prior: 'none' | 'approvalConsumed';
  edge?: boolean;
}

export interface SentRequest {
  body: Uint8Array;
  request: ClientRequest | undefined;
  answers: Answers;
  approvalId: string;
  /** it executed: replaying it is the sharpest test of memory */
  executed?: boolean;
}

export class RunContext {
  memory: SystemMemory = EMPTY_MEMORY;
  /** requests sent, for replays */
  readonly sent: SentRequest[] = [];
  /** "gate:<state>:<question.answer>" for every model transition a prediction took */
  readonly coverage = new Set<string>();
  /** scenarios skipped because the system lacks a capability: label → capability (or a clock the harness can read) */
  readonly notTested = new Map<string, Capability | 'clock-agreement'>();
  /** one line per step, for counterexamples */
  readonly trail: string[] = [];
  steps = 0;
  effectsSeen = 0;
  /**
   * Steps the Gate answered with a timeout the harness did not provoke (CONTRACT.md section 4,
   * "Deadlines the harness did not provoke"): explained by the model with that timeout, so not a
   * failure — but the step did not observe what it meant to, so the run cannot be compliant.
   */
  readonly unprovokedTimeouts: string[] = [];
  /** safe denials with a code the contract does not allow there (CONTRACT.md section 10) */
  readonly contractFindings: { threat: Threat; message: string }[] = [];
  /** checked steps per threat: which threats this run really exercised */
  readonly exercised = new Map<Threat, number>();
  private counter = 0;
  /** one per top-level scenario: where its trail lines, model paths and history events begin */
  readonly segments: { label: string; trailStart: number; eventStart: number; pathStart: number }[] = [];
  /**
   * Per checked step, the model scenario it was: "[prior] question.answer …" (or "direct call …"),
   * the form a report can place on the statechart.
   */
  readonly modelPaths: string[] = [];

  constructor(
    readonly driver: Driver,
    readonly controlPlane: ScriptedControlPlane,
    readonly recorder: HistoryRecorder,
    readonly acceptanceWindowSec: number,
    /** distinguishes ids between runs against one long-lived system */
    readonly runTag: string,
  ) {}

  unique(prefix: string): string {
    this.counter += 1;
    return `${prefix}-${this.runTag}-${this.counter}`;
  }

  nonce(): string {
    // Padded with '_', which never occurs in `nonce-<tag>-<n>`: padding must not make two nonces equal.
    return this.unique('nonce').replace(/[^A-Za-z0-9_-]/g, '-').padEnd(16, '_');
  }

  /** Starts a new top-level scenario, so a failure can be traced back to it alone. */
  beginSegment(label: string): void {
    this.segments.push({ label, trailStart: this.trail.length, eventStart: this.recorder.events.length, pathStart: this.modelPaths.length });
  }

  /** The segments that produced these events (or the last one), with their trail lines. */
  segmentsFor(eventIndexes: readonly number[]): { labels: string[]; trail: string[]; modelPaths: string[] } {
    const ranges = this.segments.map((s, i) => ({
      ...s,
      trailEnd: this.segments[i + 1]?.trailStart ?? this.trail.length,
      eventEnd: this.segments[i + 1]?.eventStart ?? Number.MAX_SAFE_INTEGER,
      pathEnd: this.segments[i + 1]?.pathStart ?? this.modelPaths.length,
    }));
    const chosen = eventIndexes.length === 0 ? ranges.slice(-1) : ranges.filter((r) => eventIndexes.some((e) => e >= r.eventStart && e < r.eventEnd));
    return {
      labels: chosen.map((r) => r.label),
      trail: chosen.flatMap((r) => this.trail.slice(r.trailStart, r.trailEnd)),
      modelPaths: chosen.flatMap((r) => this.modelPaths.slice(r.pathStart, r.pathEnd)),
    };
  }

  nowSec(): number {
    return Math.floor(Date.now() / 1000);
  }

  private effectCount(): number {
    let n = 0;
    for (const e of this.recorder.events) if (e.kind === 'effect') n += 1;
    return n;
  }

  /** Capabilities the answers need that the system lacks. */
  missing(answers: Answers, extra: Capability[] = []): Capability | undefined {
    return [...faultsFor(answers), ...extra].find((c) => !this.driver.capabilities.has(c));
  }

  private cover(run: GateRun | DirectCallRun, chart: 'gate' | 'executionLayer'): void {
    for (const s of run.steps) this.coverage.add(`${chart}:${s.state}:${s.question}.${s.answer}`);
  }

  async withFaults<T>(faults: DriverFault[], action: () => Promise<T>, options?: FaultOptions): Promise<T> {
    for (const f of faults) await this.driver.setFault(f, true, options);
    try {
      return await action();
    } finally {
      for (const f of faults) await this.driver.setFault(f, false);
    }
  }

  /**
   * Checks a request's answer like `check`, except for a timeout the harness did not provoke: the
   * Gate answered CONTROL_PLANE_TIMEOUT or EXECUTION_UNCONFIRMED where the harness answered in time
   * (a loaded machine, a gate's short deadline). When the model, given that timeout, predicts
   * exactly what was observed, the step is recorded as unprovoked and the model's memory follows
   * the timeout; anything else — an effect after a Control Plane timeout, a second effect — is
   * judged as always. `effectsNow` counts this step's effects (it is asked again while a late one
   * may land). Returns the run whose memory the next step starts from.
   */
  async judgeRequest(step: { label: string; tag: Tagged }, predicted: GateRun, observed: Answer, effectsNow: () => number): Promise<GateRun> {
    let effects = effectsNow();
    const m = mismatchOf(predicted, observed, effects);
    const candidates = m.wrongDecision || m.wrongCode || m.wrongEffects ? unprovokedTimeoutRunsOf(predicted, observed) : [];
    if (candidates.length > 0) {
      const most = Math.max(...candidates.map((run) => run.outcome.effects.length));
      // A call the Gate gave up on may still be running: let its effect land here, not in the next step.
      if (effects < most) {
        const settled = await effectsSettled(effectsNow, most);
        this.effectsSeen += settled - effects;
        effects = settled;
      }
      const alternative = explainingRun(candidates, observed, effects);
      if (alternative) this.acceptUnprovokedTimeout(step.label, alternative, observed, effects);
    }
    this.check(step, predicted, observed, effects);
    return predicted;
  }

  /**
   * Copies of one request of which exactly one may execute: none executed, all but one were
   * replays, and the one left timed out where the harness provoked nothing — explained by the model
   * (see judgeRequest) from the first copy's prediction: recorded, and the command ends
   * (StepNotObserved). Returns when that is not what happened: the caller then judges as always.
   */
  explainGroupTimeout(label: string, first: GateRun, answers: readonly Answer[], replays: number, effects: number): void {
    if (answers.some((a) => a.status === 'executed') || replays !== answers.length - 1) return undefined;
    const timedOut = answers.find((a) => a.status === 'denied' && (a.code === 'CONTROL_PLANE_TIMEOUT' || a.code === 'EXECUTION_UNCONFIRMED'));
    if (!timedOut) return undefined;
    const alternative = explainingRun(unprovokedTimeoutRunsOf(first, timedOut), timedOut, effects);
    if (!alternative) return undefined;
    this.acceptUnprovokedTimeout(label, alternative, timedOut, effects);
  }

  /**
   * Records a step explained by a timeout the harness did not provoke (see judgeRequest), and ends
   * the command it belongs to: what follows in it was built on this step doing what it meant to
   * (an approval used, a nonce executed), so it would test nothing — or blame the gate for the
   * harness's own plan, e.g. an envelope of the timed-out request replayed straight to the
   * Execution Layer, which rightly runs an approval no one used. The run's history is judged as any.
   */
  acceptUnprovokedTimeout(label: string, alternative: GateRun, observed: Answer, effects: number): never {
    const line = `${label}: observed denied with ${observed.code}, ${effects} effect(s) — a timeout the harness did not provoke (it injected no fault there); the model with that dependency too slow predicts the same: not a failure, but this step did not test what it meant to`;
    this.trail.push(line);
    this.unprovokedTimeouts.push(line);
    this.modelPaths.push(modelPathOf(alternative));
    throw new StepNotObserved(line);
  }

  /** Compares one answer with the model's prediction; throws a ConformanceFailure naming what broke. */
  check(step: { label: string; tag: Tagged }, predicted: GateRun | DirectCallRun, observed: Answer, effects: number): void {
    this.exercise(step.tag.threat);
    this.checkBindingDigests(step.label);
    this.modelPaths.push(modelPathOf(predicted));
    const o = predicted.outcome;
    const expected = o.decision === 'executed' ? 'executed' : `denied with ${o.acceptableCodes.join(' or ')}`;
    const seen = observed.status === 'denied' ? `denied with ${observed.code ?? 'no code'}` : observed.status;
    const line = `${step.label}: expected ${expected}, ${o.effects.length} effect(s); observed ${seen}, ${effects} effect(s)`;
    this.trail.push(line);
    const { wrongDecision, wrongCode, wrongEffects } = mismatchOf(predicted, observed, effects);
    if (wrongDecision || wrongEffects) throw new ConformanceFailure(step.tag.invariants, step.tag.threat, line);
    // Denied as it must be, nothing executed, but with a code of a check that did not fail: safe,
    // so no invariant broke — a finding against the contract (section 10) of its own kind. It is
    // recorded and the run goes on: it must not hide a broken invariant further on.
    if (wrongCode) {
      this.contractFindings.push({ threat: step.tag.threat, message: `wrong denial code: ${line}` });
      this.trail.push(`contract finding (wrong denial code): ${step.label}`);
    }
    const missingId = missingRequestId(predicted, observed);
    if (missingId) {
      this.contractFindings.push({ threat: step.tag.threat, message: `answer without its request_id: ${step.label}: ${missingId}` });
      this.trail.push(`contract finding (answer without its request_id): ${step.label}`);
    }
  }

  /** One more checked step of this threat (for scenarios that judge a step themselves). */
  exercise(threat: Threat): void {
    this.exercised.set(threat, (this.exercised.get(threat) ?? 0) + 1);
  }

  /** The Gate must ask the Control Plane about the exact parameters: a lossy digest breaks the binding. */
  private checkBindingDigests(label: string): void {
    const mismatch = this.controlPlane.takeDigestMismatches()[0];
    if (mismatch) {
      const line = `${label}: the Gate asked the Control Plane with parameters_digest ${mismatch.sent}, but the parameters it sent digest to ${mismatch.actual}`;
      this.trail.push(line);
      throw new ConformanceFailure(['INV-2'], 'argument-swap', line);
    }
  }

  /** A healthy request that executes, as prior history for a scenario. Returns what it used. */
  private async priorExecution(fields: RequestFields, approvalId: string): Promise<void> {
    await this.gateScenario({
      label: 'prior history: a valid request',
      tag: { threat: 'happy-path', invariants: [] },
      answers: {},
      requestId: fields.request_id,
      nonce: fields.nonce,
      parameters: fields.parameters,
      ...(fields.identity ? { identity: fields.identity } : {}),
      approvalId,
    });
  }

  /** Drives one gate scenario and checks it. Returns false when it could not be tested here. */
  async gateScenario(step: GateStep): Promise<boolean> {
    const missing = this.missing(step.answers);
    if (missing) {
      this.notTested.set(step.label, missing);
      return false;
    }
    const identity = step.identity ?? 'alice';
    const fields: RequestFields = {
      request_id: step.requestId ?? this.unique('req'),
      action: ACTION,
      // `null` is parameters too (generated data sends it): only a step without any gets the default.
      parameters: step.parameters === undefined ? { to: 'bob', amount: 10, memo: { note: 'rent', tags: ['march', 'flat'] } } : step.parameters,
      nonce: step.nonce ?? this.nonce(),
      identity,
    };
    let approvalId = step.approvalId ?? this.unique('approval');
    if (step.prior === 'nonceClaimed') {
      await this.priorExecution({ ...fields, request_id: this.unique('req') }, this.unique('approval'));
    } else if (step.prior === 'approvalConsumed') {
      // Same request id under another nonce: the earlier envelope still binds it.
      await this.priorExecution({ ...fields, nonce: this.nonce() }, approvalId);
    } else {
      approvalId = step.approvalId ?? approvalId;
    }

    const now = step.timestampSec ?? this.nowSec();
    const request = concreteRequest(step.answers, fields, now, this.acceptanceWindowSec);
    const body =
      typeof request === 'string'
        ? step.malformed
          ? malformedBody(step.malformed, concreteRequest({}, fields, now, this.acceptanceWindowSec) as ClientRequest)
          : step.spell
            ? step.spell(concreteRequest({}, fields, now, this.acceptanceWindowSec) as ClientRequest)
            : utf8Encode(request)
        : step.spell
          ? step.spell(request)
          : canonicalBytes(request);
    const signedIdentity = typeof request === 'string' ? identity : request.identity;
    const modelRequest: ModelRequest = {
      requestId: fields.request_id,
      identity: signedIdentity,
      action: fields.action,
      nonce: typeof request === 'string' ? fields.nonce : request.nonce,
      approvalId,
    };
    const predicted = predictRequest(step.answers as never, this.memory, modelRequest);
    this.controlPlane.answer({ answers: step.answers, approvalId, ...(step.envelope ? { envelope: step.envelope } : {}), ...(step.controlPlaneForm ? { malformed: step.controlPlaneForm } : {}) });
    const before = this.effectCount();
    const faults = faultsFor(step.answers);
    let observed: Answer;
    const faultOptions: FaultOptions | undefined = step.confirmationForm ? { confirmation: step.confirmationForm } : undefined;
    if (step.faultsStayOn) {
      for (const f of faults) await this.driver.setFault(f, true, faultOptions);
      observed = await this.driver.submit(body);
    } else observed = await this.withFaults(faults, () => this.driver.submit(body), faultOptions);
    this.controlPlane.answer(undefined);
    // What the harness held back (a late allow, a delayed call) arrives now, after the answer.
    await deliverLateAnswers(this, { label: step.label, tag: step.tag, answers: step.answers, requestId: fields.request_id, ...(step.lateByMs !== undefined ? { lateByMs: step.lateByMs } : {}) }, observed);
    // Work queued during a partition would run now that it healed: count it against this step.
    if (faults.includes('execution-partition')) await new Promise((resolve) => setTimeout(resolve, 25));
    const effects = this.effectCount() - before;
    this.steps += 1;
    this.effectsSeen += effects;
    this.sent.push({ body, request: typeof request === 'string' ? undefined : request, answers: step.answers, approvalId, executed: observed.status === 'executed' });
    this.cover(predicted, 'gate');
    const judged = await this.judgeRequest(step, predicted, observed, () => this.effectCount() - before);
    this.memory = judged.outcome.memory;
    return true;
  }

  /** Sends an earlier request's exact bytes again, with every dependency healthy (an executed one when there is one). */
  async replay(index: number, tag: Tagged, respell?: (request: ClientRequest) => Uint8Array): Promise<void> {
    // Only requests a compliant system must still remember (the clock may have been moved past that).
    const remembered = this.sent.filter((s) => stillRemembered(s.request, this.recorder, this.acceptanceWindowSec));
    const executed = remembered.filter((s) => s.executed);
    const pool = executed.length > 0 ? executed : remembered;
    const earlier = pool[index % Math.max(1, pool.length)];
    if (!earlier) return;
    const requestAnswers: Answers = {};
    for (const q of ['requestShape', 'identityKey', 'signature', 'timestamp'] as Question[]) {
      if (earlier.answers[q] !== undefined) requestAnswers[q] = earlier.answers[q];
    }
    const approvalId = this.unique('approval');
    const r = earlier.request;
    const modelRequest: ModelRequest = {
      requestId: r?.request_id ?? 'unparsed',
      identity: r?.identity ?? 'unknown',
      action: r?.action ?? ACTION,
      nonce: r?.nonce ?? 'unparsed',
      approvalId,
    };
    const predicted = predictRequest(requestAnswers as never, this.memory, modelRequest);
    this.controlPlane.answer({ answers: requestAnswers, approvalId });
    const before = this.effectCount();
    // The same value in another spelling is the same request: the signature covers its canonical form.
    const body = respell && r ? respell(r) : earlier.body;
    const observed = await this.driver.submit(body);
    this.controlPlane.answer(undefined);
    const effects = this.effectCount() - before;
    this.steps += 1;
    this.effectsSeen += effects;
    this.cover(predicted, 'gate');
    const what = respell && r ? 're-spelt replay' : 'replay';
    const judged = await this.judgeRequest({ label: `${what} of earlier request ${r?.request_id ?? '(unparsed body)'}`, tag }, predicted, observed, () => this.effectCount() - before);
    this.memory = judged.outcome.memory;
  }

  /** n identical copies of one valid request, all at once: exactly one may execute. */
  async concurrentDuplicates(n: number, tag: Tagged, scheduler?: fc.Scheduler): Promise<void> {
    const fields: RequestFields = { request_id: this.unique('req'), action: ACTION, parameters: { to: 'carol', amount: 1 }, nonce: this.nonce() };
    const request = concreteRequest({}, fields, this.nowSec(), this.acceptanceWindowSec) as ClientRequest;
    const body = canonicalBytes(request);
    const approvalId = this.unique('approval');
    const first = predictRequest({}, this.memory, { requestId: request.request_id, identity: request.identity, action: ACTION, nonce: request.nonce, approvalId });
    const rest = predictRequest({}, first.outcome.memory, { requestId: request.request_id, identity: request.identity, action: ACTION, nonce: request.nonce, approvalId: `${approvalId}-dup` });
    // Each copy that reaches the Control Plane gets its own approval, so a racy nonce store shows
    // as a second execution rather than hiding behind single use of one approval.
    this.controlPlane.answer({ answers: {}, approvalId, approvalPerQuestion: true });
    const before = this.effectCount();
    this.controlPlane.scheduler = scheduler;
    let answers: Answer[];
    try {
      const all = Promise.all(Array.from({ length: n }, () => this.driver.submit(body)));
      answers = scheduler ? await scheduler.waitFor(all) : await all;
    } finally {
      this.controlPlane.scheduler = undefined;
      this.controlPlane.answer(undefined);
    }
    const effects = this.effectCount() - before;
    this.steps += n;
    this.effectsSeen += effects;
    this.cover(first, 'gate');
    this.cover(rest, 'gate');
    const executed = answers.filter((a) => a.status === 'executed').length;
    const replays = answers.filter((a) => a.status === 'denied' && rest.outcome.acceptableCodes.includes(a.code as never)).length;
    this.exercise(tag.threat);
    this.checkBindingDigests(`${n} concurrent copies`);
    this.modelPaths.push(modelPathOf(first), modelPathOf(rest));
    const line = `${n} concurrent copies of one valid request: expected 1 executed, ${n - 1} denied ${rest.outcome.acceptableCodes.join('/')}, 1 effect; observed ${executed} executed, ${replays} replay denials, ${effects} effect(s)`;
    this.trail.push(line);
    this.sent.push({ body, request, answers: {}, approvalId });
    this.explainGroupTimeout(`${n} concurrent copies`, first, answers, replays, effects);
    if (executed !== 1 || replays !== n - 1 || effects !== 1) throw new ConformanceFailure(tag.invariants, tag.threat, line);
    this.memory = first.outcome.memory;
  }

  /** Partition, send, heal — then wait a little: anything queued would execute now. */
  async partitionThenHeal(tag: Tagged): Promise<void> {
    if (this.missing({ executionLink: 'partitioned' })) {
      this.notTested.set('partition then heal', 'execution-partition');
      return;
    }
    const before = this.effectCount();
    await this.gateScenario({ label: 'request during a partition', tag, answers: { executionLink: 'partitioned' } });
    await new Promise((resolve) => setTimeout(resolve, 25));
    const late = this.effectCount() - before;
    this.exercise(tag.threat);
    const line = `after the partition healed: expected no effect, observed ${late}`;
    this.trail.push(line);
    if (late !== 0) throw new ConformanceFailure(tag.invariants, tag.threat, line);
  }

  /** Kills and restarts the system; false when it cannot be (then nothing happened). */
  async crashAndRestart(): Promise<boolean> {
    if (!this.driver.capabilities.has('crash-restart')) {
      this.notTested.set('crash and restart', 'crash-restart');
      return false;
    }
    await this.driver.crashAndRestart();
    this.memory = restart(this.memory);
    this.trail.push('crash and restart');
    return true;
  }

  /**
   * The audit log is down; a request is denied AUDIT_UNAVAILABLE and its final record can only
   * wait; the system crashes and restarts while the log is still down; then the log heals. The
   * waiting record was the answer's promise: it must be in the export (INV-5), however the system
   * kept it across the crash. The fault stays on across the restart (the driver re-asserts it).
   */
  async crashDuringAuditOutage(tag: Tagged): Promise<void> {
    const missing = this.missing({ auditStore: 'failing' }, ['crash-restart']);
    if (missing) {
      this.notTested.set('crash during an audit outage', missing);
      return;
    }
    try {
      await this.gateScenario({ label: 'request while the audit log is down', tag, answers: { auditStore: 'failing' }, faultsStayOn: true });
      await this.crashAndRestart();
    } finally {
      await this.driver.setFault('audit-down', false);
    }
    this.trail.push('the audit log is back: the waiting final record must be written');
  }

  /**
   * A valid request, honestly signed and approved on the harness's clock, while the system's clock
   * is off by `offsetSec`: what the system must decide follows from its own view of time.
   */
  async clockSkew(offsetSec: number, tag: Tagged): Promise<void> {
    if (!this.driver.capabilities.has('clock-offset')) {
      this.notTested.set('clock skew', 'clock-offset');
      return;
    }
    const w = this.acceptanceWindowSec;
    const window = envelopeWindow('current', 0);
    const systemView: Answers = {
      ...(offsetSec > w ? { timestamp: 'stale' } : offsetSec < -w ? { timestamp: 'future' } : {}),
      ...(offsetSec >= window.expires_at ? { envelopeWindow: 'expired' } : offsetSec < window.issued_at ? { envelopeWindow: 'notYetValid' } : {}),
    };
    const fields: RequestFields = { request_id: this.unique('req'), action: ACTION, parameters: { to: 'dave', amount: 3 }, nonce: this.nonce() };
    const request = concreteRequest({}, fields, this.nowSec(), w) as ClientRequest;
    const body = canonicalBytes(request);
    const approvalId = this.unique('approval');
    const modelRequest: ModelRequest = { requestId: request.request_id, identity: request.identity, action: ACTION, nonce: request.nonce, approvalId };
    const predicted = predictRequest(systemView as never, this.memory, modelRequest);
    this.controlPlane.answer({ answers: {}, approvalId });
    const before = this.effectCount();
    await this.driver.setClockOffset(offsetSec * 1000);
    let observed: Answer;
    try {
      observed = await this.driver.submit(body);
    } finally {
      await this.driver.setClockOffset(0);
      this.controlPlane.answer(undefined);
    }
    const effects = this.effectCount() - before;
    this.steps += 1;
    this.effectsSeen += effects;
    this.sent.push({ body, request, answers: {}, approvalId });
    this.cover(predicted, 'gate');
    const judged = await this.judgeRequest({ label: `valid request, system clock ${offsetSec >= 0 ? '+' : ''}${offsetSec}s`, tag }, predicted, observed, () => this.effectCount() - before);
    this.memory = judged.outcome.memory;
  }

  /** A call straight to the Execution Layer, with the envelope the answers describe. */
  async directCall(step: DirectStep): Promise<boolean> {
    const missing = this.missing({}, ['direct-execution']);
    if (missing) {
      this.notTested.set(step.label, missing);
      return false;
    }
    const parameters = { to: 'mallory', amount: 1000, memo: { note: 'bypass' } };
    const fields: RequestFields = { request_id: this.unique('direct'), action: ACTION, parameters, nonce: this.nonce() };
    let approvalId = this.unique('approval');
    if (step.prior === 'approvalConsumed') await this.priorExecution(fields, approvalId);
    else approvalId = this.unique('approval');
    const a = step.answers;
    let envelope: JsonValue | undefined;
    if (a.presentedEnvelope !== 'absent') {
      const key = a.envelopeSignature === 'untrusted' ? TEST_KEYS.untrusted : TEST_KEYS.controlPlane;
      envelope = signEnvelope(
        {
          approval_id: approvalId,
          request_id: fields.request_id,
          identity: 'alice',
          action: ACTION,
          parameters_digest: digestJson(parameters),
          ...envelopeWindow(a.envelopeWindow, this.nowSec(), step.edge),
          key_id: key.keyId,
        },
        key,
      ) as unknown as JsonValue;
    }
    const call: JsonValue = {
      ...(envelope ? { envelope } : {}),
      request_id: fields.request_id,
      identity: 'alice',
      action: ACTION,
      parameters: a.callBinding === 'mismatched' ? { ...parameters, amount: 999_999 } : parameters,
    };
    const predicted = predictDirectCall(a as never, this.memory, { approvalId, requestId: fields.request_id });
    const before = this.effectCount();
    const observed = await this.driver.callExecutionLayer(call);
    const effects = this.effectCount() - before;
    this.steps += 1;
    this.effectsSeen += effects;
    this.cover(predicted, 'executionLayer');
    this.check(step, predicted, observed, effects);
    this.memory = predicted.outcome.memory;
    return true;
  }
}

/** How long a call the Gate gave up on may take to land its effect before the next step. */
const LATE_EFFECT_WAIT_MS = 2000;

/** `effectsNow()`, waiting (bounded) until it reaches `expected`. */
export async function effectsSettled(effectsNow: () => number, expected: number): Promise<number> {
  const deadline = Date.now() + LATE_EFFECT_WAIT_MS;
  while (effectsNow() < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
  return effectsNow();
}

/** After a Control Plane timeout nothing may run; after an unconfirmed execution, at most its one effect. */
export function unprovokedTimeoutExplains(alternative: GateRun, observed: Answer, effects: number): boolean {
  const expected = alternative.outcome.effects.length;
  return observed.code === 'EXECUTION_UNCONFIRMED' ? effects === 0 || effects === expected : effects === expected;
}

/** How an answer differs from a prediction (an indeterminate answer is judged by its effects alone, as in Jepsen). */
function mismatchOf(predicted: GateRun | DirectCallRun, observed: Answer, effects: number): { wrongDecision: boolean; wrongCode: boolean; wrongEffects: boolean } {
  const o = predicted.outcome;
  return {
    wrongDecision: observed.status !== 'indeterminate' && observed.status !== o.decision,
    wrongCode: observed.status === 'denied' && o.decision === 'denied' && !o.acceptableCodes.includes(observed.code as never),
    wrongEffects: effects !== o.effects.length,
  };
}

/**
 * The model's runs had the dependency been slower than the Gate's deadline, when the answer is
 * that timeout and the step did not already provoke one: the Control Plane's answer replaced by
 * `timeout`; or the Execution Layer's answer late — after it ran (`executionOutcome.unconfirmed`),
 * or the call itself late, as when the Execution Layer's refusal of a used approval comes back too
 * late (`executionLink.delayed`); or, for a call the Execution Layer must refuse (a tampered link),
 * that refusal arriving late: nothing ran, the Gate cannot know. Only runs that deny with the
 * observed code, or that refused at the Execution Layer with no effect; empty when the answer is
 * no such timeout.
 */
export function unprovokedTimeoutRuns(answers: Answers, memory: SystemMemory, request: ModelRequest, observed: Answer): GateRun[] {
  if (observed.status !== 'denied') return [];
  const slower: Scenario[] = [];
  const runs: GateRun[] = [];
  // Only the dependencies the harness plays: the gate's own stores are part of the system under
  // test, and a store that fails on its own (a gate back from a restart with its store still
  // "down") is judged as always.
  if (observed.code === 'CONTROL_PLANE_TIMEOUT' && answers.controlPlane !== 'timeout' && answers.controlPlane !== 'lateAllow') {
    slower.push({ ...(answers as Scenario), controlPlane: 'timeout' });
  } else if (observed.code === 'EXECUTION_UNCONFIRMED') {
    if ((answers.executionLink ?? 'up') === 'up' && (answers.executionOutcome ?? 'confirmed') === 'confirmed') {
      slower.push({ ...(answers as Scenario), executionOutcome: 'unconfirmed' }, { ...(answers as Scenario), executionLink: 'delayed' });
    }
    const asIs = predictRequest(answers as Scenario, memory, request);
    const dispatched = asIs.steps.some((s) => s.question === 'executionLink' && (s.answer === 'up' || s.answer === 'tampered'));
    if (asIs.outcome.decision === 'denied' && asIs.outcome.effects.length === 0 && dispatched) runs.push(asIs);
  }
  for (const scenario of slower) {
    const run = predictRequest(scenario, memory, request);
    if (run.outcome.decision === 'denied' && run.outcome.acceptableCodes.includes(observed.code as never)) runs.unshift(run);
  }
  return runs;
}

/** unprovokedTimeoutRuns for the scenario, memory and request `predicted` was predicted from (none for a run predictRequest did not make). */
export function unprovokedTimeoutRunsOf(predicted: GateRun, observed: Answer): GateRun[] {
  const asked = predictionInput(predicted);
  return asked ? unprovokedTimeoutRuns(asked.scenario as Answers, asked.memory, asked.request, observed) : [];
}

/** The first of `runs` that explains what was observed (see unprovokedTimeoutExplains). */
export function explainingRun(runs: readonly GateRun[], observed: Answer, effects: number): GateRun | undefined {
  return runs.find((run) => unprovokedTimeoutExplains(run, observed, effects));
}

/**
 * CONTRACT.md section 3, *Answers*: an executed answer carries the request's `request_id`, and so
 * does a denial once the structure check has passed. Says what is wrong, or undefined.
 */
export function missingRequestId(predicted: GateRun | DirectCallRun, observed: Answer): string | undefined {
  const asked = predictionInput(predicted as GateRun);
  if (!asked || observed.status === 'indeterminate') return undefined;
  const expected = asked.request.requestId;
  const structurePassed = (predicted as GateRun).steps.some((s) => s.question === 'requestShape' && s.answer === 'wellFormed');
  if (observed.status === 'denied' && !structurePassed) return undefined;
  if (observed.request_id === expected) return undefined;
  return observed.request_id === undefined ? `expected "${expected}", the answer has none` : `expected "${expected}", the answer says "${observed.request_id}"`;
}
