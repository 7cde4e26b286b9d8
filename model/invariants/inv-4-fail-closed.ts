/**
 * INV-4 — Fail closed: under failure or ambiguity the outcome is a denial, never degraded or
 * deferred execution, and the Gate never reports success for work it cannot prove was done.
 */
import type { History, InvariantVerdict, Violation } from '../history.ts';
import type { FaultKind } from '../history.ts';
import type { ApprovalEnvelope } from '../profile/messages.ts';
import type { EffectInfo, HistoryIndex, RequestOp } from './history-index.ts';
import { buildHistoryIndex, toUnixSeconds, witnesses } from './history-index.ts';
import { executionCallsPerApproval } from './dispatch-discipline.ts';

export const INV_4_STATEMENT =
  'Under any failure or ambiguity the outcome is denial: nothing executes for a denied request, outside its envelope window, during a fault that forbids it or without a trusted allow, and no unproven success is reported.';

/** Faults under which a request that lived entirely inside them can never be safely executed. */
const BLOCKING_FAULTS: readonly FaultKind[] = ['nonce-store-down', 'nonce-store-unconfirmed', 'audit-down'];

/** The only denial that may still have an effect behind it: dispatched, outcome unknown. */
const DENIAL_WITH_POSSIBLE_EFFECT = 'EXECUTION_UNCONFIRMED';

/** The envelope the effect executed under: its trusted allow's, else a direct call's that presented it. */
function envelopeOf(effect: EffectInfo, index: HistoryIndex): { envelope: ApprovalEnvelope; eventIndex: number } | undefined {
  if (effect.exchange?.trust.kind === 'trusted') {
    return { envelope: effect.exchange.trust.envelope, eventIndex: effect.exchange.eventIndex };
  }
  const call = index.directCalls.findLast(
    (c) => c.eventIndex < effect.eventIndex && c.trust.kind === 'trusted' && c.trust.envelope.approval_id === effect.event.approval_id,
  );
  return call && call.trust.kind === 'trusted' ? { envelope: call.trust.envelope, eventIndex: call.eventIndex } : undefined;
}

/** "1.8 s", "350 ms": how long after an answer something happened. */
export function formatDelay(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

export function checkInv4(history: History, index: HistoryIndex = buildHistoryIndex(history)): InvariantVerdict {
  const violations: Violation[] = [];
  const violation = (message: string, ...related: (number | undefined)[]): void => {
    violations.push({ invariant: 'INV-4', message, eventIndexes: witnesses(...related) });
  };

  const effectsOf = new Map<RequestOp, EffectInfo[]>();
  for (const effect of index.effects) {
    if (!effect.op) continue;
    effectsOf.set(effect.op, [...(effectsOf.get(effect.op) ?? []), effect]);
  }

  for (const effect of index.effects) {
    const { event, op } = effect;

    // (c) an envelope is honoured only inside its window: a queue drained after a heal is not.
    const used = envelopeOf(effect, index);
    if (used) {
      const atSec = toUnixSeconds(event.at);
      if (atSec >= used.envelope.expires_at) {
        violation(
          `Effect ${event.effect_id} happened at ${atSec}, at or after its envelope ${used.envelope.approval_id} expired (${used.envelope.expires_at}).`,
          effect.eventIndex,
          used.eventIndex,
          op?.eventIndex,
        );
      } else if (atSec < used.envelope.issued_at) {
        violation(
          `Effect ${event.effect_id} happened at ${atSec}, before its envelope ${used.envelope.approval_id} became valid (${used.envelope.issued_at}).`,
          effect.eventIndex,
          used.eventIndex,
          op?.eventIndex,
        );
      }
    }

    if (!op) continue;
    const response = op.response?.event;

    // (a) a denial is final, save for the one that admits the work may have run.
    if (response?.status === 'denied' && response.code !== DENIAL_WITH_POSSIBLE_EFFECT) {
      const after = event.at - (op.response?.event.at ?? event.at);
      violation(
        after > 0
          ? `Effect ${event.effect_id} executed request op ${op.op} ${formatDelay(after)} after the Gate answered ${response.code ?? 'a denial without a code'}: a denial is final.`
          : `Effect ${event.effect_id} executed request op ${op.op}, which the Gate denied with ${response.code ?? 'no code'}.`,
        effect.eventIndex,
        op.eventIndex,
        op.response?.eventIndex,
      );
    }

    // (d) a request that lived entirely inside such a fault could not have claimed its nonce or written its intent.
    const end = op.response?.event.at ?? Number.POSITIVE_INFINITY;
    for (const fault of index.faults) {
      if (!BLOCKING_FAULTS.includes(fault.event.fault)) continue;
      if (fault.event.at <= op.event.at && end <= (fault.event.until ?? Number.POSITIVE_INFINITY)) {
        violation(
          `Effect ${event.effect_id} executed request op ${op.op}, sent and answered entirely during a ${fault.event.fault} fault.`,
          effect.eventIndex,
          op.eventIndex,
          op.response?.eventIndex,
          fault.eventIndex,
        );
      }
    }

    // (e) no trusted allow for the request before the effect (INV-1 reports the same effect).
    const before = op.exchanges.filter((e) => e.eventIndex < effect.eventIndex);
    if (!before.some((e) => e.trustedAllow)) {
      violation(
        before.length === 0
          ? `Effect ${event.effect_id} executed request op ${op.op}, for which the Control Plane was never asked.`
          : `Effect ${event.effect_id} executed request op ${op.op}, although none of its Control Plane exchanges was a trusted allow.`,
        effect.eventIndex,
        op.eventIndex,
        ...before.map((e) => e.eventIndex),
      );
    }
  }

  // (b) success is reported only for work proven done: an effect of this request before the answer.
  let responses = 0;
  for (const op of index.ops) {
    const response = op.response;
    if (!response) continue;
    responses++;
    if (response.event.status !== 'executed') continue;
    const backing = (effectsOf.get(op) ?? []).filter((effect) => effect.event.at <= response.event.at);
    if (backing.length === 0) {
      violation(
        `The Gate reported request op ${op.op} executed, but no effect of that request happened before it said so.`,
        op.eventIndex,
        response.eventIndex,
      );
    }
  }
  for (const orphan of index.orphanResponses) {
    responses++;
    if (orphan.event.status === 'executed') {
      violation(`The Gate reported op ${orphan.event.op} executed, but no such request was sent.`, orphan.eventIndex);
    }
  }

  // (f) once, no retry: a second Execution Layer call for one approval or one request.
  const calls = executionCallsPerApproval(index);
  violations.push(...calls.violations);

  return {
    invariant: 'INV-4',
    holds: violations.length === 0,
    violations,
    examined: index.effects.length + responses + calls.examined,
  };
}
