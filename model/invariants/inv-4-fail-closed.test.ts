import { describe, expect, it } from 'vitest';
import type { FaultKind } from '../history.ts';
import { DEFAULT_ENVELOPE_TTL_SEC, HistoryBuilder, addCompliantTraffic } from '../history-builder.ts';
import { checkInv4 } from './inv-4-fail-closed.ts';
import { expectCaught, expectHolds } from './verdict-expectations.ts';

function compliant(): HistoryBuilder {
  const b = new HistoryBuilder();
  addCompliantTraffic(b);
  return b;
}

/** A request sent and approved by a trusted allow; the test decides what happens next. */
function approved(b: HistoryBuilder) {
  const request = b.request({ parameters: { to: 'bob', amount: 42 } });
  const sent = b.send(request);
  b.tick();
  const { envelope, eventIndex: policyIndex } = b.allow(request);
  b.tick();
  return { request, sent, envelope, policyIndex };
}

describe('INV-4 fail closed', () => {
  it('accepts the compliant traffic', () => {
    expectHolds(checkInv4(compliant().build()));
  });

  it('accepts an effect behind an EXECUTION_UNCONFIRMED denial', () => {
    const b = compliant();
    const { request, sent, envelope } = approved(b);
    b.effectOf(request, envelope);
    b.respond(sent, 'denied', { code: 'EXECUTION_UNCONFIRMED' });
    expectHolds(checkInv4(b.build()));
  });

  it('accepts an effect behind an indeterminate response, inside the envelope window', () => {
    const b = compliant();
    const { request, sent, envelope } = approved(b);
    b.respond(sent, 'indeterminate');
    b.tick(5_000);
    b.effectOf(request, envelope);
    expectHolds(checkInv4(b.build()));
  });

  it('catches work drained after a partition healed, for a request denied during it', () => {
    const b = compliant();
    const partition = b.fault('execution-partition');
    const { request, sent, envelope } = approved(b);
    const responseIndex = b.respond(sent, 'denied', { code: 'EXECUTION_UNAVAILABLE' });
    b.tick(2_000);
    b.heal(partition);
    const effectIndex = b.effectOf(request, envelope);
    expectCaught(checkInv4(b.build()), 'INV-4', { events: [sent.eventIndex, responseIndex, effectIndex], message: /(denied with|after the Gate answered) EXECUTION_UNAVAILABLE/ });
  });

  it('catches a reported success that no effect backs', () => {
    const b = compliant();
    const { sent } = approved(b);
    const responseIndex = b.respond(sent, 'executed', { trace_id: 'trace-x' });
    expectCaught(checkInv4(b.build()), 'INV-4', { events: [sent.eventIndex, responseIndex], message: /reported request op \d+ executed/ });
  });

  it('catches a success reported before the work was done', () => {
    const b = compliant();
    const { request, sent, envelope } = approved(b);
    const responseIndex = b.respond(sent, 'executed');
    b.tick();
    b.effectOf(request, envelope);
    expectCaught(checkInv4(b.build()), 'INV-4', { events: [responseIndex] });
  });

  it('catches a success reported for a request that was never sent', () => {
    const b = compliant();
    const index = b.events.push({ kind: 'response', op: 999, at: b.now, status: 'executed' }) - 1;
    expectCaught(checkInv4(b.build()), 'INV-4', { events: [index], message: /no such request/ });
  });

  it('catches an effect once its envelope has expired (a queue drained later)', () => {
    const b = compliant();
    const { request, sent, envelope, policyIndex } = approved(b);
    b.respond(sent, 'indeterminate');
    // A second after expires_at: the Execution Layer cannot have checked the window before it expired.
    b.now = envelope.expires_at * 1000 + 1000;
    const effectIndex = b.effectOf(request, envelope);
    expectCaught(checkInv4(b.build()), 'INV-4', { events: [policyIndex, effectIndex], message: /expired/ });
  });

  it('accepts an effect reported just after expiry that was checked in the second before it', () => {
    const b = compliant();
    const { request, sent, envelope } = approved(b);
    b.respond(sent, 'indeterminate');
    b.now = envelope.expires_at * 1000 + 5;
    b.effectOf(request, envelope);
    expectHolds(checkInv4(b.build()));
  });

  it('judges the window on the system clock: an effect valid only under the offset the harness set holds', () => {
    const b = compliant();
    const request = b.request();
    b.send(request);
    // The system's clock runs 120 s ahead; the Control Plane issued the envelope on that clock.
    const offset = b.fault('clock-offset', '120000 ms');
    const { envelope } = b.allow(request, b.envelopeFor(request, { issued_at: b.nowSec + 115, expires_at: b.nowSec + 180 }));
    b.tick();
    b.effectOf(request, envelope);
    b.heal(offset);
    expectHolds(checkInv4(b.build()));
  });

  it('accepts an effect one millisecond before its envelope expires', () => {
    const b = compliant();
    const { request, sent, envelope } = approved(b);
    b.respond(sent, 'indeterminate');
    b.now = envelope.expires_at * 1000 - 1;
    b.effectOf(request, envelope);
    expectHolds(checkInv4(b.build()));
  });

  it('catches an effect before its envelope became valid', () => {
    const b = compliant();
    const request = b.request();
    b.send(request);
    const { envelope, eventIndex: policyIndex } = b.allow(request, b.envelopeFor(request, { issued_at: b.nowSec + 30, expires_at: b.nowSec + 30 + DEFAULT_ENVELOPE_TTL_SEC }));
    const effectIndex = b.effectOf(request, envelope);
    expectCaught(checkInv4(b.build()), 'INV-4', { events: [policyIndex, effectIndex], message: /before its envelope .* became valid/ });
  });

  const blocking: FaultKind[] = ['nonce-store-down', 'nonce-store-unconfirmed', 'audit-down'];
  it.each(blocking)('catches execution of a request that lived entirely inside a %s fault', (kind) => {
    const b = compliant();
    const fault = b.fault(kind);
    b.tick();
    const { request, sent, envelope } = approved(b);
    const effectIndex = b.effectOf(request, envelope);
    b.respond(sent, 'executed');
    b.tick();
    b.heal(fault);
    const faultIndex = b.events.indexOf(fault);
    expectCaught(checkInv4(b.build()), 'INV-4', { events: [faultIndex, sent.eventIndex, effectIndex], message: new RegExp(kind) });
  });

  it('judges by the order of events, not by milliseconds: a fault begun right after an answer, in its millisecond, did not cover it', () => {
    const b = compliant();
    const request = b.request({ parameters: { to: 'bob', amount: 43 } });
    const sent = b.send(request);
    const { envelope } = b.allow(request);
    b.effectOf(request, envelope);
    b.respond(sent, 'executed');
    // Same millisecond as everything above, but recorded after the answer.
    const fault = b.fault('nonce-store-down');
    b.tick(1);
    b.heal(fault);
    expectHolds(checkInv4(b.build()));
    // Recorded before the request, the same fault does cover it.
    const c = compliant();
    const early = c.fault('nonce-store-down');
    const r = c.request({ parameters: { to: 'bob', amount: 44 } });
    const s2 = c.send(r);
    const { envelope: e2 } = c.allow(r);
    const effectIndex = c.effectOf(r, e2);
    c.respond(s2, 'executed');
    c.heal(early);
    expectCaught(checkInv4(c.build()), 'INV-4', { events: [c.events.indexOf(early), effectIndex] });
  });

  it('catches execution during a fault that never healed', () => {
    const b = compliant();
    const fault = b.fault('nonce-store-down');
    const { request, envelope } = approved(b);
    const effectIndex = b.effectOf(request, envelope);
    expectCaught(checkInv4(b.build()), 'INV-4', { events: [b.events.indexOf(fault), effectIndex] });
  });

  it('accepts execution of a request that outlived the fault it started in', () => {
    const b = compliant();
    const fault = b.fault('nonce-store-down');
    const { request, sent, envelope } = approved(b);
    b.heal(fault);
    b.tick(100);
    b.effectOf(request, envelope);
    b.respond(sent, 'executed');
    expectHolds(checkInv4(b.build()));
  });

  it('catches an effect for a request whose only Control Plane answer was a deny', () => {
    const b = compliant();
    const request = b.request();
    const sent = b.send(request);
    const policyIndex = b.policy(request, { kind: 'deny' });
    const effectIndex = b.effect({ request_id: request.request_id, approval_id: 'appr-made-up', identity: request.identity, action: request.action, parameters: request.parameters });
    const verdict = checkInv4(b.build());
    expectCaught(verdict, 'INV-4', { events: [sent.eventIndex, policyIndex, effectIndex], message: /none of its Control Plane exchanges was a trusted allow/ });
  });

  it('catches an effect for a request the Control Plane was never asked about', () => {
    const b = compliant();
    const request = b.request();
    const sent = b.send(request);
    const effectIndex = b.effect({ request_id: request.request_id, identity: request.identity, action: request.action, parameters: request.parameters });
    const verdict = checkInv4(b.build());
    expectCaught(verdict, 'INV-4', { events: [sent.eventIndex, effectIndex], message: /never asked/ });
    expect(verdict.examined).toBeGreaterThan(0);
  });
});
