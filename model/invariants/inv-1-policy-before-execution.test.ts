import { describe, expect, it } from 'vitest';
import type { PolicyAnswer } from '../history.ts';
import type { JsonValue } from '../profile/canonical-json.ts';
import type { ApprovalEnvelope, ClientRequest } from '../profile/messages.ts';
import { HistoryBuilder, TEST_KEYS, addCompliantTraffic } from '../history-builder.ts';
import { checkInv1 } from './inv-1-policy-before-execution.ts';
import { checkInvariants } from './index.ts';
import { expectCaught, expectHolds } from './verdict-expectations.ts';

const asJson = (envelope: ApprovalEnvelope): JsonValue => envelope as unknown as JsonValue;

function compliant(): HistoryBuilder {
  const b = new HistoryBuilder();
  addCompliantTraffic(b);
  return b;
}

/** The Gate got `answer` for a fresh request and executed it anyway, under `approvalId`. */
function executedAfter(answer: (b: HistoryBuilder, request: ClientRequest) => PolicyAnswer, approvalId = 'appr-none') {
  const b = compliant();
  const request = b.request({ parameters: { to: 'zoe', amount: 7 } });
  const sent = b.send(request);
  b.tick();
  const policyIndex = b.policy(request, answer(b, request));
  b.tick();
  const effectIndex = b.effect({ approval_id: approvalId, request_id: request.request_id, identity: 'alice', action: request.action, parameters: request.parameters });
  return { history: b.build(), sent, policyIndex, effectIndex };
}

describe('INV-1 policy and approval before execution', () => {
  it('accepts the compliant traffic, where all six invariants hold', () => {
    const history = compliant().build();
    expectHolds(checkInv1(history));
    for (const verdict of checkInvariants(history)) expectHolds(verdict);
  });

  it('accepts an effect after a timeout followed by a trusted allow on retry', () => {
    const b = compliant();
    const request = b.request();
    b.send(request);
    b.policy(request, { kind: 'no-answer', reason: 'timeout' });
    b.tick();
    const { envelope } = b.allow(request);
    b.tick();
    b.effectOf(request, envelope);
    expectHolds(checkInv1(b.build()));
  });

  it('catches an effect without an approval id', () => {
    const b = compliant();
    const index = b.effect({ identity: 'alice', action: 'payments.transfer', parameters: { to: 'x' } });
    expectCaught(checkInv1(b.build()), 'INV-1', { events: [index], message: /without any approval id/ });
  });

  it('catches an effect after an allow whose envelope is signed by an untrusted key', () => {
    const { history, policyIndex, effectIndex } = executedAfter(
      (b, request) => ({ kind: 'allow', envelope: asJson(b.envelopeFor(request, { approval_id: 'appr-forged' }, TEST_KEYS.untrusted)) }),
      'appr-forged',
    );
    expectCaught(checkInv1(history), 'INV-1', { events: [policyIndex, effectIndex], message: /untrusted key/ });
  });

  it('catches an effect after an allow whose envelope was altered after signing', () => {
    const { history, policyIndex, effectIndex } = executedAfter((b, request) => {
      const envelope = b.envelopeFor(request, { approval_id: 'appr-altered' });
      return { kind: 'allow', envelope: asJson({ ...envelope, expires_at: envelope.expires_at + 3600 }) };
    }, 'appr-altered');
    expectCaught(checkInv1(history), 'INV-1', { events: [policyIndex, effectIndex], message: /does not verify/ });
  });

  it('catches an effect after an allow whose envelope is malformed', () => {
    const { history, policyIndex, effectIndex } = executedAfter((b, request) => {
      const { signature: _dropped, ...unsigned } = b.envelopeFor(request, { approval_id: 'appr-unsigned' });
      return { kind: 'allow', envelope: unsigned as unknown as JsonValue };
    }, 'appr-unsigned');
    expectCaught(checkInv1(history), 'INV-1', { events: [policyIndex, effectIndex], message: /malformed envelope/ });
  });

  const refusals: [string, PolicyAnswer, RegExp][] = [
    ['an unsigned allow', { kind: 'allow-unsigned' }, /unsigned allow/],
    ['a deny', { kind: 'deny' }, /a deny/],
    ['a garbled answer', { kind: 'garbage', body: '<html>502</html>' }, /garbled/],
    ['no answer (outage)', { kind: 'no-answer', reason: 'outage' }, /no answer \(outage\)/],
    ['no answer (timeout)', { kind: 'no-answer', reason: 'timeout' }, /no answer \(timeout\)/],
  ];
  it.each(refusals)('catches an effect after %s', (_name, answer, message) => {
    const { history, sent, policyIndex, effectIndex } = executedAfter(() => answer);
    expectCaught(checkInv1(history), 'INV-1', { events: [sent.eventIndex, policyIndex, effectIndex], message });
  });

  it('catches an effect whose trusted allow was recorded only after it', () => {
    const b = compliant();
    const request = b.request();
    b.send(request);
    const envelope = b.envelopeFor(request);
    const effectIndex = b.effectOf(request, envelope);
    const { eventIndex: lateAllow } = b.allow(request, envelope);
    expectCaught(checkInv1(b.build()), 'INV-1', { events: [effectIndex, lateAllow], message: /only recorded after/ });
  });

  it('catches a trusted envelope bound to another request than the one asked about', () => {
    const b = compliant();
    const request = b.request();
    b.send(request);
    const { envelope, eventIndex: policyIndex } = b.allow(request, b.envelopeFor(request, { request_id: 'req-someone-else' }));
    const effectIndex = b.effectOf(request, envelope, { request_id: undefined });
    expectCaught(checkInv1(b.build()), 'INV-1', { events: [policyIndex, effectIndex], message: /bound to another request/ });
  });

  it('catches an effect that names another request than its approval', () => {
    const b = compliant();
    const request = b.request();
    b.send(request);
    const { envelope, eventIndex: policyIndex } = b.allow(request);
    const effectIndex = b.effectOf(request, envelope, { request_id: 'req-other' });
    expectCaught(checkInv1(b.build()), 'INV-1', { events: [policyIndex, effectIndex] });
  });

  it('catches an effect reusing an approval id that only a forged envelope ever carried, next to a trusted one', () => {
    const b = compliant();
    const request = b.request();
    b.send(request);
    b.allow(request); // a trusted allow under another approval id does not vouch for this effect
    const forged = b.envelopeFor(request, { approval_id: 'appr-forged-2' }, TEST_KEYS.untrusted);
    b.policy(request, { kind: 'allow', envelope: asJson(forged) });
    const effectIndex = b.effectOf(request, forged);
    const history = b.build();
    const verdict = checkInv1(history);
    expectCaught(verdict, 'INV-1', { events: [effectIndex] });
    // Both effects, and every recorded dispatch (intent record).
    expect(verdict.examined).toBe(2 + history.audit.filter((r) => (r as { stage?: string }).stage === 'intent').length);
  });

  it('catches a dispatch the Gate recorded without a trusted allow for its request, though nothing executed', () => {
    const b = compliant();
    const request = b.request();
    const sent = b.send(request);
    const traceId = b.traceId();
    const policyIndex = b.policy(request, { kind: 'no-answer', reason: 'timeout' });
    b.auditIntent(sent, 'unapproved-1', traceId);
    b.appendAudit({ ...b.attribution(sent), decision: 'deny', stage: 'final', trace_id: traceId, code: 'ENVELOPE_MISSING', approval_id: 'unapproved-1', outcome: 'failed' });
    b.respond(sent, 'denied', { code: 'ENVELOPE_MISSING', trace_id: traceId });
    const history = b.build();
    expectCaught(checkInv1(history), 'INV-1', { events: [sent.eventIndex, policyIndex], message: /dispatched request op .* under approval unapproved-1, which no trusted allow for that request carries: the Control Plane gave it no answer \(timeout\)/ });
    // The same dispatch under the approval the Control Plane really gave is what a compliant gate records.
    expectHolds(checkInv1(compliant().build()));
  });
});
