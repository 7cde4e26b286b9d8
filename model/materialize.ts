/**
 * From model runs to a concrete History: the signed requests, Control Plane exchanges, faults,
 * effects, responses and hash-chained audit records that a compliant system would produce in each
 * scenario. The model check feeds the result to the INV-1…INV-6 predicates, so the chart and the
 * predicates are checked against each other: a bug planted in either shows up.
 *
 * Each answer becomes the concrete condition a harness would create: `identityKey.revoked` signs
 * with a revoked key, `timestamp.stale` backdates past the window, `controlPlane.forged` signs the
 * envelope with an untrusted key, `executionLink.partitioned` opens a partition fault span, …
 */
import { answersOf, concreteEnvelope, concreteRequest, envelopeWindow } from './concrete-scenario.ts';
import type { FaultKind, FaultSpan, History } from './history.ts';
import type { JsonValue } from './profile/canonical-json.ts';
import type { ApprovalEnvelope, ClientRequest } from './profile/messages.ts';
import type { DirectCallScenarioRun, GateScenarioRun } from './predict.ts';
import type { SentRequest } from './history-builder.ts';
import { HistoryBuilder, TEST_KEYS } from './history-builder.ts';

const ACTION = 'payments.transfer';

const FAULT_OF: Partial<Record<string, FaultKind>> = {
  'nonceStore.unavailable': 'nonce-store-down',
  'nonceStore.writeUnconfirmed': 'nonce-store-unconfirmed',
  'controlPlane.unreachable': 'control-plane-down',
  'controlPlane.timeout': 'control-plane-slow',
  'controlPlane.malformed': 'control-plane-garbage',
  'auditStore.failing': 'audit-down',
  'executionLink.partitioned': 'execution-partition',
  'executionLink.tampered': 'execution-tamper',
  'executionLink.delayed': 'execution-delayed',
};

function materializeGateRun(b: HistoryBuilder, run: GateScenarioRun, index: number): void {
  const a = answersOf(run);
  const fields = { request_id: `req-${index}`, action: ACTION, parameters: { scenario: index, to: 'bob', amount: 10 }, nonce: b.freshNonce() };
  let approvalId = `approval-${index}`;

  // Prior history, made real: an earlier execution that claimed the nonce or consumed the approval.
  if (run.prior === 'nonceClaimed') {
    b.executeRequest(b.request({ ...fields, request_id: `req-${index}-earlier` }));
  } else if (run.prior === 'approvalConsumed') {
    // Same request id, another nonce: the Control Plane's earlier envelope still binds it.
    const earlier = b.executeRequest(b.request({ ...fields, nonce: b.freshNonce() }));
    approvalId = earlier.envelope.approval_id;
  }

  const faults: FaultSpan[] = run.steps
    .map((s) => FAULT_OF[`${s.question}.${s.answer}`])
    .filter((f): f is FaultKind => f !== undefined)
    .map((f) => b.fault(f));
  const traceId = b.traceId();
  const body = concreteRequest(a, fields, b.nowSec, b.config.acceptanceWindowSec);
  const sent: SentRequest = b.send(body);
  const request = typeof body === 'string' ? undefined : body;
  b.tick();

  let envelope: ApprovalEnvelope | undefined;
  // A late allow is recorded when the harness sends it: after the Gate answered.
  let lateAllow: ApprovalEnvelope | undefined;
  if (a.controlPlane !== undefined && request) {
    switch (a.controlPlane) {
      case 'lateAllow':
        lateAllow = concreteEnvelope(a, request, approvalId, b.nowSec);
        break;
      case 'allow':
      case 'forged':
        envelope = concreteEnvelope(a, request, approvalId, b.nowSec);
        b.policy(request, { kind: 'allow', envelope: envelope as unknown as JsonValue });
        break;
      case 'deny':
        b.policy(request, { kind: 'deny' });
        break;
      case 'unreachable':
        b.policy(request, { kind: 'no-answer', reason: 'outage' });
        break;
      case 'timeout':
        b.policy(request, { kind: 'no-answer', reason: 'timeout' });
        break;
      case 'malformed':
        b.policy(request, { kind: 'garbage', body: '<html>502 Bad Gateway</html>' });
        break;
      case 'unsignedAllow':
        b.policy(request, { kind: 'allow-unsigned' });
        break;
    }
    b.tick();
  }

  const outcome = run.outcome;
  // The Gate reports one of the acceptable codes; rotate so that each gets exercised.
  const code = outcome.acceptableCodes[index % Math.max(1, outcome.acceptableCodes.length)];
  // Audit before effect: the intent record, then whatever the Execution Layer really did.
  if (envelope && outcome.audit.some((r) => r.stage === 'intent')) {
    b.auditIntent(sent, envelope.approval_id, traceId);
    b.tick();
  }
  // The harness sees the one call the Gate makes once the intent is written (none through a partition).
  const dispatched = outcome.audit.some((r) => r.stage === 'intent') && a.executionLink !== 'partitioned';
  const late = a.executionLink === 'delayed';
  if (request && envelope && dispatched) b.executionCall(request, envelope, late ? 'late' : 'now');
  if (request && envelope && !late) for (const _effect of outcome.effects) b.effectOf(request, envelope);
  const final = outcome.audit.at(-1);
  if (final?.decision === 'allow' && envelope) b.auditOutcome(sent, envelope.approval_id, traceId, 'executed');
  if (final?.decision === 'deny' && code) {
    b.appendAudit({
      ...b.attribution(sent),
      decision: 'deny',
      stage: 'final',
      trace_id: traceId,
      code,
      ...(final.approvalId && envelope ? { approval_id: envelope.approval_id, outcome: final.outcome ?? 'failed' } : {}),
    });
  }
  if (run.terminal === 'executed') b.respond(sent, 'executed', { trace_id: traceId });
  else b.respond(sent, 'denied', { code: code ?? 'missing-code', trace_id: traceId });
  b.tick();
  // What arrives after the answer: a delayed call that runs now, an allow nobody waits for any more.
  if (request && envelope && late) for (const _effect of outcome.effects) b.effectOf(request, envelope);
  if (request && lateAllow) b.policy(request, { kind: 'allow', envelope: lateAllow as unknown as JsonValue });
  b.tick();
  for (const span of faults) b.heal(span);
  b.tick(1000);
}

function materializeDirectCall(b: HistoryBuilder, run: DirectCallScenarioRun, index: number): void {
  const a = answersOf(run);
  const parameters = { direct: index, to: 'mallory', amount: 1000 };
  // The envelope a bypassing caller holds: one consumed by an earlier execution, or one it made up.
  let base: ClientRequest;
  let approvalId: string | undefined;
  if (run.prior === 'approvalConsumed') {
    const earlier = b.executeRequest(b.request({ request_id: `direct-${index}-earlier`, action: ACTION, parameters }));
    base = earlier.request;
    approvalId = earlier.envelope.approval_id;
  } else {
    base = b.request({ request_id: `direct-${index}`, action: ACTION, parameters });
  }
  let envelope: ApprovalEnvelope | undefined;
  if (a.presentedEnvelope === 'present') {
    const window = a.envelopeWindow === undefined ? {} : envelopeWindow(a.envelopeWindow, b.nowSec);
    const key = a.envelopeSignature === 'untrusted' ? TEST_KEYS.untrusted : TEST_KEYS.controlPlane;
    envelope = b.envelopeFor(base, { ...(approvalId ? { approval_id: approvalId } : {}), ...window }, key);
  }
  const executed = run.outcome.decision === 'executed';
  const callParameters = a.callBinding === 'mismatched' ? { ...parameters, amount: 999_999 } : parameters;
  b.directCall({
    identity: base.identity,
    action: base.action,
    parameters: callParameters,
    ...(envelope ? { envelope: envelope as unknown as JsonValue } : {}),
    status: executed ? 'executed' : 'denied',
    ...(executed ? {} : { code: run.outcome.acceptableCodes[0] ?? 'missing-code' }),
  });
  b.tick();
  if (executed && envelope) b.effectOf(base, envelope, { request_id: base.request_id });
  b.tick(1000);
}

/**
 * One history holding every run, one after another, as a compliant system would record it.
 *
 * A direct call that *executes* (a valid, unused envelope) is the Execution Layer doing its job,
 * but no compliant system produces it on its own: the envelope must come from a Gate request,
 * which the gate runs already cover. Materializing it alone would make a history with an
 * unaudited effect, so those runs are left to the Execution Layer's own tests.
 */
export function materializeHistory(gateRuns: readonly GateScenarioRun[], directRuns: readonly DirectCallScenarioRun[] = []): History {
  const b = new HistoryBuilder();
  gateRuns.forEach((run, i) => materializeGateRun(b, run, i));
  directRuns.forEach((run, i) => {
    if (run.outcome.decision === 'denied') materializeDirectCall(b, run, i);
  });
  return b.build();
}
