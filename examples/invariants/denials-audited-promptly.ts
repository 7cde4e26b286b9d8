/**
 * A plug-in invariant: every denial reaches the audit log within 100 ms of the answer.
 *
 * INV-5 demands that each denial is audited; this adds a deadline: the final deny record, joined to
 * the answer by its trace_id, carries a timestamp_ms at most 100 ms after the harness received the
 * answer. Denials answered while the system's clock was moved (clock-offset), its audit log was
 * down (the record is spooled and written after the outage, as the contract allows) or it was
 * crashed are left out: there the deadline is not the system's to keep. A denial without a final
 * record is INV-5's finding, not repeated here.
 *
 *   npx failclosed run --invariants ./examples/invariants/denials-audited-promptly.ts
 */
import type { AuditRecord, History, PluginViolation } from 'failclosed/api';
import { defineInvariant, validateAuditRecord } from 'failclosed/api';

export const AUDIT_DEADLINE_MS = 100;

const EXCUSED = new Set(['clock-offset', 'audit-down', 'crash']);

/** Whether an excusing fault was active at `at` (harness time). */
function excused(history: History, at: number): boolean {
  return history.events.some((e) => e.kind === 'fault' && EXCUSED.has(e.fault) && e.at <= at && (e.until === null || at <= e.until));
}

export function denialsAuditedWithin(deadlineMs: number): ReturnType<typeof defineInvariant> {
  return defineInvariant({
    id: `AUDIT-DENIAL-${deadlineMs}MS`,
    statement: `every denial's final audit record is written within ${deadlineMs} ms of the answer`,
    needsAuditExport: true,
    check(history, index) {
      const finalDenials = new Map<string, { record: AuditRecord; auditIndex: number }>();
      history.audit.forEach((value, auditIndex) => {
        const parsed = validateAuditRecord(value);
        if (parsed.ok && parsed.value.stage === 'final' && parsed.value.decision === 'deny') finalDenials.set(parsed.value.trace_id, { record: parsed.value, auditIndex });
      });
      const violations: PluginViolation[] = [];
      let examined = 0;
      for (const op of index.ops) {
        const response = op.response;
        if (!response || response.event.status !== 'denied' || !response.event.trace_id) continue;
        if (excused(history, op.event.at) || excused(history, response.event.at)) continue;
        const audited = finalDenials.get(response.event.trace_id);
        if (!audited) continue;
        examined += 1;
        const lateBy = audited.record.timestamp_ms - response.event.at;
        if (lateBy > deadlineMs) {
          violations.push({
            message: `the denial of op ${op.op} (${response.event.code ?? 'no code'}) was audited ${lateBy} ms after the answer (deadline ${deadlineMs} ms)`,
            eventIndexes: [op.eventIndex, response.eventIndex],
            auditIndexes: [audited.auditIndex],
          });
        }
      }
      return { violations, examined };
    },
  });
}

export default [denialsAuditedWithin(AUDIT_DEADLINE_MS)];
