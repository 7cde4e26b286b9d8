/**
 * INV-4 — Fail closed: under failure or ambiguity the outcome is a denial, never degraded or
 * deferred execution, and the Gate never reports success for work it cannot prove was done.
 */
import type { History, InvariantVerdict, Violation } from '../history.ts';
import type { FaultKind } from '../history.ts';
import type { ApprovalEnvelope } from '../profile/messages.ts';
import type { EffectInfo, FaultInfo, HistoryIndex, RequestOp } from './history-index.ts';
import { buildHistoryIndex, toUnixSeconds, witnesses } from './history-index.ts';
import { systemSecondsOver } from './system-clock.ts';
import { executionCallsPerApproval } from './dispatch-discipline.ts';

export const INV_4_STATEMENT =
  'Under any failure or ambiguity the outcome is denial: nothing executes for a denied request, outside its envelope window, during a fault that forbids it or without a trusted allow, and no unproven success is reported.';

/** Faults under which a request that lived entirely inside them can never be safely executed. */
const BLOCKING_FAULTS: readonly FaultKind[] = ['nonce-store-down', 'nonce-store-unconfirmed', 'audit-down'];

/**
 * How long before the sink recorded an effect the Execution Layer may have checked its envelope's
 * window: the action and the report in between are quick, but a check at the end of one second is
 * reported in the next.
 */
const EFFECT_REPORT_LAG_MS = 1000;

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

/**
 * The request was sent after the fault began and answered before it healed — by the order of the
 * recorded events, not by milliseconds, which many events share.
 */
function during(fault: FaultInfo, op: RequestOp): boolean {
  if (fault.eventIndex > op.eventIndex) return false;
  const { until, untilIndex } = fault.event;
  if (until === null) return true;
  if (!op.response) return false;
  // Older histories know the heal by its time alone: then the same millisecond counts as during.
  return untilIndex !== undefined ? op.response.eventIndex < untilIndex : op.response.event.at <= until;
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
      // The Execution Layer checked the window shortly before it reported the effect, on the
      // system's clock: any second it may have read then (offsets included) will do.
      const usedAt = index.history.events[used.eventIndex]?.at ?? event.at;
      const seconds = systemSecondsOver(index, Math.max(usedAt, event.at - EFFECT_REPORT_LAG_MS), event.at, { after: used.eventIndex, before: effect.eventIndex }) ?? [toUnixSeconds(event.at)];
      const atSec = seconds.length === 1 ? String(seconds[0]) : `${seconds[0]}…${seconds.at(-1)}`;
      if (seconds[0]! >= used.envelope.expires_at) {
        violation(
          `Effect ${event.effect_id} happened at ${atSec}, at or after its envelope ${used.envelope.approval_id} expired (${used.envelope.expires_at}).`,
          effect.eventIndex,
          used.eventIndex,
          op?.eventIndex,
        );
      } else if (seconds.at(-1)! < used.envelope.issued_at) {
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
    for (const fault of index.faults) {
      if (!BLOCKING_FAULTS.includes(fault.event.fault)) continue;
      if (during(fault, op)) {
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
