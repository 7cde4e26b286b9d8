/**
 * INV-6 — No bypass: every effect is explained by a Gate approval or by a direct call that
 * presented a valid, unused envelope bound to exactly what it asked for. Any other direct call —
 * no envelope, a forged, expired, replayed or mismatched one — is not executed and leaves no effect.
 */
import type { History, InvariantVerdict, Violation } from '../history.ts';
import type { DirectCallInfo, EffectInfo, HistoryIndex } from './history-index.ts';
import { buildHistoryIndex, isJsonObject, witnesses } from './history-index.ts';

export const INV_6_STATEMENT =
  'No execution bypasses the Gate: a direct call without a valid, unused envelope bound to exactly what it asks is never executed and leaves no effect.';

/** The approval_id a direct call presented, trusted or not. */
function presentedApprovalId(call: DirectCallInfo): string | undefined {
  const envelope = call.event.envelope;
  return isJsonObject(envelope) && typeof envelope.approval_id === 'string' ? envelope.approval_id : undefined;
}

function sameRequestAs(effect: EffectInfo, call: DirectCallInfo): boolean {
  const { identity, action } = effect.event;
  // Fields the effect sink did not record cannot tell the two apart.
  return (
    (identity === undefined || identity === call.event.identity) &&
    (action === undefined || action === call.event.action) &&
    effect.parametersDigest !== undefined &&
    effect.parametersDigest === call.parametersDigest
  );
}

/** Effects a refused direct call would have produced: its approval beyond its first use, or its exact request unexplained. */
function attributedToCall(effect: EffectInfo, call: DirectCallInfo, explained: boolean): boolean {
  if (effect.eventIndex < call.eventIndex) return false;
  const approvalId = presentedApprovalId(call);
  if (approvalId !== undefined && effect.event.approval_id === approvalId && effect.earlierWithSameApproval.length > 0) return true;
  return !explained && sameRequestAs(effect, call);
}

function describeRefusal(call: DirectCallInfo): string {
  if (call.trust.kind === 'trusted' && call.envelopeCodes.length === 0) return 'a valid envelope whose approval had already been used';
  return call.event.envelope === undefined ? 'no envelope' : `an invalid envelope (${call.envelopeCodes.join(', ')})`;
}

export function checkInv6(history: History, index: HistoryIndex = buildHistoryIndex(history)): InvariantVerdict {
  const violations: Violation[] = [];
  const violation = (message: string, ...related: (number | undefined)[]): void => {
    violations.push({ invariant: 'INV-6', message, eventIndexes: witnesses(...related) });
  };
  const refusedCalls = index.directCalls.filter((call) => !call.legitimate);

  for (const call of refusedCalls) {
    if (call.event.status === 'executed') {
      violation(
        `The Execution Layer reported direct call op ${call.event.op} executed although it presented ${describeRefusal(call)}.`,
        call.eventIndex,
      );
    }
  }

  for (const effect of index.effects) {
    const explained = effect.exchange !== undefined || effect.directCall !== undefined;
    const culprits = refusedCalls.filter((call) => attributedToCall(effect, call, explained));
    if (culprits.length > 0) {
      violation(
        `Effect ${effect.event.effect_id} was produced by a direct call to the Execution Layer that presented ${describeRefusal(culprits[0]!)}.`,
        effect.eventIndex,
        ...culprits.map((call) => call.eventIndex),
      );
    } else if (!explained) {
      violation(
        `Effect ${effect.event.effect_id} is explained neither by a Gate approval nor by a direct call with a valid envelope.`,
        effect.eventIndex,
      );
    }
  }

  // An approval handed to the Execution Layer directly is still single use.
  const callsByApproval = new Map<string, DirectCallInfo[]>();
  for (const call of index.directCalls) {
    const approvalId = presentedApprovalId(call);
    if (approvalId !== undefined) callsByApproval.set(approvalId, [...(callsByApproval.get(approvalId) ?? []), call]);
  }
  for (const [approvalId, calls] of callsByApproval) {
    const effects = index.effectsByApprovalId.get(approvalId) ?? [];
    if (effects.length > 1) {
      violation(
        `Approval ${approvalId}, presented directly to the Execution Layer, produced ${effects.length} effects.`,
        ...calls.map((call) => call.eventIndex),
        ...effects.map((effect) => effect.eventIndex),
      );
    }
  }

  return {
    invariant: 'INV-6',
    holds: violations.length === 0,
    violations,
    examined: index.effects.length + index.directCalls.length,
  };
}
