/**
 * Differential test: the reference against the model, scenario by scenario. For every scenario
 * the model's exhaustive enumeration produces, a fresh in-process reference is driven into it
 * (the test plays the Control Plane, wraps the stores to inject faults, and cuts or delays the
 * execution link) and must reach the model's decision with one of its acceptable codes, leaving
 * exactly as many effects at the far side of the Execution Layer as the model says.
 */
import { describe, expect, it } from 'vitest';
import type { Answers } from '../model/concrete-scenario.ts';
import { answersOf, concreteEnvelope, concreteRequest, envelopeWindow } from '../model/concrete-scenario.ts';
import { TEST_KEYS, defaultHistoryKeys, trustedKey } from '../model/history-builder.ts';
import type { DirectCallScenarioRun, GateScenarioRun } from '../model/predict.ts';
import { enumerateDirectCallScenarios, enumerateGateScenarios } from '../model/predict.ts';
import type { JsonValue } from '../model/profile/canonical-json.ts';
import { canonicalBytes } from '../model/profile/canonical-json.ts';
import { utf8Encode } from '../model/profile/encoding.ts';
import type { ApprovalEnvelope, ClientRequest } from '../model/profile/messages.ts';
import { signEnvelope, signRequest } from '../model/profile/messages.ts';
import { digestJson } from '../model/profile/digest.ts';
import { FaultyAuditLog } from './audit/faulty-audit-log.ts';
import { MemoryAuditLog } from './audit/memory-audit-log.ts';
import { nowSec, systemClock } from './clock.ts';
import { MemoryEffectSink } from './execution-layer/effect-sink.ts';
import type { GateAnswer } from './gate/gate.ts';
import type { ControlPlaneLink, ExecutionLink } from './gate/links.ts';
import { LinkError } from './gate/links.ts';
import { createInProcessReference } from './in-process.ts';
import { FaultyClaimStore } from './stores/faulty-claim-store.ts';
import { MemoryClaimStore } from './stores/memory-claim-store.ts';

const WINDOW_SEC = 300;
const ACTION = 'payments.transfer';
const ALLOW_ALL = { rules: [{ identity: '*', action: '*', effect: 'allow' as const }] };

/** A fresh reference whose Control Plane answers and whose faults the test decides. */
function harnessedReference() {
  const clock = systemClock;
  const nonces = new FaultyClaimStore(new MemoryClaimStore(clock));
  const audit = new FaultyAuditLog(new MemoryAuditLog(clock));
  const sink = new MemoryEffectSink();
  let answerPolicy: (question: Parameters<ControlPlaneLink['ask']>[0], signal: AbortSignal) => Promise<Uint8Array | JsonValue> = async () => {
    throw new Error('no Control Plane answer scripted');
  };
  let executionFault: 'none' | 'partitioned' | 'tampered' | 'unconfirmed' | 'delayed' = 'none';
  /** a delayed call's delivery, which happens after the Gate gave up on it */
  let lateDelivery: Promise<unknown> = Promise.resolve();
  const controlPlaneLink: ControlPlaneLink = { ask: (question, signal) => answerPolicy(question, signal) };
  const reference = createInProcessReference({
    identityKeys: defaultHistoryKeys().identityKeys,
    controlPlaneKeys: [TEST_KEYS.controlPlane],
    trustedKeys: [trustedKey(TEST_KEYS.controlPlane)],
    policy: ALLOW_ALL,
    clock,
    nonces,
    audit,
    sink,
    controlPlaneLink,
    executionLink: {
      execute: async (call, signal) => {
        if (executionFault === 'partitioned') throw new LinkError('unreachable', 'partitioned');
        // A man in the middle rewrites one nested parameter on the way.
        const delivered = executionFault === 'tampered' ? { ...call, parameters: { ...(call.parameters as object), amount: 10_000 } } : call;
        if (executionFault === 'delayed') {
          // Held until the Gate's deadline passed, then delivered: it runs, and nobody hears of it.
          await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
          lateDelivery = reference.links.executionLayer.execute(delivered, new AbortController().signal).catch(() => undefined);
          throw new LinkError('timeout', 'no answer before the deadline');
        }
        const result = await reference.links.executionLayer.execute(delivered, signal);
        if (executionFault === 'unconfirmed') throw new LinkError('timeout', 'the answer was lost');
        return result;
      },
    } satisfies ExecutionLink,
    settings: { acceptanceWindowSec: WINDOW_SEC, controlPlaneDeadlineMs: 50, executionDeadlineMs: 500 },
  });
  return {
    reference,
    nonces,
    audit,
    sink,
    script(answer: typeof answerPolicy) {
      answerPolicy = answer;
    },
    cutExecution(fault: typeof executionFault) {
      executionFault = fault;
    },
    /** resolves once a delayed call was delivered (at once when there was none) */
    lateDelivered: () => lateDelivery,
  };
}

type Harnessed = ReturnType<typeof harnessedReference>;

/** The Control Plane's answer for a controlPlane answer of the model. */
function scriptedAnswer(a: Answers, request: ClientRequest, approvalId: string) {
  return async (_question: unknown, signal: AbortSignal): Promise<Uint8Array | JsonValue> => {
    switch (a.controlPlane ?? 'allow') {
      case 'allow':
      case 'forged':
        return { decision: 'allow', envelope: concreteEnvelope(a, request, approvalId, nowSec(systemClock)) as unknown as JsonValue };
      case 'deny':
        return { decision: 'deny', reason: 'policy' };
      case 'unreachable':
        throw new LinkError('unreachable', 'connection refused');
      case 'timeout':
      // The allow that would come late meets a Gate that hung up at its deadline.
      case 'lateAllow':
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        throw new LinkError('timeout', 'deadline passed');
      case 'malformed':
        return utf8Encode('<html>502 Bad Gateway</html>');
      case 'unsignedAllow':
        return { decision: 'allow' };
      default:
        throw new Error(`unscripted answer ${a.controlPlane}`);
    }
  };
}

const bodyOf = (request: ClientRequest | string) => (typeof request === 'string' ? utf8Encode(request) : canonicalBytes(request));

/** A healthy request that executes, to give the system a prior history. */
async function executeHealthy(h: Harnessed, request: ClientRequest, approvalId: string): Promise<GateAnswer> {
  h.script(scriptedAnswer({}, request, approvalId));
  const answer = await h.reference.gate.handle(bodyOf(request));
  expect(answer, 'the prior-history request must execute').toMatchObject({ status: 'executed' });
  return answer;
}

let counter = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${++counter}`;
const nonce = () => unique('nonce-differential').replace(/[^A-Za-z0-9_-]/g, '');

async function driveGateScenario(run: GateScenarioRun) {
  const a = answersOf(run);
  const h = harnessedReference();
  const fields = { request_id: unique('req'), action: ACTION, parameters: { to: 'bob', amount: 10, memo: { tags: ['a', 'b'] } }, nonce: nonce() };
  let approvalId = unique('approval');
  if (run.prior === 'nonceClaimed') {
    await executeHealthy(h, signRequest({ ...fields, request_id: unique('req'), identity: 'alice', timestamp: nowSec(systemClock), key_id: TEST_KEYS.alice.keyId }, TEST_KEYS.alice), unique('approval'));
  } else if (run.prior === 'approvalConsumed') {
    // Same request id under another nonce: the Control Plane's earlier envelope still binds it.
    const earlier = signRequest({ ...fields, nonce: nonce(), identity: 'alice', timestamp: nowSec(systemClock), key_id: TEST_KEYS.alice.keyId }, TEST_KEYS.alice);
    await executeHealthy(h, earlier, approvalId);
  } else {
    approvalId = unique('approval');
  }
  const effectsBefore = (h.sink as MemoryEffectSink).effects.length;

  const request = concreteRequest(a, fields, nowSec(systemClock), WINDOW_SEC);
  if (typeof request !== 'string') h.script(scriptedAnswer(a, request, approvalId));
  if (a.nonceStore === 'unavailable') h.nonces.mode = 'unavailable';
  if (a.nonceStore === 'writeUnconfirmed') h.nonces.mode = 'unconfirmed';
  if (a.auditStore === 'failing') h.audit.mode = 'failing';
  if (a.executionLink === 'partitioned') h.cutExecution('partitioned');
  if (a.executionLink === 'tampered') h.cutExecution('tampered');
  if (a.executionOutcome === 'unconfirmed') h.cutExecution('unconfirmed');
  if (a.executionLink === 'delayed') h.cutExecution('delayed');

  const answer = await h.reference.gate.handle(bodyOf(request));
  await h.lateDelivered();
  const effects = (h.sink as MemoryEffectSink).effects.length - effectsBefore;
  await h.reference.close();
  return { answer, effects };
}

async function driveDirectCall(run: DirectCallScenarioRun) {
  const a = answersOf(run);
  const h = harnessedReference();
  const now = nowSec(systemClock);
  const parameters = { to: 'mallory', amount: 1000 };
  const base: ClientRequest = signRequest(
    { request_id: unique('direct'), identity: 'alice', action: ACTION, parameters, timestamp: now, nonce: nonce(), key_id: TEST_KEYS.alice.keyId },
    TEST_KEYS.alice,
  );
  let approvalId = unique('approval');
  if (run.prior === 'approvalConsumed') await executeHealthy(h, base, approvalId);
  const effectsBefore = (h.sink as MemoryEffectSink).effects.length;
  let envelope: ApprovalEnvelope | undefined;
  if (a.presentedEnvelope !== 'absent') {
    const key = a.envelopeSignature === 'untrusted' ? TEST_KEYS.untrusted : TEST_KEYS.controlPlane;
    envelope = signEnvelope(
      {
        approval_id: approvalId,
        request_id: base.request_id,
        identity: base.identity,
        action: base.action,
        parameters_digest: digestJson(parameters),
        ...envelopeWindow(a.envelopeWindow, now),
        key_id: key.keyId,
      },
      key,
    );
  }
  const result = await h.reference.executionLayer.execute({
    ...(envelope ? { envelope } : {}),
    request_id: base.request_id,
    identity: base.identity,
    action: base.action,
    parameters: a.callBinding === 'mismatched' ? { ...parameters, amount: 999_999 } : parameters,
  });
  const effects = (h.sink as MemoryEffectSink).effects.length - effectsBefore;
  await h.reference.close();
  return { result, effects };
}

const label = (run: { prior: string; steps: { question: string; answer: string }[] }) =>
  `${run.prior === 'none' ? '' : `[${run.prior}] `}${run.steps.filter((s) => !s.answer.match(/^(wellFormed|active|valid|inWindow|available|allow|current|exact|up|confirmed|present|trusted)$/)).map((s) => `${s.question}.${s.answer}`).join(' ') || 'healthy'}`;

describe('the reference agrees with the model on every gate scenario', () => {
  const runs = enumerateGateScenarios();
  it.each(runs.map((run) => [label(run), run] as const))('%s', async (_label, run) => {
    const { answer, effects } = await driveGateScenario(run);
    expect(answer.status).toBe(run.terminal);
    if (run.terminal === 'denied') expect(run.outcome.acceptableCodes).toContain(answer.code);
    expect(effects).toBe(run.outcome.effects.length);
    expect(answer.trace_id).toMatch(/^trace-/);
  });
});

describe('the reference Execution Layer agrees with the model on every direct call', () => {
  const runs = enumerateDirectCallScenarios();
  it.each(runs.map((run) => [label(run), run] as const))('%s', async (_label, run) => {
    const { result, effects } = await driveDirectCall(run);
    expect(result.status).toBe(run.terminal);
    if (result.status === 'denied') expect(run.outcome.acceptableCodes).toContain(result.code);
    expect(effects).toBe(run.outcome.effects.length);
  });
});
