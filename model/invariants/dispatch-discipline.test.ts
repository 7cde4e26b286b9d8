import { describe, expect, it } from 'vitest';
import { HistoryBuilder, addCompliantTraffic } from '../history-builder.ts';
import { questionsPerTriple } from './dispatch-discipline.ts';
import { buildHistoryIndex } from './history-index.ts';
import { checkInv1 } from './inv-1-policy-before-execution.ts';
import { checkInv3 } from './inv-3-authentic-fresh-single-use.ts';
import { checkInv4 } from './inv-4-fail-closed.ts';
import { expectCaught, expectHolds } from './verdict-expectations.ts';

function compliant(): HistoryBuilder {
  const b = new HistoryBuilder();
  addCompliantTraffic(b);
  return b;
}

describe('one question per request, nothing before the replay stage reaches the Control Plane', () => {
  it('accepts concurrent duplicates of which only one was asked about', () => {
    const b = compliant();
    const request = b.request();
    const copies = [b.send(request), b.send(request), b.send(request)];
    b.tick();
    const { envelope } = b.allow(request);
    b.executionCall(request, envelope);
    b.effectOf(request, envelope);
    b.respond(copies[0]!, 'executed');
    b.respond(copies[1]!, 'denied', { code: 'REPLAY_DETECTED' });
    b.respond(copies[2]!, 'denied', { code: 'REPLAY_DETECTED' });
    expectHolds(checkInv3(b.build()));
    expectHolds(checkInv1(b.build()));
    expect(questionsPerTriple(buildHistoryIndex(b.build())).findings).toEqual([]);
  });

  it('accepts the same triple asked about again once its replay window has passed', () => {
    const b = compliant();
    const request = b.request();
    b.executeRequest(request);
    b.tick(2 * b.config.replayWindowSec * 1000);
    b.executeRequest(b.request({ nonce: request.nonce, request_id: 'req-much-later' }));
    expectHolds(checkInv3(b.build()));
  });

  it('catches concurrent duplicates that all reached the Control Plane (a nonce claimed only after the allow)', () => {
    const b = compliant();
    const request = b.request();
    const copies = [b.send(request), b.send(request), b.send(request)];
    b.tick();
    const asked = copies.map((_, i) => b.policy(request, { kind: 'allow', envelope: b.envelopeFor(request, { approval_id: `apr-dup-${i}` }) as never }));
    b.respond(copies[0]!, 'denied', { code: 'REPLAY_DETECTED' });
    b.respond(copies[1]!, 'denied', { code: 'REPLAY_DETECTED' });
    b.respond(copies[2]!, 'denied', { code: 'REPLAY_DETECTED' });
    expectCaught(checkInv3(b.build()), 'INV-3', { events: [copies[0]!.eventIndex, copies[2]!.eventIndex, ...asked], message: /Control Plane was asked 3 times about \(alice, payments.transfer, .*\), which request ops \d+, \d+, \d+ carried.*reached the Control Plane/ });
  });

  it('catches a replay, sent after the original executed, that reached the Control Plane', () => {
    const b = compliant();
    const first = b.executeRequest();
    const replay = b.resend(first.sent);
    b.tick();
    const policyIndex = b.policy(first.request, { kind: 'deny' });
    b.respond(replay, 'denied', { code: 'POLICY_DENIED' });
    expectCaught(checkInv3(b.build()), 'INV-3', { events: [first.policyIndex, policyIndex] });
  });

  it('reports one request asked about twice as a contract finding, not an invariant', () => {
    const b = compliant();
    const request = b.request();
    const sent = b.send(request);
    b.tick();
    const denied = b.policy(request, { kind: 'deny' });
    const { envelope, eventIndex: allowed } = b.allow(request);
    b.executionCall(request, envelope);
    b.effectOf(request, envelope);
    b.respond(sent, 'executed');
    const findings = questionsPerTriple(buildHistoryIndex(b.build())).findings;
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toMatch(/asked the Control Plane 2 times about request op \d+ \(CONTRACT §4: one question per request/);
    expect(findings[0]!.eventIndexes).toEqual(expect.arrayContaining([sent.eventIndex, denied, allowed]));
    expectHolds(checkInv1(b.build()));
    expectHolds(checkInv3(b.build()));
  });
});

describe('one Execution Layer call, no retry', () => {
  it('accepts one call per approval, and the same approval sent again by another request', () => {
    const b = compliant();
    const request = b.request();
    const sent = b.send(request);
    const { envelope } = b.allow(request);
    b.executionCall(request, envelope);
    b.effectOf(request, envelope);
    b.respond(sent, 'executed');
    // Another nonce, the same approval from the Control Plane: a call of its own, refused by the Execution Layer.
    const again = b.request({ request_id: request.request_id });
    const sentAgain = b.send(again);
    b.allow(again, envelope);
    b.executionCall(again, envelope);
    b.respond(sentAgain, 'denied', { code: 'ENVELOPE_REPLAYED' });
    expectHolds(checkInv4(b.build()));
  });

  it('catches a call retried after its answer was lost', () => {
    const b = compliant();
    const request = b.request();
    const sent = b.send(request);
    const { envelope } = b.allow(request);
    const first = b.executionCall(request, envelope);
    b.effectOf(request, envelope);
    b.tick(40);
    const retry = b.executionCall(request, envelope);
    const responseIndex = b.respond(sent, 'denied', { code: 'EXECUTION_UNCONFIRMED' });
    expectCaught(checkInv4(b.build()), 'INV-4', {
      events: [first, retry, sent.eventIndex, responseIndex],
      message: /called the Execution Layer 2 times for approval .*40 ms after the first; it answered denied EXECUTION_UNCONFIRMED/,
    });
  });
});

describe('late effects', () => {
  it('say how long after the denial the work ran', () => {
    const b = compliant();
    const request = b.request();
    const sent = b.send(request);
    const responseIndex = b.respond(sent, 'denied', { code: 'CONTROL_PLANE_TIMEOUT' });
    b.tick(300);
    const { envelope } = b.allow(request);
    b.tick(1500);
    const effectIndex = b.effectOf(request, envelope);
    const verdict = checkInv4(b.build());
    expectCaught(verdict, 'INV-4', { events: [effectIndex, responseIndex], message: /executed request op \d+ 1\.8 s after the Gate answered CONTROL_PLANE_TIMEOUT/ });
    expect(verdict.violations.length).toBe(1);
  });
});
