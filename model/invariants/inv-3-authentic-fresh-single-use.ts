/**
 * INV-3 — Authentic, fresh, single-use requests.
 *
 * A request is "accepted" once the Gate asked the Control Plane about it (or something executed
 * for it): by then it must already have passed every structure, authentication, freshness and
 * replay check, since those deny before the Control Plane is asked. Single use is checked on the
 * effects: one per approval, one per (identity, action, nonce) inside the replay window.
 */
import type { History, InvariantVerdict, Violation } from '../history.ts';
import { authenticateRequest } from '../profile/request-checks.ts';
import type { HistoryIndex, RequestOp } from './history-index.ts';
import { buildHistoryIndex, toUnixSeconds, witnesses } from './history-index.ts';
import { systemSecondsOver } from './system-clock.ts';
import { timestampAnswer } from '../time.ts';
import { questionsPerTriple } from './dispatch-discipline.ts';

export const INV_3_STATEMENT =
  'Every executed request is authentic, fresh and used once: a valid signature by an active key, a timestamp in the window, a nonce not accepted before in the replay window, and a single use of its envelope.';

/** When the Gate had accepted the request at the latest: it asked the Control Plane, or something executed for it. */
/** When (harness time) and where (event index) the request was first seen accepted. */
function acceptedAt(op: RequestOp, index: HistoryIndex): { at: number; eventIndex: number } {
  const exchange = op.exchanges[0];
  if (exchange) return { at: exchange.event.at, eventIndex: exchange.eventIndex };
  const effect = index.effects.find((e) => e.op === op);
  if (effect) return { at: effect.event.at, eventIndex: effect.eventIndex };
  return op.response ? { at: op.response.event.at, eventIndex: op.response.eventIndex } : { at: op.event.at, eventIndex: op.eventIndex };
}

function acceptedOps(index: HistoryIndex): RequestOp[] {
  const accepted = new Set<RequestOp>();
  for (const op of index.ops) if (op.exchanges.length > 0) accepted.add(op);
  for (const effect of index.effects) if (effect.op) accepted.add(effect.op);
  return [...accepted].sort((a, b) => a.eventIndex - b.eventIndex);
}

export function checkInv3(history: History, index: HistoryIndex = buildHistoryIndex(history)): InvariantVerdict {
  const { acceptanceWindowSec, replayWindowSec } = history.config;
  const replayWindowMs = replayWindowSec * 1000;
  const violations: Violation[] = [];
  const violation = (message: string, eventIndexes: number[]): void => {
    violations.push({ invariant: 'INV-3', message, eventIndexes });
  };
  const firstAcceptance = (op: RequestOp): number | undefined => op.exchanges[0]?.eventIndex;

  const accepted = acceptedOps(index);
  const acceptedByNonceKey = new Map<string, RequestOp[]>();
  for (const op of accepted) {
    if (!op.parsed.ok) continue; // unreachable: attribution goes through a parsed request_id
    const request = op.parsed.request;
    const codes = authenticateRequest(request, history.keys.identityKeys, toUnixSeconds(op.event.at), acceptanceWindowSec);
    // Freshness holds if it held at some reading of the system's clock between sending the
    // request and its acceptance (offsets included): the Gate checked it somewhere in there.
    const acceptance = acceptedAt(op, index);
    const seconds = systemSecondsOver(index, op.event.at, acceptance.at, { after: op.eventIndex, before: acceptance.eventIndex });
    if (seconds === undefined || seconds.some((s) => timestampAnswer(request.timestamp, s, acceptanceWindowSec) === 'inWindow')) {
      codes.splice(0, codes.length, ...codes.filter((code) => code !== 'TIMESTAMP_STALE' && code !== 'TIMESTAMP_FUTURE'));
    } else if (!codes.includes('TIMESTAMP_STALE') && !codes.includes('TIMESTAMP_FUTURE')) {
      codes.push(timestampAnswer(request.timestamp, seconds[0]!, acceptanceWindowSec) === 'stale' ? 'TIMESTAMP_STALE' : 'TIMESTAMP_FUTURE');
    }
    if (codes.length > 0) {
      violation(
        `Request ${request.request_id} (op ${op.op}) was taken to the Control Plane or executed although it fails authentication or freshness (${codes.join(', ')}).`,
        witnesses(op.eventIndex, firstAcceptance(op)),
      );
    }
    if (op.nonceKey === undefined) continue;
    const earlier = acceptedByNonceKey.get(op.nonceKey) ?? [];
    const replayed = earlier.filter((prior) => op.event.at - prior.event.at < replayWindowMs);
    if (replayed.length > 0) {
      violation(
        `Request ${request.request_id} (op ${op.op}) reused the (identity, action, nonce) of a request accepted inside the replay window, and was accepted again.`,
        witnesses(op.eventIndex, firstAcceptance(op), ...replayed.flatMap((prior) => [prior.eventIndex, firstAcceptance(prior)])),
      );
    }
    acceptedByNonceKey.set(op.nonceKey, [...earlier, op]);
  }

  const effectsByNonceKey = new Map<string, typeof index.effects>();
  for (const effect of index.effects) {
    const { event } = effect;
    const firstUse = effect.earlierWithSameApproval[0];
    if (firstUse) {
      violation(
        `Approval ${event.approval_id} was used a second time, by effect ${event.effect_id}.`,
        witnesses(effect.eventIndex, ...effect.earlierWithSameApproval.map((e) => e.eventIndex)),
      );
    }
    const op = effect.op;
    if (!op?.nonceKey) continue;
    const earlier = effectsByNonceKey.get(op.nonceKey) ?? [];
    const sameUse = earlier.filter(
      (prior) =>
        prior.event.approval_id !== event.approval_id && // already reported as a second use of the approval
        prior.op !== undefined &&
        (prior.op === op || Math.abs(op.event.at - prior.op.event.at) < replayWindowMs),
    );
    if (sameUse.length > 0) {
      violation(
        `Effect ${event.effect_id} executed a request whose (identity, action, nonce) had already executed inside the replay window.`,
        witnesses(effect.eventIndex, op.eventIndex, ...sameUse.flatMap((prior) => [prior.eventIndex, prior.op?.eventIndex])),
      );
    }
    effectsByNonceKey.set(op.nonceKey, [...earlier, effect]);
  }

  // A duplicate of a claimed request must be stopped at the replay stage, before the Control Plane.
  violations.push(...questionsPerTriple(index).inv3.violations);

  return {
    invariant: 'INV-3',
    holds: violations.length === 0,
    violations,
    examined: accepted.length + index.effects.length,
  };
}
