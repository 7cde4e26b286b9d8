/**
 * INV-5 — Attributable audit of every request: the exported log is a continuous hash chain of
 * well-formed records, every request sent (malformed and denied ones included) has its own final
 * record, the records agree with what the Gate answered and with who sent the bytes, every effect
 * was announced by an intent record, and nothing in the log stands for a request nobody sent.
 */
import type { History, InvariantVerdict, Violation } from '../history.ts';
import type { JsonValue } from '../profile/canonical-json.ts';
import type { Digest } from '../profile/digest.ts';
import { ZERO_DIGEST, sha256Digest } from '../profile/digest.ts';
import type { AuditRecord, GatewayEvent } from '../profile/messages.ts';
import type { DenialCodeInfo } from '../profile/denial-codes.ts';
import { DENIAL_CODES, isDenialCode } from '../profile/denial-codes.ts';
import { validateAuditRecord, validateGatewayEvent } from '../profile/messages.ts';
import type { HistoryIndex, RequestOp } from './history-index.ts';
import { buildHistoryIndex, digestJsonOrUndefined, isJsonObject, witnesses } from './history-index.ts';

export const INV_5_STATEMENT =
  'Every request, denied or malformed ones included, has attributable records in one continuous hash chain that agree with what the Gate answered, and every effect was audited before it happened.';

const EMPTY_DATA_HASH = sha256Digest('');

/** Stages that deny before the intent record is written: such a request was never dispatched. */
const PRE_DISPATCH_STAGES: ReadonlySet<DenialCodeInfo['stage']> = new Set(['structure', 'authentication', 'replay', 'policy', 'audit']);

interface IndexedRecord {
  auditIndex: number;
  record: AuditRecord;
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** What a record's hash must be: the digest of the canonical record without record_hash. */
export function expectedRecordHash(record: { [key: string]: JsonValue }): Digest | undefined {
  const { record_hash: _excluded, ...body } = record;
  return digestJsonOrUndefined(body);
}

function checkChain(
  audit: JsonValue[],
  chainStarts: readonly number[],
  anchors: readonly string[] | undefined,
  violation: (message: string, auditIndexes: number[]) => void,
): void {
  // Each chain begins at genesis, or where the run before this one left it.
  const starts = new Map([0, ...chainStarts].map((start, chain) => [start, anchors?.[chain] ?? ZERO_DIGEST]));
  audit.forEach((raw, auditIndex) => {
    if (!isJsonObject(raw)) return; // reported by the record validation
    const anchor = starts.get(auditIndex);
    const start = anchor !== undefined;
    const previous = start ? undefined : audit[auditIndex - 1];
    const expectedPrev = start ? anchor : isJsonObject(previous) ? previous.record_hash : undefined;
    if (raw.prev_hash !== expectedPrev) {
      violation(
        start
          ? `Audit record ${auditIndex} begins a chain, but its prev_hash is not ${anchor === ZERO_DIGEST ? 'the zero digest' : `the hash of the last record before this run (${anchor})`}.`
          : `Audit record ${auditIndex} does not link to record ${auditIndex - 1}: its prev_hash is not that record's hash.`,
        auditIndex === 0 ? [0] : [auditIndex - 1, auditIndex],
      );
    }
    if (raw.record_hash !== expectedRecordHash(raw)) {
      violation(`Audit record ${auditIndex} does not hash to its record_hash: it was changed after it was written.`, [auditIndex]);
    }
  });
}

/** Identities and data hashes a record of this op may carry. */
function allowedAttribution(op: RequestOp): { identities: Set<string>; dataHashes: Set<string> } {
  if (op.parsed.ok) {
    const identities = new Set([op.parsed.request.identity]);
    const dataHashes = new Set(op.claimedParametersDigest ? [op.claimedParametersDigest] : []);
    // Between 64 KiB / depth 32 and 1 MiB / depth 64 a gate may refuse a request it did not read:
    // then it knows it no better than any body it could not parse.
    if (op.response?.event.code === 'REQUEST_MALFORMED') {
      identities.add('unknown');
      dataHashes.add(EMPTY_DATA_HASH);
    }
    return { identities, dataHashes };
  }
  // "unknown" when the request did not parse that far; a Gate may still record the claimed identity.
  const identities = new Set(['unknown']);
  if (op.claimedIdentity !== undefined) identities.add(op.claimedIdentity);
  const dataHashes = new Set<string>([EMPTY_DATA_HASH]);
  if (op.claimedParametersDigest) dataHashes.add(op.claimedParametersDigest);
  return { identities, dataHashes };
}

export function checkInv5(history: History, index: HistoryIndex = buildHistoryIndex(history)): InvariantVerdict {
  const violations: Violation[] = [];
  const violation = (message: string, eventIndexes: number[], auditIndexes: number[] = []): void => {
    violations.push({ invariant: 'INV-5', message, eventIndexes, auditIndexes: [...new Set(auditIndexes)].sort((a, b) => a - b) });
  };
  const examined = history.audit.length + index.ops.length + index.effects.length;

  if (!history.auditExported) {
    violation(
      'The audit log could not be exported, so no request can be shown to be audited.',
      index.ops.map((op) => op.eventIndex),
    );
    return { invariant: 'INV-5', holds: false, violations, examined };
  }

  // Every record well formed, and the chain unbroken.
  const records: IndexedRecord[] = [];
  history.audit.forEach((raw, auditIndex) => {
    const result = validateAuditRecord(raw);
    if (result.ok) records.push({ auditIndex, record: result.value });
    else {
      const problems = result.problems.map((p) => `${p.path} ${p.message}`).join('; ');
      violation(`Audit record ${auditIndex} is not a valid audit record: ${problems}.`, [], [auditIndex]);
    }
  });
  checkChain(history.audit, history.auditChainStarts ?? [], history.auditChainAnchors, (message, auditIndexes) => violation(message, [], auditIndexes));

  const byRequestHash = new Map<string, IndexedRecord[]>();
  const byTraceId = new Map<string, IndexedRecord[]>();
  for (const entry of records) {
    pushTo(byRequestHash, entry.record.request_hash, entry);
    pushTo(byTraceId, entry.record.trace_id, entry);
  }

  // Every request sent has its own final record: the same bytes sent twice are two requests.
  for (const op of index.ops) {
    if (!op.requestHash) {
      violation(`Request op ${op.op} was recorded with a body that is not base64url, so its audit cannot be found.`, [op.eventIndex]);
    }
  }
  // A request in flight when the gate crashed, never answered, may lack its final record (CONTRACT.md section 9, restart).
  const crashes = history.events.flatMap((e) => (e.kind === 'fault' && e.fault === 'crash' ? [{ from: e.at, to: e.until ?? Number.POSITIVE_INFINITY }] : []));
  const lostInCrash = (op: RequestOp): boolean => {
    if (op.response && op.response.event.status !== 'indeterminate') return false;
    const end = op.response?.event.at ?? Number.POSITIVE_INFINITY;
    return crashes.some((c) => op.event.at <= c.to && end >= c.from);
  };
  for (const [requestHash, ops] of index.opsByRequestHash) {
    const finals = (byRequestHash.get(requestHash) ?? []).filter((e) => e.record.stage === 'final');
    if (finals.length < ops.filter((op) => !lostInCrash(op)).length) {
      const which = ops.map((op) => op.op).join(', ');
      violation(
        ops.length === 1
          ? `Request op ${which} has no final audit record.`
          : `Request ops ${which} sent the same bytes ${ops.length} times, but the audit holds only ${finals.length} final records for them.`,
        ops.map((op) => op.eventIndex),
        finals.map((e) => e.auditIndex),
      );
    }
  }

  // Nothing in the log stands for a request nobody sent, and each record names the right sender.
  for (const { auditIndex, record } of records) {
    const ops = index.opsByRequestHash.get(record.request_hash);
    if (!ops) {
      violation(`Audit record ${auditIndex} records a request that was never sent (its request_hash matches no request).`, [], [auditIndex]);
      continue;
    }
    const op = ops[0]!; // equal bytes: the same attribution for all of them
    const allowed = allowedAttribution(op);
    if (!allowed.identities.has(record.identity)) {
      violation(
        `Audit record ${auditIndex} names identity "${record.identity}", but the request it records came from ${[...allowed.identities].map((i) => `"${i}"`).join(' or ')}.`,
        ops.map((o) => o.eventIndex),
        [auditIndex],
      );
    }
    if (!allowed.dataHashes.has(record.data_hash)) {
      violation(
        `Audit record ${auditIndex} has a data_hash that is not the digest of the parameters of the request it records.`,
        ops.map((o) => o.eventIndex),
        [auditIndex],
      );
    }
  }

  // All records of one trace are records of one request.
  for (const [traceId, entries] of byTraceId) {
    const hashes = new Set(entries.map((e) => e.record.request_hash));
    if (hashes.size > 1) {
      violation(
        `The audit records of trace ${traceId} disagree on which request they record (${hashes.size} different request hashes).`,
        [],
        entries.map((e) => e.auditIndex),
      );
    }
  }

  // A trace is one HTTP request received (CONTRACT.md section 3): no two answers share a trace_id —
  // identical bytes sent twice included — and an answered trace closes one request: its final
  // records (the same one written again after a crash aside) are that request's one final record.
  const answeredByTrace = new Map<string, RequestOp[]>();
  for (const op of index.ops) {
    const traceId = op.response?.event.trace_id;
    if (traceId !== undefined && op.response!.event.status !== 'indeterminate') pushTo(answeredByTrace, traceId, op);
  }
  for (const [traceId, ops] of answeredByTrace) {
    const auditIndexes = (byTraceId.get(traceId) ?? []).map((e) => e.auditIndex);
    if (ops.length > 1) {
      const sameBytes = new Set(ops.map((op) => op.requestHash)).size === 1;
      violation(
        `The Gate answered ${ops.length} requests (ops ${ops.map((op) => op.op).join(', ')}) with the same trace_id ${traceId}: a trace_id is fresh for every HTTP request received${sameBytes ? ', identical bytes sent twice included' : ''}.`,
        ops.flatMap((op) => [op.eventIndex, op.response!.eventIndex]),
        auditIndexes,
      );
      continue;
    }
    const finals = (byTraceId.get(traceId) ?? []).filter((e) => e.record.stage === 'final');
    const distinct = new Set(finals.map((e) => JSON.stringify([e.record.decision, e.record.code ?? null, e.record.outcome ?? null, e.record.approval_id ?? null])));
    if (distinct.size > 1) {
      violation(`Trace ${traceId}, answered to request op ${ops[0]!.op} alone, holds the final records of ${distinct.size} different outcomes: a trace joins one request's records.`, [ops[0]!.eventIndex], auditIndexes);
    }
  }

  // Which final records carry approval_id and outcome (CONTRACT.md section 7): the intent record
  // marks the dispatch. A dispatched request closes with the intent's approval_id and an outcome;
  // one denied before the intent (structure … policy, audit) carries neither; a dispatch-stage
  // code means it was dispatched. Envelope-stage codes are both: the Gate's own refusal of the
  // envelope (before the intent) or the Execution Layer's, relayed (after it).
  for (const [traceId, entries] of byTraceId) {
    const intent = entries.find((e) => e.record.stage === 'intent');
    for (const { auditIndex, record } of entries) {
      if (record.stage !== 'final') continue;
      const where = intent ? [intent.auditIndex, auditIndex] : [auditIndex];
      const stage = record.code === undefined || !isDenialCode(record.code) ? undefined : DENIAL_CODES[record.code].stage;
      if (intent) {
        if (record.approval_id !== intent.record.approval_id || record.outcome === undefined) {
          violation(
            `The final record of trace ${traceId} does not close its dispatch: after the intent record for approval ${intent.record.approval_id}, it must carry that approval_id and an outcome.`,
            [],
            where,
          );
        }
        if (stage !== undefined && PRE_DISPATCH_STAGES.has(stage)) {
          violation(`Trace ${traceId} has an intent record, yet closes with ${record.code}, a denial before dispatch.`, [], where);
        }
      } else if (record.decision === 'deny') {
        // Never dispatched: nothing may say it might have run. An approval_id (the envelope it got)
        // or outcome "failed" (it certainly did not run) is true, so either may be there.
        if (record.outcome !== undefined && record.outcome !== 'failed') {
          violation(`The final denial of trace ${traceId} says outcome "${record.outcome}", but the request was never dispatched (no intent record): only "failed", or no outcome.`, [], where);
        } else if (stage === 'dispatch') {
          violation(`Trace ${traceId} closes with ${record.code}, a denial at dispatch, but has no intent record, approval_id or outcome.`, [], where);
        }
      }
    }
  }

  // What the Gate answered is what its audit trace says.
  for (const op of index.ops) {
    const response = op.response;
    const traceId = response?.event.trace_id;
    if (!response || traceId === undefined || response.event.status === 'indeterminate') continue;
    const trace = byTraceId.get(traceId) ?? [];
    const eventIndexes = [op.eventIndex, response.eventIndex];
    const auditIndexes = trace.map((e) => e.auditIndex);
    if (op.requestHash && trace.some((e) => e.record.request_hash !== op.requestHash)) {
      violation(`The audit trace ${traceId} that the Gate gave for request op ${op.op} records other bytes than were sent.`, eventIndexes, auditIndexes);
    }
    const finals = trace.filter((e) => e.record.stage === 'final').map((e) => e.record);
    const { status, code } = response.event;
    if (status === 'executed') {
      if (!finals.some((r) => r.decision === 'allow' && r.outcome === 'executed')) {
        violation(`The Gate reported request op ${op.op} executed, but its audit trace ${traceId} has no final record of an executed allow.`, eventIndexes, auditIndexes);
      }
    } else {
      // The profile closes an unconfirmed dispatch as a denial too: a denial always carries its code.
      const matches = (r: AuditRecord): boolean => r.decision === 'deny' && r.code === code;
      if (!finals.some(matches)) {
        violation(
          `The Gate denied request op ${op.op} with ${code ?? 'no code'}, but its audit trace ${traceId} has no final denial record with that code.`,
          eventIndexes,
          auditIndexes,
        );
      }
    }
  }

  checkGatewayEvents(history, index, violation);

  // Audit before effect: each approval that executed was announced by an intent record.
  const intentApprovals = new Set(
    records.filter((e) => e.record.stage === 'intent' && e.record.approval_id !== undefined).map((e) => e.record.approval_id),
  );
  for (const effect of index.effects) {
    const approvalId = effect.event.approval_id;
    if (approvalId === undefined) {
      violation(`Effect ${effect.event.effect_id} carries no approval id, so no intent record can account for it.`, [effect.eventIndex]);
    } else if (!intentApprovals.has(approvalId)) {
      violation(
        `Effect ${effect.event.effect_id} executed approval ${approvalId}, which no intent record announced.`,
        witnesses(effect.eventIndex, effect.op?.eventIndex),
      );
    }
  }

  return { invariant: 'INV-5', holds: violations.length === 0, violations, examined };
}

/**
 * Gateway events (CONTRACT.md section 7), when the system serves any: keyed by request_id, so a
 * request has them once its request_id is known — `accepted`, then `completed` or `failed` with
 * the code it was answered; one answered REQUEST_MALFORMED has none; NONCE_MALFORMED has that pair
 * or none. Events need not survive a restart: only requests sent after the last crash are judged.
 */
function checkGatewayEvents(history: History, index: HistoryIndex, violation: (message: string, eventIndexes: number[], auditIndexes?: number[]) => void): void {
  const byTrace = new Map<string, { eventIndex: number; event: GatewayEvent }[]>();
  let since = Number.NEGATIVE_INFINITY;
  let served = false;
  history.events.forEach((e, eventIndex) => {
    if (e.kind === 'fault' && e.fault === 'crash') since = Math.max(since, e.until ?? Number.POSITIVE_INFINITY);
    if (e.kind !== 'gateway-event') return;
    served = true;
    const result = validateGatewayEvent(e.event);
    if (!result.ok) {
      violation(`Gateway event ${eventIndex} is not a gateway event: ${result.problems.map((p) => `${p.path} ${p.message}`).join('; ')}.`, [eventIndex]);
      return;
    }
    pushTo(byTrace, result.value.trace_id, { eventIndex, event: result.value });
  });
  if (!served) return;
  for (const op of index.ops) {
    const response = op.response;
    const traceId = response?.event.trace_id;
    if (!response || traceId === undefined || response.event.status === 'indeterminate' || op.event.at <= since) continue;
    const events = byTrace.get(traceId) ?? [];
    const witnesses = [op.eventIndex, response.eventIndex, ...events.map((e) => e.eventIndex)];
    const { status, code } = response.event;
    // A request that failed its structure check was never accepted: it has no events, or only its
    // "failed" (a gate that read a request_id may key one); a bad nonce may also have the pair.
    const structural = status === 'denied' && (code === 'REQUEST_MALFORMED' || code === 'NONCE_MALFORMED');
    if (structural && (events.length === 0 || (events.length === 1 && events[0]!.event.event === 'failed' && events[0]!.event.code === code))) continue;
    if (structural && code === 'REQUEST_MALFORMED') {
      violation(`Request op ${op.op} was denied REQUEST_MALFORMED, so it never passed its structure check, yet trace ${traceId} has ${events.map((e) => `"${e.event.event}"`).join(', ')}: at most one "failed" with that code.`, witnesses);
      continue;
    }
    const accepted = events.filter((e) => e.event.event === 'accepted');
    const closing = events.filter((e) => e.event.event !== 'accepted');
    const expected = status === 'executed' ? 'completed' : `failed with ${code ?? 'no code'}`;
    const closes = (e: GatewayEvent) => (status === 'executed' ? e.event === 'completed' : e.event === 'failed' && e.code === code);
    if (accepted.length !== 1 || closing.length !== 1 || !closes(closing[0]!.event)) {
      violation(
        `Request op ${op.op} was answered ${status === 'executed' ? 'executed' : `denied ${code ?? ''}`.trim()}: trace ${traceId} must have one "accepted" event, then one "${expected}"; it has ${events.map((e) => (e.event.code ? `"${e.event.event}" ${e.event.code}` : `"${e.event.event}"`)).join(', ') || 'none'}.`,
        witnesses,
      );
      continue;
    }
    if (accepted[0]!.event.timestamp_ms > closing[0]!.event.timestamp_ms) {
      violation(`The gateway events of trace ${traceId} are out of order: "accepted" after "${closing[0]!.event.event}".`, witnesses);
    }
    const requestId = op.parsed.ok ? op.parsed.request.request_id : response.event.request_id;
    if (requestId !== undefined && events.some((e) => e.event.request_id !== requestId)) {
      violation(`The gateway events of trace ${traceId} are keyed by another request_id than request op ${op.op}'s "${requestId}".`, witnesses);
    }
  }
}
