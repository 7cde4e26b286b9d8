import { describe, expect, it } from 'vitest';
import type { ClientRequest } from '../profile/messages.ts';
import { HistoryBuilder, TEST_KEYS, addCompliantTraffic } from '../history-builder.ts';
import { checkInv3 } from './inv-3-authentic-fresh-single-use.ts';
import { expectCaught, expectHolds } from './verdict-expectations.ts';

function compliant(): HistoryBuilder {
  const b = new HistoryBuilder();
  addCompliantTraffic(b);
  return b;
}

/** The Gate took `request` to the Control Plane (and was told no): it had passed the Gate's checks. */
function askedAbout(build: (b: HistoryBuilder) => ClientRequest) {
  const b = compliant();
  const request = build(b);
  const sent = b.send(request);
  b.tick();
  const policyIndex = b.policy(request, { kind: 'deny' });
  return { history: b.build(), sent, policyIndex };
}

describe('INV-3 authentic, fresh, single-use requests', () => {
  it('accepts the compliant traffic, replay denial included', () => {
    expectHolds(checkInv3(compliant().build()));
  });

  it('accepts the same bytes sent twice when the second is denied as a replay', () => {
    const b = new HistoryBuilder();
    const first = b.executeRequest();
    b.denyAtGate(first.sent, 'REPLAY_DETECTED');
    const verdict = checkInv3(b.build());
    expectHolds(verdict);
    expect(verdict.examined).toBe(2); // one accepted op, one effect
  });

  it('accepts the same nonce under another identity or another action', () => {
    const b = compliant();
    const nonce = 'shared-nonce-0000000001';
    b.executeRequest(b.request({ nonce }));
    b.executeRequest(b.request({ nonce, identity: 'bob' }));
    b.executeRequest(b.request({ nonce, action: 'payments.refund' }));
    expectHolds(checkInv3(b.build()));
  });

  it('accepts a nonce reused after the replay window with a fresh timestamp', () => {
    const b = compliant();
    const nonce = 'reused-later-0000000001';
    b.executeRequest(b.request({ nonce }));
    b.tick(b.config.replayWindowSec * 1000 + 1000);
    b.executeRequest(b.request({ nonce }));
    expectHolds(checkInv3(b.build()));
  });

  it('accepts timestamps exactly at the edges of the acceptance window', () => {
    const b = compliant();
    b.executeRequest(b.request({ timestamp: b.nowSec - b.config.acceptanceWindowSec }));
    b.executeRequest(b.request({ timestamp: b.nowSec + b.config.acceptanceWindowSec }));
    expectHolds(checkInv3(b.build()));
  });

  it('accepts a request at the stale edge that the Gate accepted before its second ended (sent in one second, asked in the next)', () => {
    const b = compliant();
    b.now = (b.nowSec + 1) * 1000 - 3; // 3 ms before a second ends
    const request = b.request({ timestamp: b.nowSec - b.config.acceptanceWindowSec });
    const sent = b.send(request);
    b.tick(5); // the Control Plane is asked in the next second, where the timestamp is one second stale
    b.policy(request, { kind: 'deny' });
    b.respond(sent, 'denied', { code: 'POLICY_DENIED' });
    expectHolds(checkInv3(b.build()));
  });

  it('accepts a request past the future edge that the Gate accepted once the next second began', () => {
    const b = compliant();
    b.now = (b.nowSec + 1) * 1000 - 3; // 3 ms before a second ends
    const request = b.request({ timestamp: b.nowSec + b.config.acceptanceWindowSec + 1 });
    const sent = b.send(request);
    b.tick(5); // in the next second it is exactly at the future edge: fresh
    b.policy(request, { kind: 'deny' });
    b.respond(sent, 'denied', { code: 'POLICY_DENIED' });
    expectHolds(checkInv3(b.build()));
  });

  it('judges freshness on the system clock: a timestamp fresh only under the offset the harness set holds', () => {
    const b = compliant();
    const offset = b.fault('clock-offset', '600000 ms');
    b.tick();
    b.executeRequest(b.request({ timestamp: b.nowSec + 590 }));
    b.heal(offset);
    expectHolds(checkInv3(b.build()));
  });

  it('catches a request accepted although it was stale on the system clock the harness had moved', () => {
    const { history, sent, policyIndex } = askedAbout((b) => {
      b.fault('clock-offset', '-400000 ms');
      b.tick();
      return b.request({ timestamp: b.nowSec });
    });
    expectCaught(checkInv3(history), 'INV-3', { events: [sent.eventIndex, policyIndex], message: /TIMESTAMP_FUTURE/ });
  });

  const unauthentic: [string, (b: HistoryBuilder) => ClientRequest, RegExp][] = [
    ['a signature broken by changing the parameters', (b) => ({ ...b.request(), parameters: { to: 'mallory' } }), /SIGNATURE_INVALID/],
    ['a revoked key', (b) => b.request({}, TEST_KEYS.aliceRevoked), /KEY_REVOKED/],
    ['an unregistered key', (b) => b.request({}, TEST_KEYS.untrusted), /KEY_UNKNOWN/],
    ["another identity's key", (b) => b.request({ identity: 'bob' }, TEST_KEYS.alice), /KEY_UNKNOWN/],
    ['a stale timestamp', (b) => b.request({ timestamp: b.nowSec - b.config.acceptanceWindowSec - 1 }), /TIMESTAMP_STALE/],
    ['a future timestamp', (b) => b.request({ timestamp: b.nowSec + b.config.acceptanceWindowSec + 1 }), /TIMESTAMP_FUTURE/],
  ];
  it.each(unauthentic)('catches the Control Plane being asked about a request with %s', (_name, build, message) => {
    const { history, sent, policyIndex } = askedAbout(build);
    expectCaught(checkInv3(history), 'INV-3', { events: [sent.eventIndex, policyIndex], message });
  });

  it('catches an executed request with a revoked key', () => {
    const b = compliant();
    const { sent, effectIndex } = b.executeRequest(b.request({}, TEST_KEYS.aliceRevoked));
    expectCaught(checkInv3(b.build()), 'INV-3', { events: [sent.eventIndex], message: /KEY_REVOKED/ });
    expect(effectIndex).toBeGreaterThan(sent.eventIndex);
  });

  it('catches a replay of the same bytes that was taken to the Control Plane', () => {
    const b = compliant();
    const first = b.executeRequest();
    const replay = b.resend(first.sent);
    const policyIndex = b.policy(first.request, { kind: 'deny' });
    expectCaught(checkInv3(b.build()), 'INV-3', {
      events: [first.sent.eventIndex, replay.eventIndex, policyIndex],
      message: /accepted again/,
    });
  });

  it('catches another request reusing an accepted nonce inside the replay window', () => {
    const b = compliant();
    const nonce = 'reused-soon-00000000001';
    const first = b.executeRequest(b.request({ nonce }));
    b.tick(b.config.replayWindowSec * 1000 - 1000);
    const second = b.executeRequest(b.request({ nonce, parameters: { to: 'bob', amount: 99 } }));
    expectCaught(checkInv3(b.build()), 'INV-3', { events: [first.sent.eventIndex, second.sent.eventIndex], message: /accepted again/ });
  });

  it('catches concurrent duplicates that were both executed', () => {
    const b = compliant();
    const request = b.request();
    const one = b.send(request);
    const two = b.send(request);
    b.tick();
    const first = b.allow(request);
    const second = b.allow(request);
    b.tick();
    const effectOne = b.effectOf(request, first.envelope);
    const effectTwo = b.effectOf(request, second.envelope);
    const verdict = checkInv3(b.build());
    expectCaught(verdict, 'INV-3', { events: [one.eventIndex, two.eventIndex], message: /accepted again/ });
    expectCaught(verdict, 'INV-3', { events: [effectOne, effectTwo], message: /already executed/ });
  });

  it('catches one approval used twice', () => {
    const b = compliant();
    const { request, envelope, effectIndex } = b.executeRequest();
    const again = b.effectOf(request, envelope);
    expectCaught(checkInv3(b.build()), 'INV-3', { events: [effectIndex, again], message: /used a second time/ });
  });

  it('catches one request executed twice under two approvals', () => {
    const b = compliant();
    const request = b.request();
    const sent = b.send(request);
    const first = b.allow(request);
    const effectOne = b.effectOf(request, first.envelope);
    b.tick();
    const second = b.allow(request);
    const effectTwo = b.effectOf(request, second.envelope);
    expectCaught(checkInv3(b.build()), 'INV-3', { events: [sent.eventIndex, effectOne, effectTwo], message: /already executed/ });
  });
});
