import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../profile/canonical-json.ts';
import { digestJson } from '../profile/digest.ts';
import { HistoryBuilder, addCompliantTraffic } from '../history-builder.ts';
import { checkInv2 } from './inv-2-argument-binding.ts';
import { expectCaught, expectHolds } from './verdict-expectations.ts';

function compliant(): HistoryBuilder {
  const b = new HistoryBuilder();
  addCompliantTraffic(b);
  return b;
}

/** A trusted allow for a fresh request, then an effect with `executed` parameters. */
function approvedThenExecuted(approved: JsonValue, executed: JsonValue) {
  const b = compliant();
  const request = b.request({ parameters: approved });
  const sent = b.send(request);
  const { envelope, eventIndex: policyIndex } = b.allow(request);
  const effectIndex = b.effectOf(request, envelope, { parameters: executed });
  return { history: b.build(), sent, policyIndex, effectIndex };
}

describe('INV-2 argument binding', () => {
  it('accepts the compliant traffic', () => {
    expectHolds(checkInv2(compliant().build()));
  });

  it('accepts parameters that differ only in key order and number spelling', () => {
    const { history } = approvedThenExecuted({ to: 'bob', amount: 10, fee: 0.5 }, JSON.parse('{"fee":5e-1,"amount":10.0,"to":"bob"}') as JsonValue);
    expectHolds(checkInv2(history));
  });

  it('accepts an effect that did not record identity and action', () => {
    const b = compliant();
    const request = b.request();
    b.send(request);
    const { envelope } = b.allow(request);
    b.effectOf(request, envelope, { identity: undefined, action: undefined });
    expectHolds(checkInv2(b.build()));
  });

  it('catches parameters swapped after approval', () => {
    const { history, policyIndex, effectIndex } = approvedThenExecuted({ to: 'bob', amount: 10 }, { to: 'mallory', amount: 10 });
    expectCaught(checkInv2(history), 'INV-2', { events: [policyIndex, effectIndex], message: /did not execute what approval .* bound: its parameters differ/ });
  });

  it('catches a binding that ignored nested keys', () => {
    const { history, effectIndex } = approvedThenExecuted(
      { to: 'bob', options: { notify: true } },
      { to: 'bob', options: { notify: true, also_to: 'mallory' } },
    );
    expectCaught(checkInv2(history), 'INV-2', { events: [effectIndex] });
  });

  it('catches a binding that ignored array order', () => {
    const { history, effectIndex } = approvedThenExecuted({ steps: ['debit', 'credit'] }, { steps: ['credit', 'debit'] });
    expectCaught(checkInv2(history), 'INV-2', { events: [effectIndex] });
  });

  it('catches a binding that ignored the unicode form', () => {
    const { history, effectIndex } = approvedThenExecuted({ to: 'Ren\u00e9' }, { to: 'Rene\u0301' });
    expectCaught(checkInv2(history), 'INV-2', { events: [effectIndex] });
  });

  it('catches an effect run under another identity or action than approved', () => {
    const b = compliant();
    const request = b.request();
    b.send(request);
    const { envelope, eventIndex: policyIndex } = b.allow(request);
    const effectIndex = b.effectOf(request, envelope, { identity: 'bob', action: 'payments.refund' });
    expectCaught(checkInv2(b.build()), 'INV-2', { events: [policyIndex, effectIndex], message: /its identity, action differ/ });
  });

  it('catches an envelope bound to other parameters than the request sent, even when the effect matches the envelope', () => {
    const b = compliant();
    const request = b.request({ parameters: { to: 'bob', amount: 10 } });
    const sent = b.send(request);
    const swapped = { to: 'mallory', amount: 10 };
    const { envelope, eventIndex: policyIndex } = b.allow(request, b.envelopeFor(request, { parameters_digest: digestJson(swapped) }));
    const effectIndex = b.effectOf(request, envelope, { parameters: swapped });
    const verdict = checkInv2(b.build());
    expectCaught(verdict, 'INV-2', { events: [sent.eventIndex, policyIndex, effectIndex], message: /not bound to request .* its parameters differ/ });
    expect(verdict.violations).toHaveLength(1);
  });

  it('catches an envelope issued for another request id than the one the client sent', () => {
    const b = compliant();
    const request = b.request();
    const sent = b.send(request);
    const { envelope, eventIndex: policyIndex } = b.allow(request, b.envelopeFor(request, { request_id: 'req-other' }));
    const effectIndex = b.effectOf(request, envelope, { request_id: 'req-other' });
    expectCaught(checkInv2(b.build()), 'INV-2', { events: [sent.eventIndex, policyIndex, effectIndex], message: /its request id differ/ });
  });

  it('catches an approval for a request that no client sent', () => {
    const b = compliant();
    const ghost = b.request({ request_id: 'req-ghost' });
    const { envelope, eventIndex: policyIndex } = b.allow(ghost);
    const effectIndex = b.effectOf(ghost, envelope);
    expectCaught(checkInv2(b.build()), 'INV-2', { events: [policyIndex, effectIndex], message: /no client sent/ });
  });
});
