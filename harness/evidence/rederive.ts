/**
 * Re-derives, from a recorded History and the public keys alone, what a compliant system had to
 * answer to every request and every direct call — and compares it with what was recorded.
 *
 * The evidence is turned into answers to the model's questions (model/questions.ts): the request
 * bytes answer requestShape, identityKey, signature and timestamp (readRequest, authenticateRequest);
 * the Control Plane exchange answers controlPlane, envelopeWindow and envelopeBinding (checkEnvelope);
 * the fault spans answer nonceStore, auditStore, executionLink and executionOutcome; earlier
 * requests and effects say which nonces and approvals were already spent. The statechart itself
 * then decides (there is no second decision function here). Where the evidence leaves an answer
 * open — a fault healed within the millisecond a request was sent, a clock read anywhere between
 * sending and answering — every answer it allows is explored, and the recorded outcome must match
 * one of them.
 */
import type { AnyStateMachine, MachineSnapshot } from 'xstate';
import type { DirectCallOutcome } from '../../model/execution-layer-machine.ts';
import { executionLayerMachine } from '../../model/execution-layer-machine.ts';
import type { GateOutcome } from '../../model/gate-machine.ts';
import { gateMachine } from '../../model/gate-machine.ts';
import type { DirectCall, Effect, FaultKind, GateResponse, History, Millis } from '../../model/history.ts';
import type { EffectInfo, ExchangeInfo, HistoryIndex, RequestOp } from '../../model/invariants/history-index.ts';
import { buildHistoryIndex, digestJsonOrUndefined, envelopeTrust, isPrePolicyDenial, toUnixSeconds } from '../../model/invariants/history-index.ts';
import type { DenialCode } from '../../model/profile/denial-codes.ts';
import { isDenialCode } from '../../model/profile/denial-codes.ts';
import type { ApprovalEnvelope, ClientRequest } from '../../model/profile/messages.ts';
import { authenticateRequest } from '../../model/profile/request-checks.ts';
import type { Question } from '../../model/questions.ts';
import { QUESTIONS, answerEvent } from '../../model/questions.ts';
import { askedQuestions, initialSnapshot, nextSnapshot } from '../../model/simulate.ts';
import type { ModelRequest, SystemMemory } from '../../model/system-memory.ts';
import { nonceKeyOf } from '../../model/system-memory.ts';

/** One outcome the model allows, given the evidence. */
export type ExpectedOutcome =
  | { decision: 'executed' | 'denied'; codes: DenialCode[]; effects: number }
  /** the chart asks a question the evidence cannot answer (e.g. the Control Plane was never asked) */
  | { decision: 'unanswered'; question: Question }
  /** a request in flight when the gate crashed, never answered: it may have executed, or not */
  | { decision: 'lost in a crash' };

export interface RecordedOutcome {
  status: GateResponse['status'] | 'no answer';
  code: string | undefined;
  effects: number;
}

export interface Rederived {
  kind: 'request' | 'direct-call';
  op: number;
  eventIndex: number;
  /** the answers the evidence gives to each question the chart may ask */
  answers: Partial<Record<Question, string[]>>;
  expected: ExpectedOutcome[];
  recorded: RecordedOutcome;
  ok: boolean;
  /** "expected …; recorded …" */
  message: string;
}

export interface Rederivation {
  requests: Rederived[];
  directCalls: Rederived[];
  /** effects that no request and no direct call explains */
  unexplainedEffects: EffectInfo[];
  attribution: EffectAttribution;
}

export interface EffectAttribution {
  /** effects per request op */
  ofOp: Map<number, EffectInfo[]>;
  /** effects per direct call (by its op) */
  ofCall: Map<number, EffectInfo[]>;
  unexplained: EffectInfo[];
}

type AnySnapshot = MachineSnapshot<any, any, any, any, any, any, any, any>;

/** The charts have no cycles: a path longer than this, or more leaves than this, is a bug. */
const MAX_STEPS = 64;
const MAX_LEAVES = 4096;

/**
 * Every run of `machine` whose answers the evidence allows. A question asked with no allowed
 * answer ends that run as `unanswered`.
 */
export function exploreAllowed<Outcome>(
  machine: AnyStateMachine,
  input: unknown,
  allowed: (question: Question) => readonly string[],
): ({ kind: 'done'; outcome: Outcome } | { kind: 'unanswered'; question: Question })[] {
  const leaves: ({ kind: 'done'; outcome: Outcome } | { kind: 'unanswered'; question: Question })[] = [];
  const initial = initialSnapshot(machine, input);
  const explore = (snapshot: AnySnapshot, depth: number): void => {
    if (leaves.length >= MAX_LEAVES) throw new Error('re-derivation: too many model runs for one request');
    if (snapshot.status === 'done') {
      leaves.push({ kind: 'done', outcome: snapshot.output as Outcome });
      return;
    }
    const [first] = askedQuestions(snapshot);
    if (!first || depth >= MAX_STEPS) throw new Error(`re-derivation: the chart is stuck in ${JSON.stringify(snapshot.value)}`);
    const answers = allowed(first.question).filter((a) => (QUESTIONS[first.question] as readonly string[]).includes(a));
    if (answers.length === 0) {
      leaves.push({ kind: 'unanswered', question: first.question });
      return;
    }
    for (const answer of answers) {
      explore(nextSnapshot(machine, snapshot, answerEvent(first.question, answer as never)), depth + 1);
    }
  };
  explore(initial, 0);
  return leaves;
}

// ---------------------------------------------------------------- attribution of effects

const SLOT_BOUNDARIES: ReadonlySet<string> = new Set(['request', 'response', 'direct-call']);

function envelopeApprovalId(call: DirectCall): string | undefined {
  const envelope = call.envelope;
  if (typeof envelope !== 'object' || envelope === null || Array.isArray(envelope)) return undefined;
  return typeof envelope.approval_id === 'string' ? envelope.approval_id : undefined;
}

/**
 * Which request or direct call each effect belongs to. A direct call is recorded once it has been
 * answered, so its effect comes just before it: an effect that names the call's approval or
 * request id, with no request, answer or other call in between, is the call's. Every other effect
 * is attributed as the invariant predicates attribute it (history-index.ts).
 */
export function attributeEffects(index: HistoryIndex): EffectAttribution {
  const { events } = index.history;
  const attribution: EffectAttribution = { ofOp: new Map(), ofCall: new Map(), unexplained: [] };
  const push = <K>(map: Map<K, EffectInfo[]>, key: K, effect: EffectInfo) => map.set(key, [...(map.get(key) ?? []), effect]);
  for (const effect of index.effects) {
    let call: DirectCall | undefined;
    for (let i = effect.eventIndex + 1; i < events.length; i++) {
      const event = events[i]!;
      if (!SLOT_BOUNDARIES.has(event.kind)) continue;
      if (event.kind === 'direct-call') {
        const approvalId = envelopeApprovalId(event);
        const names =
          (effect.event.approval_id !== undefined && effect.event.approval_id === approvalId) ||
          (effect.event.request_id !== undefined && effect.event.request_id === event.request_id);
        if (names) call = event;
      }
      break;
    }
    if (call) push(attribution.ofCall, call.op, effect);
    else if (effect.op) push(attribution.ofOp, effect.op.op, effect);
    else attribution.unexplained.push(effect);
  }
  return attribution;
}

// ---------------------------------------------------------------- evidence → answers

const FAULT_ANSWERS: Partial<Record<FaultKind, { question: Question; answer: string }>> = {
  'nonce-store-down': { question: 'nonceStore', answer: 'unavailable' },
  'nonce-store-unconfirmed': { question: 'nonceStore', answer: 'writeUnconfirmed' },
  'audit-down': { question: 'auditStore', answer: 'failing' },
  'execution-partition': { question: 'executionLink', answer: 'partitioned' },
  'execution-tamper': { question: 'executionLink', answer: 'tampered' },
  'execution-unconfirmed': { question: 'executionOutcome', answer: 'unconfirmed' },
  'execution-delayed': { question: 'executionLink', answer: 'delayed' },
};

/** Control Plane faults, for a Gate that could not even reach the Control Plane to be recorded. */
const CONTROL_PLANE_FAULT_ANSWERS: Partial<Record<FaultKind, string>> = {
  'control-plane-down': 'unreachable',
  'control-plane-slow': 'timeout',
  'control-plane-garbage': 'malformed',
};

interface Interval {
  start: Millis;
  end: Millis;
  /** the event indexes of the request and of the answer that closed it, when known: order beats milliseconds */
  startIndex?: number;
  endIndex?: number;
}

/** A span covers the interval, or only touches part of it (then both answers are possible). */
function overlap(span: { at: Millis; until: Millis | null; untilIndex?: number }, interval: Interval, spanIndex: number): 'covers' | 'partial' | 'none' {
  const { startIndex, endIndex } = interval;
  if (startIndex !== undefined && endIndex !== undefined && (span.until === null || span.untilIndex !== undefined)) {
    // Events are recorded in order: the span began before, between or after, and healed likewise.
    if (spanIndex > endIndex) return 'none';
    const healedAt = span.until === null ? Number.POSITIVE_INFINITY : span.untilIndex!;
    if (healedAt <= startIndex) return 'none';
    return spanIndex < startIndex && healedAt > endIndex ? 'covers' : 'partial';
  }
  // The start is an event: recorded after the answer, it began after it, whatever the milliseconds say.
  if (endIndex !== undefined && spanIndex > endIndex) return 'none';
  const until = span.until ?? Number.POSITIVE_INFINITY;
  // A heal is known by its time alone: one in the very millisecond the interval ends cannot be
  // ordered against it, so the span only partly covers it (both answers are possible). A start is
  // recorded as an event before the requests it affects, so it may share their millisecond.
  if (span.at <= interval.start && until > interval.end) return 'covers';
  if (span.at <= interval.end && until >= interval.start) return 'partial';
  return 'none';
}

/** Answers the fault spans give over the interval, per question (the healthy answer when none). */
function faultAnswers(index: HistoryIndex, interval: Interval): Partial<Record<Question, Set<string>>> {
  const answers: Partial<Record<Question, Set<string>>> = {};
  const covered = new Set<Question>();
  for (const { event, eventIndex } of index.faults) {
    const mapped = FAULT_ANSWERS[event.fault];
    if (!mapped) continue;
    const how = overlap(event, interval, eventIndex);
    if (how === 'none') continue;
    const set = (answers[mapped.question] ??= new Set());
    set.add(mapped.answer);
    if (how === 'partial') set.add(QUESTIONS[mapped.question][0]);
    else covered.add(mapped.question);
  }
  // A question some span covers entirely cannot also have been answered healthily.
  for (const question of covered) {
    const set = answers[question]!;
    if (set.size > 1) set.delete(QUESTIONS[question][0]);
  }
  return answers;
}

const OFFSET_DETAIL = /^(-?\d+(?:\.\d+)?) ms$/;

/**
 * The system's clock readings possible over the interval (harness time plus any clock offset the
 * harness applied); undefined when an offset was applied that the evidence does not quantify.
 */
function systemInstants(index: HistoryIndex, interval: Interval): Millis[] | undefined {
  const offsets = new Set<number>();
  let covered = false;
  for (const { event, eventIndex } of index.faults) {
    if (event.fault !== 'clock-offset') continue;
    const how = overlap(event, interval, eventIndex);
    if (how === 'none') continue;
    const parsed = OFFSET_DETAIL.exec(event.detail ?? '');
    if (!parsed) return undefined;
    offsets.add(Number(parsed[1]));
    if (how === 'covers') covered = true;
  }
  if (!covered) offsets.add(0);
  return [...offsets].flatMap((offset) => [interval.start + offset, interval.end + offset]);
}

function windowAnswers(envelope: Pick<ApprovalEnvelope, 'issued_at' | 'expires_at'>, instants: Millis[] | undefined): string[] {
  if (!instants) return [...QUESTIONS.envelopeWindow];
  const answers = new Set<string>();
  for (const at of instants) {
    const nowSec = toUnixSeconds(at);
    const expired = nowSec >= envelope.expires_at;
    const early = nowSec < envelope.issued_at;
    if (expired) answers.add('expired');
    if (early) answers.add('notYetValid');
    if (!expired && !early) answers.add('current');
  }
  return [...answers];
}

function authenticationAnswers(
  request: ClientRequest,
  history: History,
  instants: Millis[] | undefined,
): Pick<Record<Question, string[]>, 'identityKey' | 'signature' | 'timestamp'> {
  // Key and signature do not depend on the time; only freshness does.
  const base = authenticateRequest(request, history.keys.identityKeys, 0, Number.MAX_SAFE_INTEGER);
  const identityKey = base.includes('KEY_UNKNOWN') ? 'unknown' : base.includes('KEY_REVOKED') ? 'revoked' : 'active';
  const signature = base.includes('SIGNATURE_INVALID') ? 'invalid' : 'valid';
  const timestamp = new Set<string>();
  if (!instants) QUESTIONS.timestamp.forEach((a) => timestamp.add(a));
  for (const at of instants ?? []) {
    // With no keys, only the freshness codes depend on the registry-free part: no signature is re-verified.
    const codes = authenticateRequest(request, [], toUnixSeconds(at), history.config.acceptanceWindowSec);
    timestamp.add(codes.includes('TIMESTAMP_STALE') ? 'stale' : codes.includes('TIMESTAMP_FUTURE') ? 'future' : 'inWindow');
  }
  return { identityKey: [identityKey], signature: [signature], timestamp: [...timestamp] };
}

/** The request got past the replay stage: it claimed its nonce (or the claim may have landed). */
function claimedItsNonce(op: RequestOp, attribution: EffectAttribution): boolean {
  if (op.exchanges.length > 0 || (attribution.ofOp.get(op.op)?.length ?? 0) > 0) return true;
  const response = op.response?.event;
  if (!response) return false;
  if (response.status === 'executed') return true;
  const code = response.code;
  return response.status === 'denied' && isDenialCode(code) && (code === 'NONCE_WRITE_UNCONFIRMED' || !isPrePolicyDenial(code));
}

/**
 * Whether another request with the same (identity, action, nonce) had claimed it before this one
 * could: sent before this one was answered, inside the replay window, and past its replay stage.
 * Concurrent duplicates see each other, so at most one of them may go on.
 */
function nonceClaimedBefore(op: RequestOp, index: HistoryIndex, attribution: EffectAttribution): boolean | 'maybe' {
  if (op.nonceKey === undefined) return false;
  const answeredAt = op.response?.eventIndex ?? Number.POSITIVE_INFINITY;
  const windowMs = index.history.config.replayWindowSec * 1000;
  const earlier = (index.opsByNonceKey.get(op.nonceKey) ?? []).filter(
    (other) => other !== op && other.eventIndex < answeredAt && Math.abs(op.event.at - other.event.at) < windowMs,
  );
  if (earlier.some((other) => claimedItsNonce(other, attribution))) return true;
  // A request never answered (lost in a crash, or no answer in time) may have claimed it, or not.
  const unanswered = (other: RequestOp) => other.response === undefined || other.response.event.status === 'indeterminate';
  return earlier.some((other) => unanswered(other) && other.parsed.ok) ? 'maybe' : false;
}

/** An approval already spent by an effect that is not this request's (or call's) own. */
function approvalConsumedBefore(approvalId: string | undefined, before: number, own: readonly EffectInfo[], index: HistoryIndex): boolean {
  if (approvalId === undefined) return false;
  return (index.effectsByApprovalId.get(approvalId) ?? []).some((e) => e.eventIndex < before && !own.includes(e));
}

function controlPlaneAnswers(exchange: ExchangeInfo): string[] {
  const { answer } = exchange.event;
  switch (answer.kind) {
    case 'allow':
      if (exchange.trust.kind === 'trusted') return ['allow'];
      // A malformed envelope may be read as a malformed answer as well as a forged approval.
      return exchange.trust.kind === 'malformed' || exchange.trust.kind === 'absent' ? ['forged', 'malformed'] : ['forged'];
    case 'allow-unsigned':
      return ['unsignedAllow'];
    case 'deny':
      return ['deny'];
    case 'garbage':
      return ['malformed'];
    case 'no-answer':
      return [answer.reason === 'timeout' ? 'timeout' : 'unreachable'];
  }
}

// ---------------------------------------------------------------- prediction

/** Placeholder ids: the charts' decisions depend on the answers and on two memory facts only. */
const PLACEHOLDER: ModelRequest = { requestId: 'request', identity: 'identity', action: 'action', nonce: 'nonce', approvalId: 'approval' };
const MAX_CACHED = 10_000;
const predictionCache = new Map<string, ExpectedOutcome[]>();

/**
 * The outcomes the chart allows for these answers, given whether the request's nonce was already
 * claimed and its approval already consumed. Memoized: a run repeats few distinct situations.
 */
function expectedOutcomes(
  chart: 'gate' | 'executionLayer',
  answers: Partial<Record<Question, string[]>>,
  nonceClaimed: boolean,
  approvalConsumed: boolean,
): ExpectedOutcome[] {
  const key = JSON.stringify([chart, nonceClaimed, approvalConsumed, Object.entries(answers).sort(([a], [b]) => (a < b ? -1 : 1))]);
  const cached = predictionCache.get(key);
  if (cached) return cached;
  const memory: SystemMemory = {
    claimedNonces: nonceClaimed ? [nonceKeyOf(PLACEHOLDER)] : [],
    consumedApprovals: approvalConsumed ? [PLACEHOLDER.approvalId] : [],
  };
  const allowed = (q: Question) => answers[q] ?? [QUESTIONS[q][0]];
  const leaves =
    chart === 'gate'
      ? exploreAllowed<GateOutcome>(gateMachine, { request: PLACEHOLDER, memory }, allowed)
      : exploreAllowed<DirectCallOutcome>(executionLayerMachine, { approvalId: PLACEHOLDER.approvalId, requestId: PLACEHOLDER.requestId, memory }, allowed);
  const seen = new Map<string, ExpectedOutcome>();
  for (const leaf of leaves) {
    const outcome: ExpectedOutcome =
      leaf.kind === 'unanswered'
        ? { decision: 'unanswered', question: leaf.question }
        : { decision: leaf.outcome.decision, codes: [...leaf.outcome.acceptableCodes].sort(), effects: leaf.outcome.effects.length };
    seen.set(JSON.stringify(outcome), outcome);
  }
  const outcomes = [...seen.values()];
  if (predictionCache.size >= MAX_CACHED) predictionCache.clear();
  predictionCache.set(key, outcomes);
  return outcomes;
}

// ---------------------------------------------------------------- comparison

function matches(expected: ExpectedOutcome, recorded: RecordedOutcome): boolean {
  if (expected.decision === 'lost in a crash') return (recorded.status === 'indeterminate' || recorded.status === 'no answer') && recorded.effects <= 1;
  if (expected.decision === 'unanswered') {
    // Nothing can have executed for it; an answer other than "none came" is a wrong answer.
    return (recorded.status === 'indeterminate' || recorded.status === 'no answer') && recorded.effects === 0;
  }
  if (expected.effects !== recorded.effects) return false;
  switch (recorded.status) {
    case 'executed':
      return expected.decision === 'executed';
    case 'denied':
      return expected.decision === 'denied' && expected.codes.includes(recorded.code as DenialCode);
    default:
      return true;
  }
}

const QUESTION_PHRASES: Partial<Record<Question, string>> = {
  controlPlane: 'the Gate to ask the Control Plane (every check before policy passes), which it never did',
};

export function describeExpected(expected: readonly ExpectedOutcome[]): string {
  return expected
    .map((e) => {
      if (e.decision === 'unanswered') return QUESTION_PHRASES[e.question] ?? `an answer to "${e.question}" that the evidence does not give`;
      if (e.decision === 'lost in a crash') return 'no answer (lost in a crash), with at most one effect';
      const effects = e.effects === 0 ? 'no effect' : e.effects === 1 ? '1 effect' : `${e.effects} effects`;
      return e.decision === 'executed' ? `executed (${effects})` : `denied with ${e.codes.join(' or ')} (${effects})`;
    })
    .join('; or ');
}

function describeRecorded(recorded: RecordedOutcome): string {
  const effects = recorded.effects === 0 ? 'no effect' : recorded.effects === 1 ? '1 effect' : `${recorded.effects} effects`;
  const status = recorded.status === 'denied' ? `denied with ${recorded.code ?? 'no code'}` : recorded.status;
  return `${status} (${effects})`;
}

function verdictOf(
  kind: Rederived['kind'],
  op: number,
  eventIndex: number,
  answers: Partial<Record<Question, string[]>>,
  expected: ExpectedOutcome[],
  recorded: RecordedOutcome,
): Rederived {
  const ok = expected.some((e) => matches(e, recorded));
  return { kind, op, eventIndex, answers, expected, recorded, ok, message: `expected ${describeExpected(expected)}; recorded ${describeRecorded(recorded)}` };
}

// ---------------------------------------------------------------- requests and direct calls

function rederiveRequest(op: RequestOp, index: HistoryIndex, attribution: EffectAttribution): Rederived {
  const { history } = index;
  const own = attribution.ofOp.get(op.op) ?? [];
  const response = op.response?.event;
  const recorded: RecordedOutcome = { status: response?.status ?? 'no answer', code: response?.code, effects: own.length };
  const lastAt = history.events.at(-1)?.at ?? op.event.at;
  const interval: Interval = { start: op.event.at, end: response?.at ?? lastAt, startIndex: op.eventIndex, ...(op.response ? { endIndex: op.response.eventIndex } : {}) };
  const instants = systemInstants(index, interval);
  const answers: Partial<Record<Question, string[]>> = {};

  if (!op.bytes) {
    return verdictOf('request', op.op, op.eventIndex, answers, [{ decision: 'unanswered', question: 'requestShape' }], recorded);
  }
  answers.requestShape = [op.parsed.ok ? 'wellFormed' : op.parsed.code === 'NONCE_MALFORMED' ? 'nonceMalformed' : 'malformed'];
  let approvalId: string | undefined;
  let nonceClaimed: boolean | 'maybe' = false;
  let approvalConsumed = false;

  if (op.parsed.ok) {
    const request = op.parsed.request;
    Object.assign(answers, authenticationAnswers(request, history, instants));
    for (const [question, set] of Object.entries(faultAnswers(index, interval))) answers[question as Question] = [...set];

    // The decision rests on the last exchange before the answer (a Gate may retry a silent one).
    const before = response ? op.exchanges.filter((e) => e.eventIndex < op.response!.eventIndex) : op.exchanges;
    const exchange = before.at(-1) ?? op.exchanges.at(-1);
    if (exchange) {
      answers.controlPlane = controlPlaneAnswers(exchange);
      // Recorded only after the Gate answered: a trusted allow that came too late to count.
      if (response && exchange.eventIndex > op.response!.eventIndex && exchange.trust.kind === 'trusted') answers.controlPlane = ['lateAllow'];
      approvalId = exchange.claimedApprovalId;
      if (exchange.trust.kind === 'trusted') {
        const envelope = exchange.trust.envelope;
        answers.envelopeWindow = windowAnswers(envelope, instants);
        const exact =
          envelope.request_id === request.request_id &&
          envelope.identity === request.identity &&
          envelope.action === request.action &&
          op.claimedParametersDigest !== undefined &&
          op.claimedParametersDigest === envelope.parameters_digest;
        // Every "other…" answer leads to the same code; one stands for all.
        answers.envelopeBinding = [exact ? 'exact' : 'otherRequest'];
      }
    } else {
      const faulted = index.faults
        .filter((f) => CONTROL_PLANE_FAULT_ANSWERS[f.event.fault] !== undefined && overlap(f.event, interval, f.eventIndex) !== 'none')
        .map((f) => CONTROL_PLANE_FAULT_ANSWERS[f.event.fault]!);
      answers.controlPlane = [...new Set(faulted)];
    }
    nonceClaimed = nonceClaimedBefore(op, index, attribution);
    approvalConsumed = approvalConsumedBefore(approvalId, op.response?.eventIndex ?? Number.POSITIVE_INFINITY, own, index);
  }

  const expected: ExpectedOutcome[] =
    nonceClaimed === 'maybe'
      ? [...expectedOutcomes('gate', answers, true, approvalConsumed), ...expectedOutcomes('gate', answers, false, approvalConsumed)]
      : [...expectedOutcomes('gate', answers, nonceClaimed, approvalConsumed)];
  // In flight when the gate crashed and never answered (CONTRACT.md section 9.1): however far it got.
  const crashed = index.faults.some((f) => f.event.fault === 'crash' && overlap(f.event, interval, f.eventIndex) !== 'none');
  if (crashed && (recorded.status === 'indeterminate' || recorded.status === 'no answer')) expected.push({ decision: 'lost in a crash' });
  const verdict = verdictOf('request', op.op, op.eventIndex, answers, expected, recorded);
  // What executed must be what was approved: the model's effect carries the envelope's approval.
  const executedUnder = own.map((e) => e.event.approval_id);
  if (verdict.ok && recorded.effects > 0 && executedUnder.some((a) => a === undefined || a !== approvalId)) {
    const under = executedUnder.map((a) => a ?? 'no approval').join(', ');
    return { ...verdict, ok: false, message: `${verdict.message}, but it executed under ${under}, not the approval ${approvalId ?? '(none)'} the Control Plane gave` };
  }
  return verdict;
}

function rederiveDirectCall(eventIndex: number, call: DirectCall, index: HistoryIndex, attribution: EffectAttribution): Rederived {
  const { history } = index;
  const own = attribution.ofCall.get(call.op) ?? [];
  const recorded: RecordedOutcome = { status: call.status, code: call.code, effects: own.length };
  // The call was recorded once answered: it was made after the event before it. Order beats
  // milliseconds: a fault recorded after the call began after it, even in the same millisecond.
  const previousAt = history.events[eventIndex - 1]?.at ?? call.at;
  const instants = systemInstants(index, { start: previousAt, end: call.at, startIndex: eventIndex - 1, endIndex: eventIndex });
  const answers: Partial<Record<Question, string[]>> = {};
  if (call.notACall !== undefined) {
    // Not a call (CONTRACT.md section 5): REQUEST_MALFORMED, nothing runs; an object with an
    // envelope also fails the binding that a missing field breaks.
    const codes: DenialCode[] = call.notACall === 'not an object' ? ['REQUEST_MALFORMED'] : ['REQUEST_MALFORMED', 'ENVELOPE_BINDING_MISMATCH'];
    return verdictOf('direct-call', call.op, eventIndex, answers, [{ decision: 'denied', codes, effects: 0 }], recorded);
  }
  const trust = envelopeTrust(call.envelope, history.keys.controlPlaneKeys);
  answers.presentedEnvelope = [call.envelope === undefined ? 'absent' : 'present'];
  answers.envelopeSignature = [trust.kind === 'trusted' ? 'trusted' : 'untrusted'];
  let approvalId: string | undefined;
  if ('envelope' in trust) {
    const envelope = trust.envelope;
    approvalId = envelope.approval_id;
    answers.envelopeWindow = windowAnswers(envelope, instants);
    const exact =
      envelope.identity === call.identity && envelope.action === call.action && digestJsonOrUndefined(call.parameters) === envelope.parameters_digest;
    answers.callBinding = [exact ? 'exact' : 'mismatched'];
  } else {
    // An unreadable envelope has no window or binding to read: the chart may ask, anything goes.
    answers.envelopeWindow = [...QUESTIONS.envelopeWindow];
    answers.callBinding = [...QUESTIONS.callBinding];
  }
  const consumed = approvalConsumedBefore(approvalId, eventIndex, own, index);
  return verdictOf('direct-call', call.op, eventIndex, answers, expectedOutcomes('executionLayer', answers, false, consumed), recorded);
}

export function rederive(history: History, index: HistoryIndex = buildHistoryIndex(history)): Rederivation {
  const attribution = attributeEffects(index);
  const requests = index.ops.map((op) => rederiveRequest(op, index, attribution));
  const directCalls = index.directCalls.map((call) => rederiveDirectCall(call.eventIndex, call.event, index, attribution));
  return { requests, directCalls, unexplainedEffects: attribution.unexplained, attribution };
}

/** The effects of one request or call, as recorded (for evidence files). */
export function effectEvents(effects: readonly EffectInfo[]): Effect[] {
  return effects.map((e) => e.event);
}
