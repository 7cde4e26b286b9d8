/**
 * INV-2 — Argument binding: what executed is exactly what the trusted envelope approved, and the
 * envelope is bound to exactly the request the client sent (request id, identity, action and the
 * canonical digest of the parameters — so nested keys, array order and number spelling count).
 */
import type { History, InvariantVerdict, Violation } from '../history.ts';
import type { HistoryIndex } from './history-index.ts';
import { buildHistoryIndex, witnesses } from './history-index.ts';

export const INV_2_STATEMENT =
  'What executes is exactly what was approved: the identity, action and canonical parameter digest bound in the envelope, for the request the client sent.';

export function checkInv2(history: History, index: HistoryIndex = buildHistoryIndex(history)): InvariantVerdict {
  const violations: Violation[] = [];
  let examined = 0;
  for (const effect of index.effects) {
    const { exchange, directCall, event } = effect;
    // Effects under no trusted envelope are INV-1's and INV-6's to report.
    const source = exchange?.trust.kind === 'trusted' ? exchange : directCall?.trust.kind === 'trusted' ? directCall : undefined;
    if (source?.trust.kind !== 'trusted') continue;
    examined++;
    const envelope = source.trust.envelope;
    const report = (message: string, ...related: (number | undefined)[]): void => {
      violations.push({
        invariant: 'INV-2',
        message,
        eventIndexes: witnesses(effect.eventIndex, source.eventIndex, ...related),
      });
    };

    const executedMismatches: string[] = [];
    // The effect sink may leave identity/action unrecorded; the parameters are always recorded.
    if (event.identity !== undefined && event.identity !== envelope.identity) executedMismatches.push('identity');
    if (event.action !== undefined && event.action !== envelope.action) executedMismatches.push('action');
    if (effect.parametersDigest !== envelope.parameters_digest) executedMismatches.push('parameters');
    if (executedMismatches.length > 0) {
      report(
        `Effect ${event.effect_id} did not execute what approval ${envelope.approval_id} bound: its ${executedMismatches.join(', ')} differ.`,
      );
    }

    // A valid direct call was bound to its envelope by checkEnvelope; no client request stands behind it.
    if (!exchange || source !== exchange) continue;
    const op = exchange.op;
    if (!op || !op.parsed.ok) {
      report(
        `Approval ${envelope.approval_id}, used by effect ${event.effect_id}, is bound to request ${envelope.request_id}, which no client sent before it was asked about.`,
      );
      continue;
    }
    const request = op.parsed.request;
    const requestMismatches: string[] = [];
    if (request.request_id !== envelope.request_id) requestMismatches.push('request id');
    if (request.identity !== envelope.identity) requestMismatches.push('identity');
    if (request.action !== envelope.action) requestMismatches.push('action');
    if (op.claimedParametersDigest !== envelope.parameters_digest) requestMismatches.push('parameters');
    if (requestMismatches.length > 0) {
      report(
        `Approval ${envelope.approval_id}, used by effect ${event.effect_id}, is not bound to request ${request.request_id} as the client sent it: its ${requestMismatches.join(', ')} differ.`,
        op.eventIndex,
      );
    }
  }
  return { invariant: 'INV-2', holds: violations.length === 0, violations, examined };
}
