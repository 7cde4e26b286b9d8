import { describe, expect, it } from 'vitest';
import { HistoryBuilder, TEST_KEYS, addCompliantTraffic } from '../../model/history-builder.ts';
import { checkInvariants } from '../../model/invariants/index.ts';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { STRANGER_KEY } from '../../model/concrete-scenario.ts';
import { rederive } from './rederive.ts';

function mismatches(b: HistoryBuilder) {
  const r = rederive(b.build());
  return [...r.requests, ...r.directCalls].filter((x) => !x.ok);
}

describe('re-deriving every allow/deny from a history and the keys', () => {
  it('finds every decision of compliant traffic right, and says what it expected', () => {
    const b = new HistoryBuilder();
    addCompliantTraffic(b);
    const r = rederive(b.build());
    expect(r.requests.length).toBe(7);
    expect(r.directCalls.length).toBe(1);
    expect([...r.requests, ...r.directCalls].filter((x) => !x.ok)).toEqual([]);
    expect(r.unexplainedEffects).toEqual([]);
    expect(r.requests[0]!.message).toBe('expected executed (1 effect); recorded executed (1 effect)');
    expect(r.requests.find((x) => x.recorded.code === 'KEY_REVOKED')!.expected).toEqual([{ decision: 'denied', codes: ['KEY_REVOKED'], effects: 0 }]);
  });

  it('catches a request signed with a revoked key that executed', () => {
    const b = new HistoryBuilder();
    b.executeRequest(b.request({}, TEST_KEYS.aliceRevoked));
    const [bad, ...rest] = mismatches(b);
    expect(rest).toEqual([]);
    expect(bad?.message).toBe('expected denied with KEY_REVOKED (no effect); recorded executed (1 effect)');
  });

  it('catches a false denial that no invariant sees: a valid request refused before the Control Plane was asked', () => {
    const b = new HistoryBuilder();
    b.denyAtGate(b.request(), 'KEY_UNKNOWN');
    const history = b.build();
    expect(checkInvariants(history).every((v) => v.holds)).toBe(true);
    const [bad] = mismatches(b);
    expect(bad?.message).toMatch(/^expected the Gate to ask the Control Plane .* recorded denied with KEY_UNKNOWN/);
  });

  it('accepts a replay after a request lost in a crash either way: its claim may have landed, or not', () => {
    const lost = (replay: 'denied' | 'executed' | 'wrong') => {
      const b = new HistoryBuilder();
      const request = b.request();
      const first = b.send(request);
      b.heal(b.fault('crash', 'replica 1'));
      b.respond(first, 'indeterminate');
      const again = b.resend(first);
      if (replay === 'executed') {
        const { envelope } = b.allow(request);
        b.effectOf(request, envelope);
        b.respond(again, 'executed');
      } else b.respond(again, 'denied', { code: replay === 'denied' ? 'REPLAY_DETECTED' : 'KEY_UNKNOWN' });
      return mismatches(b).map((m) => m.message);
    };
    expect(lost('denied')).toEqual([]);
    expect(lost('executed')).toEqual([]);
    expect(lost('wrong')).toEqual([expect.stringMatching(/^expected .*denied with REPLAY_DETECTED.*; recorded denied with KEY_UNKNOWN/)]);
  });

  it('accepts a request lost in a crash with or without its effect, and still catches one never answered without a crash', () => {
    const unanswered = (crash: boolean, executed: boolean) => {
      const b = new HistoryBuilder();
      const request = b.request();
      const sent = b.send(request);
      // The Control Plane allowed it: without a crash, the chart says it executes.
      const { envelope } = b.allow(request);
      if (executed) b.effectOf(request, envelope);
      if (crash) b.heal(b.fault('crash'));
      b.respond(sent, 'indeterminate');
      return mismatches(b).map((m) => m.message);
    };
    expect(unanswered(true, false)).toEqual([]);
    expect(unanswered(true, true)).toEqual([]);
    expect(unanswered(false, false)).toEqual([expect.stringMatching(/^expected executed \(1 effect\); recorded indeterminate \(no effect\)$/)]);
  });

  it('accepts either winner among concurrent duplicates, but not two', () => {
    const race = (firstWins: boolean, bothExecute = false) => {
      const b = new HistoryBuilder();
      const request = b.request();
      const first = b.send(request);
      const second = b.resend(first);
      b.tick();
      const winner = firstWins ? first : second;
      const loser = firstWins ? second : first;
      // The replay check comes before policy: the loser is refused while the winner waits.
      if (!bothExecute) b.respond(loser, 'denied', { code: 'REPLAY_DETECTED' });
      const { envelope } = b.allow(request);
      b.effectOf(request, envelope);
      b.respond(winner, 'executed');
      if (bothExecute) {
        const again = b.allow(request).envelope;
        b.effectOf(request, again);
        b.respond(loser, 'executed');
      }
      return mismatches(b);
    };
    expect(race(true)).toEqual([]);
    expect(race(false)).toEqual([]);
    expect(race(true, true).map((m) => m.message)).toEqual([
      expect.stringMatching(/^expected denied with REPLAY_DETECTED .*recorded executed/),
      expect.stringMatching(/^expected denied with REPLAY_DETECTED .*recorded executed/),
    ]);
  });

  it('reads faults from their spans: a nonce store down the whole time must deny, one healed as the request came is open', () => {
    const down = new HistoryBuilder();
    const span = down.fault('nonce-store-down');
    down.tick();
    down.executeRequest();
    down.heal(span);
    expect(mismatches(down).map((m) => m.message)).toEqual(['expected denied with NONCE_STORE_UNAVAILABLE (no effect); recorded executed (1 effect)']);

    const healing = new HistoryBuilder();
    const brief = healing.fault('nonce-store-down');
    healing.heal(brief); // healed in the very millisecond the request is sent, but recorded before it
    healing.executeRequest();
    const r = rederive(healing.build());
    expect(r.requests[0]!.ok).toBe(true);
    expect(r.requests[0]!.answers.nonceStore).toBeUndefined();
    // A kit of an older version knows the heal by its millisecond alone: then either answer is possible.
    const older = healing.build();
    for (const e of older.events) if (e.kind === 'fault') delete e.untilIndex;
    const o = rederive(older);
    expect(o.requests[0]!.ok).toBe(true);
    expect(o.requests[0]!.answers.nonceStore?.sort()).toEqual(['available', 'unavailable']);
  });

  it('orders a fault begun in the very millisecond a request was answered by the events: it came after (found with native crypto)', () => {
    const b = new HistoryBuilder();
    const request = b.request();
    const sent = b.send(request);
    b.policy(request, { kind: 'garbage', body: 'not json' });
    b.auditDenial(sent, 'CONTROL_PLANE_MALFORMED', 'trace-g');
    b.respond(sent, 'denied', { code: 'CONTROL_PLANE_MALFORMED', trace_id: 'trace-g' });
    const span = b.fault('nonce-store-down'); // same millisecond, recorded after the answer
    b.tick(1);
    b.heal(span);
    expect(mismatches(b)).toEqual([]);
  });

  it("judges freshness by the system's clock when the harness skewed it", () => {
    const b = new HistoryBuilder();
    const skew = b.fault('clock-offset', `${400_000} ms`);
    b.executeRequest();
    b.tick();
    b.heal(skew);
    expect(mismatches(b)[0]?.message).toMatch(/^expected denied with TIMESTAMP_STALE/);
  });

  it('accepts either clock for a request answered in the very millisecond a skew healed (found under load)', () => {
    const b = new HistoryBuilder();
    const skew = b.fault('clock-offset', `${400_000} ms`);
    b.tick();
    const request = b.request({ timestamp: b.nowSec });
    const sent = b.send(request);
    b.heal(skew); // same millisecond as the request: the recorded times cannot order the two
    const { envelope } = b.allow(request);
    b.effectOf(request, envelope);
    b.auditIntent(sent, envelope.approval_id, 'trace-x');
    b.respond(sent, 'executed', { trace_id: 'trace-x' });
    expect(mismatches(b)).toEqual([]);
  });

  it('orders a clock skew begun in the very millisecond a direct call was answered by the events: it came after (found by `failclosed run --seed 1`)', () => {
    const replayOfConsumed = (skewRecorded: 'after' | 'before', code?: 'ENVELOPE_EXPIRED') => {
      const b = new HistoryBuilder();
      const { request, envelope } = b.executeRequest();
      const call = { envelope: envelope as unknown as JsonValue, request_id: request.request_id, identity: request.identity, action: request.action, parameters: request.parameters };
      // A restart in the call's millisecond, so the call's interval is that one millisecond.
      b.heal(b.fault('crash'));
      // 120 s back: the envelope would not yet be valid under the skew.
      const skewBefore = skewRecorded === 'before' ? b.fault('clock-offset', '-120000 ms') : undefined;
      b.directCall({ ...call, status: 'denied', code: code ?? (skewRecorded === 'before' ? 'ENVELOPE_NOT_YET_VALID' : 'ENVELOPE_REPLAYED') });
      const skew = skewBefore ?? b.fault('clock-offset', '-120000 ms'); // same millisecond as the call
      b.tick(8);
      b.heal(skew);
      b.directCall({ ...call, status: 'denied', code: 'ENVELOPE_REPLAYED' });
      return mismatches(b).map((m) => m.message);
    };
    expect(replayOfConsumed('after')).toEqual([]);
    expect(replayOfConsumed('before')).toEqual([]);
    expect(replayOfConsumed('after', 'ENVELOPE_EXPIRED')).toEqual([expect.stringMatching(/recorded denied with ENVELOPE_EXPIRED/)]);
  });

  it('catches an effect under another approval than the one the Control Plane gave', () => {
    const b = new HistoryBuilder();
    const request = b.request();
    const sent = b.send(request);
    const { envelope } = b.allow(request);
    b.effectOf(request, envelope, { approval_id: 'some-other-approval' });
    b.respond(sent, 'executed');
    expect(mismatches(b)[0]?.message).toMatch(/executed under some-other-approval, not the approval appr-\d+ the Control Plane gave/);
  });

  it('re-derives direct calls and reports effects nobody explains', () => {
    const b = new HistoryBuilder();
    const forged = b.envelopeFor(b.request({ parameters: { to: 'bob', amount: 10 } }), {}, STRANGER_KEY);
    b.effect({ approval_id: forged.approval_id, request_id: forged.request_id, identity: 'alice', action: 'payments.transfer', parameters: { to: 'bob', amount: 10 } });
    b.directCall({ envelope: forged as unknown as JsonValue, request_id: forged.request_id, identity: 'alice', action: 'payments.transfer', parameters: { to: 'bob', amount: 10 }, status: 'executed' });
    b.tick();
    b.effect({ identity: 'alice', action: 'payments.transfer', parameters: {} });
    const r = rederive(b.build());
    expect(r.directCalls[0]!.message).toBe('expected denied with ENVELOPE_SIGNATURE_INVALID (no effect); recorded executed (1 effect)');
    expect(r.unexplainedEffects.map((e) => e.eventIndex)).toEqual([2]);
  });
});
