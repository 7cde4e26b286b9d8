/**
 * INV-1 — Policy and approval before execution: every effect follows a Control Plane allow whose
 * envelope is well formed, signed by a trusted Control Plane key, carries the effect's approval_id
 * and is bound to the very request the Gate asked about. And the Gate forwards only approved work:
 * every dispatch it records (an intent record) names such an approval for its request — an
 * Execution Layer that refuses the unapproved call saves the effect, not the Gate.
 */
import type { History, InvariantVerdict, Violation } from '../history.ts';
import type { EffectInfo, ExchangeInfo, HistoryIndex } from './history-index.ts';
import { buildHistoryIndex, isJsonObject, witnesses } from './history-index.ts';

export const INV_1_STATEMENT =
  'Every effect follows a Control Plane allow whose envelope is signed by a trusted Control Plane key for that very request.';

function describeUntrusted(exchange: ExchangeInfo): string {
  const { answer } = exchange.event;
  switch (answer.kind) {
    case 'allow-unsigned':
      return 'an unsigned allow';
    case 'deny':
      return 'a deny';
    case 'garbage':
      return 'a garbled answer';
    case 'no-answer':
      return `no answer (${answer.reason})`;
    case 'allow':
      switch (exchange.trust.kind) {
        case 'malformed':
          return 'an allow with a malformed envelope';
        case 'untrusted-key':
          return 'an allow whose envelope is signed by an untrusted key';
        case 'bad-signature':
          return 'an allow whose envelope signature does not verify';
        case 'absent':
          return 'an allow without an envelope';
        case 'trusted':
          return 'a trusted allow';
      }
  }
}

function checkEffect(effect: EffectInfo, index: HistoryIndex): Violation | undefined {
  const { event, eventIndex } = effect;
  const violation = (message: string, ...related: (number | undefined)[]): Violation => ({
    invariant: 'INV-1',
    message,
    eventIndexes: witnesses(eventIndex, ...related),
  });
  if (event.approval_id === undefined) {
    const op = effect.op;
    return violation(
      `Effect ${event.effect_id} happened without any approval id, so no Control Plane approval stands behind it.`,
      op?.eventIndex,
      ...(op?.exchanges.map((e) => e.eventIndex) ?? []),
    );
  }
  const claiming = (index.exchangesByApprovalId.get(event.approval_id) ?? []).filter((e) => e.eventIndex < eventIndex);
  const trusted = claiming.filter((e) => e.trustedAllow);
  const bound = trusted.filter((e) => {
    if (e.trust.kind !== 'trusted') return false;
    const envelopeRequestId = e.trust.envelope.request_id;
    return envelopeRequestId === e.questionRequestId && (event.request_id === undefined || event.request_id === envelopeRequestId);
  });
  if (bound.length > 0) return undefined;
  if (trusted.length > 0) {
    return violation(
      `Effect ${event.effect_id} ran under approval ${event.approval_id}, whose envelope is bound to another request than the one the Gate asked about or the effect executed.`,
      ...trusted.map((e) => e.eventIndex),
      ...trusted.map((e) => e.op?.eventIndex),
    );
  }
  if (claiming.length > 0) {
    return violation(
      `Effect ${event.effect_id} ran under approval ${event.approval_id}, but the Control Plane exchange that names it gave ${describeUntrusted(claiming[claiming.length - 1]!)}.`,
      ...claiming.map((e) => e.eventIndex),
      ...claiming.map((e) => e.op?.eventIndex),
    );
  }
  // Nothing earlier names the approval: show what the request's own exchanges said, and any late allow.
  const later = (index.exchangesByApprovalId.get(event.approval_id) ?? []).filter((e) => e.eventIndex > eventIndex);
  const ownExchanges = (effect.op?.exchanges ?? []).filter((e) => e.eventIndex < eventIndex);
  const lastOwn = ownExchanges[ownExchanges.length - 1];
  const what =
    later.length > 0
      ? `the Control Plane allow for it was only recorded after the effect`
      : lastOwn
        ? `the Control Plane gave its request ${describeUntrusted(lastOwn)}, and no trusted allow carries that approval id`
        : `no Control Plane allow carrying that approval id came before it`;
  return violation(
    `Effect ${event.effect_id} ran under approval ${event.approval_id}, but ${what}.`,
    effect.op?.eventIndex,
    ...ownExchanges.map((e) => e.eventIndex),
    ...later.map((e) => e.eventIndex),
  );
}

/** Intent records (dispatches) that no trusted allow for their request stands behind. */
function checkDispatches(history: History, index: HistoryIndex, violations: Violation[]): number {
  if (!history.auditExported) return 0;
  let examined = 0;
  history.audit.forEach((raw, auditIndex) => {
    if (!isJsonObject(raw) || raw.stage !== 'intent' || typeof raw.approval_id !== 'string' || typeof raw.request_hash !== 'string') return;
    const ops = index.opsByRequestHash.get(raw.request_hash as `sha256:${string}`) ?? [];
    const requestIds = new Set(ops.flatMap((op) => (op.parsed.ok ? [op.parsed.request.request_id] : [])));
    if (requestIds.size === 0) return; // not a request the harness sent: INV-5's finding
    examined += 1;
    const claiming = index.exchangesByApprovalId.get(raw.approval_id) ?? [];
    const approved = claiming.some((e) => e.trust.kind === 'trusted' && e.questionRequestId !== undefined && requestIds.has(e.questionRequestId) && e.trust.envelope.request_id === e.questionRequestId);
    if (approved) return;
    const own = ops.flatMap((op) => op.exchanges);
    const last = own[own.length - 1];
    violations.push({
      invariant: 'INV-1',
      message: `The Gate dispatched request op ${ops.map((op) => op.op).join(', ')} (intent record ${auditIndex}) under approval ${raw.approval_id}, which no trusted allow for that request carries${last ? `: the Control Plane gave it ${describeUntrusted(last)}` : ''} — it forwarded work nobody approved.`,
      eventIndexes: witnesses(...ops.map((op) => op.eventIndex), ...own.map((e) => e.eventIndex)),
      auditIndexes: [auditIndex],
    });
  });
  return examined;
}

export function checkInv1(history: History, index: HistoryIndex = buildHistoryIndex(history)): InvariantVerdict {
  const violations: Violation[] = [];
  for (const effect of index.effects) {
    const violation = checkEffect(effect, index);
    if (violation) violations.push(violation);
  }
  const dispatches = checkDispatches(history, index, violations);
  return { invariant: 'INV-1', holds: violations.length === 0, violations, examined: index.effects.length + dispatches };
}
