import { describe, expect, it } from 'vitest';
import type { History } from '../history.ts';
import { INVARIANT_IDS } from '../profile/denial-codes.ts';
import { HistoryBuilder, addCompliantTraffic } from '../history-builder.ts';
import { buildHistoryIndex } from './history-index.ts';
import { INVARIANT_CHECKS, checkInvariants } from './index.ts';
import { expectCaught, expectHolds } from './verdict-expectations.ts';

function compliantHistory(): History {
  const b = new HistoryBuilder();
  addCompliantTraffic(b);
  return b.build();
}

describe('checkInvariants', () => {
  it('holds for all six invariants on the compliant traffic, in INV-1…INV-6 order', () => {
    const verdicts = checkInvariants(compliantHistory());
    expect(verdicts.map((v) => v.invariant)).toEqual(INVARIANT_IDS);
    for (const verdict of verdicts) expectHolds(verdict);
  });

  it('gives the same verdicts with a shared index, without one, and after a JSON round trip', () => {
    const b = new HistoryBuilder();
    addCompliantTraffic(b);
    b.effect({ approval_id: 'appr-from-nowhere', identity: 'alice', action: 'payments.transfer', parameters: { to: 'mallory' } });
    const history = b.build();
    const shared = checkInvariants(history);
    const separate = INVARIANT_IDS.map((id) => INVARIANT_CHECKS[id].check(history));
    const roundTripped = checkInvariants(JSON.parse(JSON.stringify(history)) as History);
    expect(separate).toEqual(shared);
    expect(roundTripped).toEqual(shared);
    const failing = shared.filter((v) => !v.holds).map((v) => v.invariant);
    expect(failing).toEqual(['INV-1', 'INV-5', 'INV-6']);
  });

  it('has a one-line statement for every invariant', () => {
    for (const id of INVARIANT_IDS) {
      expect(INVARIANT_CHECKS[id].statement).toMatch(/^[A-Z].*\.$/);
      expect(INVARIANT_CHECKS[id].statement).not.toContain('\n');
    }
  });

  it('is vacuous (examined 0) on an empty history, and INV-5 needs the export', () => {
    const b = new HistoryBuilder();
    for (const verdict of checkInvariants(b.build())) {
      expect(verdict.examined).toBe(0);
      expect(verdict.holds).toBe(true);
    }
    b.auditExported = false;
    const inv5 = checkInvariants(b.build())[4]!;
    expect(inv5.invariant).toBe('INV-5');
    expect(inv5.holds).toBe(false);
  });
});

describe('buildHistoryIndex', () => {
  it('decodes, hashes and parses every request, and pairs it with its response', () => {
    const b = new HistoryBuilder();
    const traffic = addCompliantTraffic(b);
    const index = buildHistoryIndex(b.build());
    expect(index.ops).toHaveLength(7);
    const executed = index.opsByOp.get(traffic.executed.sent.op)!;
    expect(executed.requestHash).toBe(traffic.executed.sent.requestHash);
    expect(executed.parsed.ok).toBe(true);
    expect(executed.response?.event.status).toBe('executed');
    expect(executed.exchanges.map((e) => e.trustedAllow)).toEqual([true]);
    const malformed = index.opsByOp.get(traffic.malformed.sent.op)!;
    expect(malformed.parsed).toMatchObject({ ok: false, code: 'REQUEST_MALFORMED' });
    expect(index.effects[0]?.op).toBe(executed);
    expect(index.directCalls[0]?.envelopeCodes).toEqual(['ENVELOPE_MISSING']);
  });

  it('does not give the exchange of a request to its replay', () => {
    const b = new HistoryBuilder();
    const traffic = addCompliantTraffic(b);
    const index = buildHistoryIndex(b.build());
    expect(index.opsByOp.get(traffic.replay.sent.op)?.exchanges).toEqual([]);
  });

  it('gives each in-flight duplicate its own exchange, and a retry to the same op', () => {
    const b = new HistoryBuilder();
    const request = b.request();
    const one = b.send(request);
    const two = b.send(request);
    b.policy(request, { kind: 'no-answer', reason: 'timeout' });
    b.policy(request, { kind: 'deny' });
    b.policy(request, { kind: 'deny' });
    const index = buildHistoryIndex(b.build());
    expect(index.opsByOp.get(one.op)?.exchanges).toHaveLength(1);
    expect(index.opsByOp.get(two.op)?.exchanges).toHaveLength(2);
  });

  it('reports a recorded body that is not base64url instead of throwing', () => {
    const b = new HistoryBuilder();
    const eventIndex = b.events.push({ kind: 'request', op: 1, at: b.now, body: 'not base64url!' }) - 1;
    const history = b.build();
    const index = buildHistoryIndex(history);
    expect(index.ops[0]?.parsed.ok).toBe(false);
    expectCaught(checkInvariants(history)[4]!, 'INV-5', { events: [eventIndex], message: /not base64url/ });
  });
});
