import { describe, expect, it } from 'vitest';
import type { DirectCall } from '../history.ts';
import type { JsonValue } from '../profile/canonical-json.ts';
import type { ApprovalEnvelope, ClientRequest } from '../profile/messages.ts';
import { HistoryBuilder, TEST_KEYS, addCompliantTraffic } from '../history-builder.ts';
import { checkInv6 } from './inv-6-no-bypass.ts';
import { expectCaught, expectHolds } from './verdict-expectations.ts';

const asJson = (envelope: ApprovalEnvelope): JsonValue => envelope as unknown as JsonValue;

function compliant(): HistoryBuilder {
  const b = new HistoryBuilder();
  addCompliantTraffic(b);
  return b;
}

/** A direct call of `request`'s identity, action and parameters presenting `envelope`. */
function callWith(b: HistoryBuilder, request: ClientRequest, envelope: ApprovalEnvelope | undefined, status: DirectCall['status'] = 'denied', code?: string): number {
  return b.directCall({
    identity: request.identity,
    action: request.action,
    parameters: request.parameters,
    status,
    ...(envelope === undefined ? {} : { envelope: asJson(envelope) }),
    ...(code === undefined ? {} : { code }),
  });
}

describe('INV-6 no bypass', () => {
  it('accepts the compliant traffic, where a direct call without envelope is denied', () => {
    expectHolds(checkInv6(compliant().build()));
  });

  it('accepts a direct call presenting a valid, unused envelope, and its single effect', () => {
    const b = compliant();
    const request = b.request({ parameters: { to: 'bob', amount: 5 } });
    const envelope = b.envelopeFor(request);
    callWith(b, request, envelope, 'executed');
    b.effectOf(request, envelope);
    expectHolds(checkInv6(b.build()));
  });

  it('accepts a later gate execution of the parameters a refused direct call asked for', () => {
    const b = compliant();
    const request = b.request({ parameters: { to: 'bob', amount: 5 } });
    callWith(b, request, undefined, 'denied', 'ENVELOPE_MISSING');
    b.tick();
    b.executeRequest(request);
    expectHolds(checkInv6(b.build()));
  });

  it('catches a direct call without an envelope reported executed', () => {
    const b = compliant();
    const callIndex = callWith(b, b.request(), undefined, 'executed');
    expectCaught(checkInv6(b.build()), 'INV-6', { events: [callIndex], message: /presented no envelope/ });
  });

  it('catches an effect of a direct call without an envelope', () => {
    const b = compliant();
    const request = b.request({ parameters: { to: 'mallory', amount: 1_000 } });
    const callIndex = callWith(b, request, undefined, 'indeterminate');
    const effectIndex = b.effect({ identity: request.identity, action: request.action, parameters: request.parameters });
    expectCaught(checkInv6(b.build()), 'INV-6', { events: [callIndex, effectIndex], message: /direct call .* presented no envelope/ });
  });

  it('catches an effect of a direct call with a forged envelope', () => {
    const b = compliant();
    const request = b.request();
    const forged = b.envelopeFor(request, {}, TEST_KEYS.untrusted);
    const callIndex = callWith(b, request, forged);
    const effectIndex = b.effectOf(request, forged);
    expectCaught(checkInv6(b.build()), 'INV-6', { events: [callIndex, effectIndex], message: /ENVELOPE_SIGNATURE_INVALID/ });
  });

  it('catches an effect of a direct call with an expired envelope', () => {
    const b = compliant();
    const request = b.request();
    const expired = b.envelopeFor(request, { issued_at: b.nowSec - 120, expires_at: b.nowSec - 60 });
    const callIndex = callWith(b, request, expired);
    const effectIndex = b.effectOf(request, expired);
    expectCaught(checkInv6(b.build()), 'INV-6', { events: [callIndex, effectIndex], message: /ENVELOPE_EXPIRED/ });
  });

  it('catches an effect of a direct call whose envelope is bound to other parameters', () => {
    const b = compliant();
    const approved = b.request({ parameters: { to: 'bob', amount: 5 } });
    const envelope = b.envelopeFor(approved);
    const swapped = { ...approved, parameters: { to: 'mallory', amount: 5_000 } };
    const callIndex = callWith(b, swapped, envelope);
    const effectIndex = b.effectOf(swapped, envelope);
    expectCaught(checkInv6(b.build()), 'INV-6', { events: [callIndex, effectIndex], message: /ENVELOPE_BINDING_MISMATCH/ });
  });

  it('catches a replay of an envelope the Gate already used', () => {
    const b = compliant();
    const { request, envelope, effectIndex: firstUse } = b.executeRequest();
    const callIndex = callWith(b, request, envelope, 'executed');
    const secondUse = b.effectOf(request, envelope);
    const verdict = checkInv6(b.build());
    expectCaught(verdict, 'INV-6', { events: [callIndex], message: /executed although it presented a valid envelope whose approval had already been used/ });
    expectCaught(verdict, 'INV-6', { events: [callIndex, secondUse], message: /Effect .* was produced by a direct call/ });
    expectCaught(verdict, 'INV-6', { events: [callIndex, firstUse, secondUse], message: /produced 2 effects/ });
  });

  it('catches a valid direct approval executed twice', () => {
    const b = compliant();
    const request = b.request();
    const envelope = b.envelopeFor(request);
    const callIndex = callWith(b, request, envelope, 'executed');
    const first = b.effectOf(request, envelope);
    const second = b.effectOf(request, envelope);
    const verdict = checkInv6(b.build());
    expectCaught(verdict, 'INV-6', { events: [callIndex, first, second], message: /produced 2 effects/ });
    expect(verdict.examined).toBe(3 + 2); // three effects, the compliant direct call and this one
  });

  it('catches an effect that nothing explains', () => {
    const b = compliant();
    const effectIndex = b.effect({ approval_id: 'appr-from-nowhere', identity: 'alice', action: 'payments.transfer', parameters: { to: 'mallory' } });
    expectCaught(checkInv6(b.build()), 'INV-6', { events: [effectIndex], message: /explained neither/ });
  });
});
