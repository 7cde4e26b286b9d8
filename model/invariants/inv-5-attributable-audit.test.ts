import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { History } from '../history.ts';
import type { JsonValue } from '../profile/canonical-json.ts';
import { canonicalize } from '../profile/canonical-json.ts';
import { digestJson, sha256Digest } from '../profile/digest.ts';
import { HistoryBuilder, TEST_KEYS, addCompliantTraffic, rechainAudit } from '../history-builder.ts';
import { checkInv5 } from './inv-5-attributable-audit.ts';
import { readRequest } from '../profile/request-checks.ts';
import { fromBase64Url } from '../profile/encoding.ts';
import { expectCaught, expectHolds } from './verdict-expectations.ts';

function compliant(): HistoryBuilder {
  const b = new HistoryBuilder();
  addCompliantTraffic(b);
  return b;
}

const lastAuditIndex = (b: HistoryBuilder): number => b.audit.length - 1;
type JsonRecord = { [key: string]: JsonValue };
const recordAt = (history: History, index: number): JsonRecord => history.audit[index] as JsonRecord;

describe('INV-5 attributable audit of every request', () => {
  it('accepts the compliant traffic', () => {
    const history = compliant().build();
    const verdict = checkInv5(history);
    expectHolds(verdict);
    expect(verdict.examined).toBe(history.audit.length + 7 /* requests */ + 1 /* effect */);
  });

  const unconfirmed = (close: 'denial' | 'allow-unknown') => {
    const b = compliant();
    const request = b.request();
    const traceId = b.traceId();
    const sent = b.send(request);
    const { envelope } = b.allow(request);
    b.auditIntent(sent, envelope.approval_id, traceId);
    b.effectOf(request, envelope);
    if (close === 'denial') {
      b.appendAudit({ ...b.attribution(sent), decision: 'deny', stage: 'final', trace_id: traceId, code: 'EXECUTION_UNCONFIRMED', approval_id: envelope.approval_id, outcome: 'unknown' });
    } else {
      b.auditOutcome(sent, envelope.approval_id, traceId, 'unknown');
    }
    b.respond(sent, 'denied', { code: 'EXECUTION_UNCONFIRMED', trace_id: traceId });
    return b.build();
  };

  it('accepts an EXECUTION_UNCONFIRMED request closed as a denial with that code and outcome unknown', () => {
    expectHolds(checkInv5(unconfirmed('denial')));
  });

  it('catches an EXECUTION_UNCONFIRMED request closed as an allow: a denial record must carry the code', () => {
    expectCaught(checkInv5(unconfirmed('allow-unknown')), 'INV-5', { message: /no final denial record with that code/ });
  });

  it('accepts a record naming the identity a malformed body claims, or "unknown"', () => {
    for (const identity of ['alice', 'unknown']) {
      const b = compliant();
      const sent = b.send('{"identity":"alice","action":"payments.transfer"}');
      const traceId = b.traceId();
      b.appendAudit({ ...b.attribution(sent), identity, decision: 'deny', stage: 'final', trace_id: traceId, code: 'REQUEST_MALFORMED' });
      b.respond(sent, 'denied', { code: 'REQUEST_MALFORMED', trace_id: traceId });
      expectHolds(checkInv5(b.build()));
    }
  });

  it('catches an audit log that could not be exported', () => {
    const b = compliant();
    b.auditExported = false;
    const traffic = b.build();
    expectCaught(checkInv5(traffic), 'INV-5', { events: [0], message: /could not be exported/ });
  });

  it('catches a record that is not a valid audit record', () => {
    const b = compliant();
    const sent = b.send(b.request());
    b.appendAudit({ ...b.attribution(sent), decision: 'deny', stage: 'final', trace_id: b.traceId() }); // a denial without its code
    expectCaught(checkInv5(b.build()), 'INV-5', { audit: [lastAuditIndex(b)], message: /not a valid audit record.*code/ });
  });

  it('catches a chain that does not start at the zero digest', () => {
    const history = compliant().build();
    history.audit = rechainAudit(history.audit, sha256Digest('an earlier, hidden log')) as unknown as JsonValue[];
    expectCaught(checkInv5(history), 'INV-5', { audit: [0], message: /begins a chain, but its prev_hash is not the zero digest/ });
  });

  it('accepts one chain per replica, each from the zero digest, and catches a replica chain that does not start there', () => {
    const history = compliant().build();
    const half = Math.floor(history.audit.length / 2);
    // Two logs, as two replicas would export them: each its own chain.
    history.audit = [...rechainAudit(history.audit.slice(0, half)), ...rechainAudit(history.audit.slice(half))] as unknown as JsonValue[];
    expectCaught(checkInv5(history), 'INV-5', { audit: [half - 1, half], message: /does not link/ });
    history.auditChainStarts = [half];
    expectHolds(checkInv5(history));
    history.audit = [...history.audit.slice(0, half), ...rechainAudit(history.audit.slice(half), sha256Digest('elsewhere'))] as unknown as JsonValue[];
    expectCaught(checkInv5(history), 'INV-5', { audit: [half], message: /begins a chain/ });
  });

  it('catches a record changed after it was written', () => {
    const history = compliant().build();
    recordAt(history, 3).timestamp_ms = 0;
    expectCaught(checkInv5(history), 'INV-5', { audit: [3], message: /changed after it was written/ });
  });

  it('catches a record deleted from the middle of the chain', () => {
    const history = compliant().build();
    history.audit.splice(2, 1);
    expectCaught(checkInv5(history), 'INV-5', { audit: [1, 2], message: /does not link/ });
  });

  it('catches a request with no final record, on an intact chain', () => {
    const b = compliant();
    const sent = b.send('not json at all');
    b.respond(sent, 'denied', { code: 'REQUEST_MALFORMED' });
    expectCaught(checkInv5(b.build()), 'INV-5', { events: [sent.eventIndex], message: /has no final audit record/ });
  });

  it('catches the same bytes sent twice with a single final record', () => {
    const b = new HistoryBuilder();
    const first = b.executeRequest();
    const replay = b.resend(first.sent);
    b.respond(replay, 'denied', { code: 'REPLAY_DETECTED' });
    expectCaught(checkInv5(b.build()), 'INV-5', { events: [first.sent.eventIndex, replay.eventIndex], message: /same bytes 2 times/ });
  });

  it('catches one trace id shared by the records of two requests', () => {
    const b = compliant();
    const one = b.send(b.request());
    const two = b.send(b.request());
    b.auditDenial(one, 'POLICY_DENIED', 'trace-shared');
    b.auditDenial(two, 'POLICY_DENIED', 'trace-shared');
    b.respond(one, 'denied', { code: 'POLICY_DENIED', trace_id: 'trace-shared' });
    b.respond(two, 'denied', { code: 'POLICY_DENIED', trace_id: 'trace-shared' });
    const last = lastAuditIndex(b);
    expectCaught(checkInv5(b.build()), 'INV-5', { audit: [last - 1, last], message: /trace-shared disagree/ });
  });

  describe('trace_id (CONTRACT.md section 3): fresh for every HTTP request received, joining one request', () => {
    it('catches identical bytes sent twice that were answered with one trace_id', () => {
      // Two denials, each audited: every old check holds; only the shared trace gives it away.
      const b = compliant();
      const first = b.send(b.request({}, TEST_KEYS.bob));
      const again = b.resend(first);
      b.auditDenial(first, 'SIGNATURE_INVALID', 'trace-of-the-bytes');
      b.auditDenial(again, 'SIGNATURE_INVALID', 'trace-of-the-bytes');
      const r1 = b.respond(first, 'denied', { code: 'SIGNATURE_INVALID', trace_id: 'trace-of-the-bytes' });
      const r2 = b.respond(again, 'denied', { code: 'SIGNATURE_INVALID', trace_id: 'trace-of-the-bytes' });
      const verdict = checkInv5(b.build());
      expectCaught(verdict, 'INV-5', { events: [r1, r2], message: /same trace_id trace-of-the-bytes: .*identical bytes sent twice included/ });
      expect(verdict.violations).toHaveLength(1);
    });

    it('catches a trace answered to one request that closes two outcomes', () => {
      const b = compliant();
      const sent = b.send(b.request());
      b.auditDenial(sent, 'POLICY_DENIED', 'trace-twice');
      b.auditDenial(sent, 'CONTROL_PLANE_TIMEOUT', 'trace-twice');
      b.respond(sent, 'denied', { code: 'POLICY_DENIED', trace_id: 'trace-twice' });
      expectCaught(checkInv5(b.build()), 'INV-5', { events: [sent.eventIndex], message: /holds the final records of 2 different outcomes/ });
    });

    it('accepts one final record written twice (a spooled record re-appended after a crash)', () => {
      const b = compliant();
      const sent = b.send(b.request());
      b.auditDenial(sent, 'POLICY_DENIED', 'trace-again');
      b.auditDenial(sent, 'POLICY_DENIED', 'trace-again');
      b.respond(sent, 'denied', { code: 'POLICY_DENIED', trace_id: 'trace-again' });
      expectHolds(checkInv5(b.build()));
    });
  });

  describe('a request in flight when the gate crashed (CONTRACT.md section 9, restart)', () => {
    it('may lack its final record when it was never answered', () => {
      const b = compliant();
      const sent = b.send(b.request());
      b.heal(b.fault('crash', 'replica 1'));
      b.respond(sent, 'indeterminate');
      expectHolds(checkInv5(b.build()));
    });

    it('must have it when it was answered, or when no crash overlapped it', () => {
      const answered = compliant();
      const sent = answered.send(answered.request());
      answered.heal(answered.fault('crash'));
      answered.respond(sent, 'denied', { code: 'AUDIT_UNAVAILABLE', trace_id: answered.traceId() });
      expectCaught(checkInv5(answered.build()), 'INV-5', { events: [sent.eventIndex], message: /has no final audit record/ });
      const noCrash = compliant();
      const lost = noCrash.send(noCrash.request());
      noCrash.respond(lost, 'indeterminate');
      expectCaught(checkInv5(noCrash.build()), 'INV-5', { events: [lost.eventIndex], message: /has no final audit record/ });
    });
  });

  it('catches a reported success whose trace records a denial', () => {
    const b = compliant();
    const request = b.request();
    const sent = b.send(request);
    const { envelope } = b.allow(request);
    const traceId = b.traceId();
    b.auditIntent(sent, envelope.approval_id, traceId);
    b.effectOf(request, envelope);
    b.auditDenial(sent, 'EXECUTION_UNAVAILABLE', traceId);
    const responseIndex = b.respond(sent, 'executed', { trace_id: traceId });
    expectCaught(checkInv5(b.build()), 'INV-5', { events: [sent.eventIndex, responseIndex], audit: [lastAuditIndex(b)], message: /no final record of an executed allow/ });
  });

  it('catches a denial whose trace records another code', () => {
    const b = compliant();
    const sent = b.send(b.request());
    const traceId = b.traceId();
    b.auditDenial(sent, 'POLICY_DENIED', traceId);
    const responseIndex = b.respond(sent, 'denied', { code: 'CONTROL_PLANE_TIMEOUT', trace_id: traceId });
    expectCaught(checkInv5(b.build()), 'INV-5', { events: [responseIndex], audit: [lastAuditIndex(b)], message: /CONTROL_PLANE_TIMEOUT/ });
  });

  it("catches a response pointing at another request's trace", () => {
    const b = compliant();
    const { traceId } = b.denyByPolicy();
    const sent = b.send(b.request());
    b.auditDenial(sent, 'POLICY_DENIED', b.traceId());
    const responseIndex = b.respond(sent, 'denied', { code: 'POLICY_DENIED', trace_id: traceId });
    expectCaught(checkInv5(b.build()), 'INV-5', { events: [sent.eventIndex, responseIndex], message: /records other bytes/ });
  });

  it('catches an effect that no intent record announced', () => {
    const b = compliant();
    const request = b.request();
    const sent = b.send(request);
    const { envelope } = b.allow(request);
    const effectIndex = b.effectOf(request, envelope);
    const traceId = b.traceId();
    b.auditOutcome(sent, envelope.approval_id, traceId);
    b.respond(sent, 'executed', { trace_id: traceId });
    expectCaught(checkInv5(b.build()), 'INV-5', { events: [effectIndex], message: /no intent record announced/ });
  });

  it('catches a phantom record for a request nobody sent', () => {
    const b = compliant();
    b.appendAudit({
      identity: 'alice',
      decision: 'deny',
      stage: 'final',
      request_hash: sha256Digest('a request that never came'),
      trace_id: b.traceId(),
      data_hash: sha256Digest(''),
      code: 'POLICY_DENIED',
    });
    expectCaught(checkInv5(b.build()), 'INV-5', { audit: [lastAuditIndex(b)], message: /never sent/ });
  });

  it('catches a record naming another identity than the sender', () => {
    const b = compliant();
    const sent = b.send(b.request({ identity: 'alice' }));
    const traceId = b.traceId();
    b.appendAudit({ ...b.attribution(sent), identity: 'bob', decision: 'deny', stage: 'final', trace_id: traceId, code: 'POLICY_DENIED' });
    b.respond(sent, 'denied', { code: 'POLICY_DENIED', trace_id: traceId });
    expectCaught(checkInv5(b.build()), 'INV-5', { events: [sent.eventIndex], audit: [lastAuditIndex(b)], message: /names identity "bob"/ });
  });

  it('catches a record of an unparseable body that names an identity', () => {
    const b = compliant();
    const sent = b.send('{"half": ');
    const traceId = b.traceId();
    b.appendAudit({ ...b.attribution(sent), identity: 'alice', decision: 'deny', stage: 'final', trace_id: traceId, code: 'REQUEST_MALFORMED' });
    b.respond(sent, 'denied', { code: 'REQUEST_MALFORMED', trace_id: traceId });
    expectCaught(checkInv5(b.build()), 'INV-5', { events: [sent.eventIndex], audit: [lastAuditIndex(b)], message: /"unknown"/ });
  });

  it('catches a data hash that is not the digest of the parameters', () => {
    const b = compliant();
    const sent = b.send(b.request());
    const traceId = b.traceId();
    b.appendAudit({ ...b.attribution(sent), data_hash: sha256Digest('{}'), decision: 'deny', stage: 'final', trace_id: traceId, code: 'POLICY_DENIED' });
    b.respond(sent, 'denied', { code: 'POLICY_DENIED', trace_id: traceId });
    expectCaught(checkInv5(b.build()), 'INV-5', { audit: [lastAuditIndex(b)], message: /data_hash/ });
  });

  describe('data_hash (CONTRACT.md section 7): the parameters once the request passed the schema, else the empty-string hash', () => {
    const EMPTY = sha256Digest('');
    /** A request answered REQUEST_MALFORMED or NONCE_MALFORMED, recorded with this data_hash. */
    const recorded = (body: string, code: 'REQUEST_MALFORMED' | 'NONCE_MALFORMED', dataHash: string) => {
      const b = compliant();
      const sent = b.send(body);
      const traceId = b.traceId();
      b.appendAudit({ ...b.attribution(sent), data_hash: dataHash as never, decision: 'deny', stage: 'final', trace_id: traceId, code });
      b.respond(sent, 'denied', { code, trace_id: traceId });
      return { b, history: b.build() };
    };

    it('a body that is not strict JSON: the empty-string hash and nothing else', () => {
      const body = '{"identity":"alice","parameters":{"amount":1},"parameters":{"amount":2}}'; // duplicate key
      expectHolds(checkInv5(recorded(body, 'REQUEST_MALFORMED', EMPTY).history));
      for (const other of [digestJson({ amount: 1 }), digestJson({ amount: 2 }), sha256Digest(body)]) {
        const { b, history } = recorded(body, 'REQUEST_MALFORMED', other);
        expectCaught(checkInv5(history), 'INV-5', { audit: [lastAuditIndex(b)], message: /data_hash/ });
      }
    });

    it('strict JSON that fails the schema: the empty-string hash, or the digest of the parameters it carries', () => {
      const body = canonicalize({ identity: 'alice', action: 'payments.transfer', parameters: { amount: 1 } } as JsonValue);
      for (const accepted of [EMPTY, digestJson({ amount: 1 })]) expectHolds(checkInv5(recorded(body, 'REQUEST_MALFORMED', accepted).history));
      const { b, history } = recorded(body, 'REQUEST_MALFORMED', digestJson({ amount: 2 }));
      expectCaught(checkInv5(history), 'INV-5', { audit: [lastAuditIndex(b)], message: /data_hash/ });
    });

    it('a request whole but for its nonce: the digest of its parameters (the reference), or the empty-string hash', () => {
      const b0 = new HistoryBuilder();
      const request = b0.request({ nonce: 'short' });
      const body = canonicalize(request as unknown as JsonValue);
      for (const accepted of [digestJson(request.parameters), EMPTY]) expectHolds(checkInv5(recorded(body, 'NONCE_MALFORMED', accepted).history));
      const { b, history } = recorded(body, 'NONCE_MALFORMED', digestJson({ other: true }));
      expectCaught(checkInv5(history), 'INV-5', { audit: [lastAuditIndex(b)], message: /data_hash/ });
    });

    it('a valid request over 64 KiB that the gate chose not to read (REQUEST_MALFORMED): as a body it could not parse', () => {
      const b = compliant();
      const sent = b.send(b.request({ parameters: { blob: 'x'.repeat(100 * 1024) } }));
      const traceId = b.traceId();
      b.appendAudit({ request_hash: sent.requestHash, identity: 'unknown', data_hash: EMPTY, decision: 'deny', stage: 'final', trace_id: traceId, code: 'REQUEST_MALFORMED' });
      b.respond(sent, 'denied', { code: 'REQUEST_MALFORMED', trace_id: traceId });
      expectHolds(checkInv5(b.build()));
    });

    it('a request that passed the schema: the digest of its canonical parameters, never the empty-string hash', () => {
      const b = compliant();
      const sent = b.send(b.request());
      const traceId = b.traceId();
      b.appendAudit({ ...b.attribution(sent), data_hash: EMPTY, decision: 'deny', stage: 'final', trace_id: traceId, code: 'POLICY_DENIED' });
      b.respond(sent, 'denied', { code: 'POLICY_DENIED', trace_id: traceId });
      expectCaught(checkInv5(b.build()), 'INV-5', { audit: [lastAuditIndex(b)], message: /data_hash/ });
    });
  });

  describe('approval_id and outcome (CONTRACT.md section 7): the intent record marks the dispatch', () => {
    /** An approved request whose intent is written, closed by `close`. */
    const dispatched = (close: (b: HistoryBuilder, sent: ReturnType<HistoryBuilder['send']>, approvalId: string, traceId: string) => { code?: string }) => {
      const b = compliant();
      const request = b.request();
      const traceId = b.traceId();
      const sent = b.send(request);
      const { envelope } = b.allow(request);
      b.auditIntent(sent, envelope.approval_id, traceId);
      const { code } = close(b, sent, envelope.approval_id, traceId);
      b.respond(sent, 'denied', { code: code as never, trace_id: traceId });
      return { b, history: b.build() };
    };
    const denial = (code: string, extra: Record<string, string> = {}) => (b: HistoryBuilder, sent: ReturnType<HistoryBuilder['send']>, approvalId: string, traceId: string) => {
      b.appendAudit({ ...b.attribution(sent), decision: 'deny', stage: 'final', trace_id: traceId, code: code as never, approval_id: approvalId, ...extra });
      return { code };
    };

    it('accepts a dispatch the Execution Layer refused (its code relayed) or never received, closed with the approval and "failed"', () => {
      for (const code of ['ENVELOPE_BINDING_MISMATCH', 'ENVELOPE_REPLAYED', 'EXECUTION_UNAVAILABLE']) {
        expectHolds(checkInv5(dispatched(denial(code, { outcome: 'failed' })).history));
      }
    });

    it('catches a dispatched request whose final denial carries no outcome, or names another approval', () => {
      expectCaught(checkInv5(dispatched(denial('EXECUTION_UNAVAILABLE')).history), 'INV-5', { message: /does not close its dispatch/ });
      const other = dispatched((b, sent, _approvalId, traceId) => {
        b.appendAudit({ ...b.attribution(sent), decision: 'deny', stage: 'final', trace_id: traceId, code: 'ENVELOPE_REPLAYED', approval_id: 'approval-of-someone-else', outcome: 'failed' });
        return { code: 'ENVELOPE_REPLAYED' };
      });
      expectCaught(checkInv5(other.history), 'INV-5', { message: /must carry that approval_id/ });
    });

    it('catches "unknown" on a dispatch that did not end unconfirmed', () => {
      expectCaught(checkInv5(dispatched(denial('EXECUTION_UNAVAILABLE', { outcome: 'unknown' })).history), 'INV-5', { message: /not a valid audit record.*EXECUTION_UNCONFIRMED/ });
    });

    it('catches a dispatched request closed with a denial from before dispatch', () => {
      expectCaught(checkInv5(dispatched(denial('POLICY_DENIED', { outcome: 'failed' })).history), 'INV-5', { message: /a denial before dispatch/ });
    });

    it('catches a denial before dispatch that says it may have run, and a dispatch-stage denial without its intent', () => {
      const denial = (extra: { outcome?: 'failed' | 'unknown' | 'executed'; approval_id?: string }) => {
        const b = compliant();
        const request = b.request();
        const traceId = b.traceId();
        const sent = b.send(request);
        b.allow(request);
        b.appendAudit({ ...b.attribution(sent), decision: 'deny', stage: 'final', trace_id: traceId, code: 'AUDIT_UNAVAILABLE', ...extra });
        b.respond(sent, 'denied', { code: 'AUDIT_UNAVAILABLE', trace_id: traceId });
        return b;
      };
      // True of a request never dispatched: the envelope it got, and that it certainly did not run.
      expectHolds(checkInv5(denial({ approval_id: 'approval-1' }).build()));
      expectHolds(checkInv5(denial({ approval_id: 'approval-1', outcome: 'failed' }).build()));
      const b = denial({ approval_id: 'approval-1', outcome: 'executed' });
      expectCaught(checkInv5(b.build()), 'INV-5', { audit: [lastAuditIndex(b)], message: /not a valid audit record|never dispatched/ });
      const d = compliant();
      const request = d.request();
      const traceId = d.traceId();
      const sent = d.send(request);
      d.allow(request);
      d.appendAudit({ ...d.attribution(sent), decision: 'deny', stage: 'final', trace_id: traceId, code: 'EXECUTION_UNAVAILABLE' });
      d.respond(sent, 'denied', { code: 'EXECUTION_UNAVAILABLE', trace_id: traceId });
      expectCaught(checkInv5(d.build()), 'INV-5', { audit: [lastAuditIndex(d)], message: /a denial at dispatch, but has no intent record/ });
    });
  });

  describe('gateway events (CONTRACT.md section 7), when the gate serves any', () => {
    /** The events a correct gate serves for a history's answered requests. */
    function withEvents(history: History, edit: (events: { request_id: string; trace_id: string; event: string; timestamp_ms: number; code?: string }[]) => void = () => undefined): History {
      const bodies = new Map(history.events.flatMap((e) => (e.kind === 'request' ? [[e.op, e.body] as const] : [])));
      const events: { request_id: string; trace_id: string; event: string; timestamp_ms: number; code?: string }[] = [];
      for (const e of history.events) {
        if (e.kind !== 'response' || !e.trace_id || e.status === 'indeterminate' || e.code === 'REQUEST_MALFORMED') continue;
        const parsed = readRequest(fromBase64Url(bodies.get(e.op) ?? '') ?? new Uint8Array());
        const requestId = parsed.ok ? parsed.request.request_id : e.request_id ?? 'unknown';
        events.push({ request_id: requestId, trace_id: e.trace_id, event: 'accepted', timestamp_ms: e.at });
        events.push({ request_id: requestId, trace_id: e.trace_id, event: e.status === 'executed' ? 'completed' : 'failed', timestamp_ms: e.at, ...(e.code ? { code: e.code } : {}) });
      }
      edit(events);
      const at = history.events.at(-1)?.at ?? 0;
      return { ...history, events: [...history.events, ...events.map((event) => ({ kind: 'gateway-event' as const, at, event: event as never }))] };
    }
    const traffic = () => {
      const b = compliant();
      const nonce = b.send(b.request({ nonce: 'short' }));
      const traceId = b.traceId();
      b.auditDenial(nonce, 'NONCE_MALFORMED', traceId);
      b.respond(nonce, 'denied', { code: 'NONCE_MALFORMED', trace_id: traceId });
      return { history: b.build(), nonceTrace: traceId };
    };

    it('accepts a gate serving the events of every request, and one serving none at all', () => {
      expectHolds(checkInv5(withEvents(traffic().history)));
      expectHolds(checkInv5(traffic().history));
    });

    it('accepts NONCE_MALFORMED with no events, or with "accepted" then "failed"', () => {
      const { history, nonceTrace } = traffic();
      expectHolds(checkInv5(withEvents(history, (events) => events.splice(0, events.length, ...events.filter((e) => e.trace_id !== nonceTrace)))));
    });

    it('catches a request with a missing, doubled, wrong or misordered event', () => {
      const edits: [string, (events: { event: string; code?: string; timestamp_ms: number; request_id: string }[]) => void, RegExp][] = [
        ['no "accepted"', (events) => void events.splice(events.findIndex((e) => e.event === 'accepted'), 1), /must have one "accepted" event/],
        ['two closing events', (events) => void events.push({ ...events.find((e) => e.event === 'completed')! }), /must have one "accepted" event, then one "completed"/],
        ['"completed" for a denial', (events) => void (events.find((e) => e.event === 'failed')!.event = 'completed'), /then one "failed with/],
        ['another code', (events) => void (events.find((e) => e.event === 'failed')!.code = 'TIMESTAMP_STALE'), /failed with/],
        ['out of order', (events) => void (events.find((e) => e.event === 'accepted')!.timestamp_ms += 10_000), /out of order/],
        ['another request_id', (events) => void (events.find((e) => e.event === 'completed')!.request_id = 'someone-else'), /keyed by another request_id/],
      ];
      for (const [what, edit, message] of edits) {
        expect(() => expectCaught(checkInv5(withEvents(traffic().history, edit)), 'INV-5', { message }), what).not.toThrow();
      }
    });

    it('catches an "accepted" event for a request denied REQUEST_MALFORMED, which never passed its structure check', () => {
      const b = compliant();
      const { traceId: trace } = b.denyAtGate('{"not":"a request"}', 'REQUEST_MALFORMED');
      const history = b.build();
      const failed = { request_id: 'broken', trace_id: trace, event: 'failed', timestamp_ms: 2, code: 'REQUEST_MALFORMED' };
      // A "failed" alone is what a gate that read a request_id may serve.
      expectHolds(checkInv5(withEvents(history, (events) => void events.push(failed))));
      const { code: _code, ...accepted } = { ...failed, event: 'accepted', timestamp_ms: 1 };
      const caught = withEvents(history, (events) => void events.push(accepted, failed));
      expectCaught(checkInv5(caught), 'INV-5', { message: /denied REQUEST_MALFORMED, so it never passed its structure check/ });
    });

    it('judges only requests sent after the last crash: events need not survive a restart', () => {
      const { history } = traffic();
      const crashAt = (history.events.at(-1)?.at ?? 0) + 1;
      const crashed: History = { ...history, events: [...history.events, { kind: 'fault', fault: 'crash', at: crashAt, until: crashAt }] };
      // All its events were lost in the crash, but for one served afterwards.
      expectHolds(checkInv5(withEvents(crashed, (events) => void events.splice(1))));
    });
  });

  type Tamper =
    | { kind: 'edit'; at: number; field: number; value: JsonValue }
    | { kind: 'delete'; at: number }
    | { kind: 'swap'; a: number; b: number }
    | { kind: 'insert-copy'; from: number; to: number };

  const tamper: fc.Arbitrary<Tamper> = fc.oneof(
    fc.record({ kind: fc.constant('edit' as const), at: fc.nat(), field: fc.nat(), value: fc.jsonValue() as fc.Arbitrary<JsonValue> }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('swap' as const), a: fc.nat(), b: fc.nat() }),
    fc.record({ kind: fc.constant('insert-copy' as const), from: fc.nat(), to: fc.nat() }),
  );

  /** Applies one tampering to a copy of the log, always changing it. */
  function applyTamper(audit: readonly JsonValue[], t: Tamper): JsonValue[] {
    const log = structuredClone(audit) as JsonRecord[];
    const n = log.length;
    switch (t.kind) {
      case 'edit': {
        const record = log[t.at % n]!;
        const fields = Object.keys(record);
        const field = fields[t.field % fields.length]!;
        const original = record[field]!;
        // Wrapping a value that canonicalizes like the original still makes it a different one.
        record[field] = canonicalize(t.value) === canonicalize(original) ? [t.value] : t.value;
        break;
      }
      case 'delete':
        log.splice(t.at % n, 1);
        break;
      case 'swap': {
        const a = t.a % n;
        const b = t.a % n === t.b % n ? (a + 1) % n : t.b % n;
        [log[a], log[b]] = [log[b]!, log[a]!];
        break;
      }
      case 'insert-copy':
        log.splice(t.to % (n + 1), 0, structuredClone(log[t.from % n]!));
        break;
    }
    return log;
  }

  it('catches any single tampering of a valid audit chain (edit, delete, swap, insert a copy)', () => {
    const history = compliant().build();
    expectHolds(checkInv5(history));
    fc.assert(
      fc.property(tamper, (t) => {
        const verdict = checkInv5({ ...history, audit: applyTamper(history.audit, t) });
        expect(verdict.holds).toBe(false);
        expect(verdict.violations.every((v) => v.invariant === 'INV-5' && (v.auditIndexes?.length ?? 0) + v.eventIndexes.length > 0)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
