/**
 * The two example plug-in invariants, as a user would test their own: each catches a bad history
 * built with the package's HistoryBuilder and accepts compliant traffic. (The CLI and vitest paths
 * run them against real runs: harness/cli/plugin-invariants.test.ts, harness/vitest/conformance.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { HistoryBuilder, addCompliantTraffic, checkPluginInvariant } from 'failclosed/api';
import { denialsAuditedWithin } from './denials-audited-promptly.ts';
import { maxActionsPerMinute } from './max-actions-per-minute.ts';

function compliant(): HistoryBuilder {
  const b = new HistoryBuilder();
  addCompliantTraffic(b);
  return b;
}

describe('example: no identity executes more than K actions per minute', () => {
  it('accepts the compliant traffic under a limit it respects', () => {
    const verdict = checkPluginInvariant(maxActionsPerMinute(100), compliant().build())!;
    expect(verdict.violations).toEqual([]);
    expect(verdict.examined).toBeGreaterThan(0);
  });

  it('catches K+1 executions by one identity within a minute, naming the effects', () => {
    const b = new HistoryBuilder();
    const executed = [1, 2, 3].map(() => b.tick(1_000).executeRequest());
    const verdict = checkPluginInvariant(maxActionsPerMinute(2), b.build())!;
    expect(verdict.holds).toBe(false);
    expect(verdict.violations).toHaveLength(1);
    expect(verdict.violations[0]!.invariant).toBe('RATE-2-PER-MINUTE');
    expect(verdict.violations[0]!.eventIndexes).toEqual(executed.map((e) => e.effectIndex));
    expect(verdict.violations[0]!.message).toMatch(/alice executed 3 actions within \d+ ms \(at most 2 per minute\)/);
  });

  it('accepts the same executions spread over more than a minute', () => {
    const b = new HistoryBuilder();
    for (let i = 0; i < 3; i++) b.tick(31_000).executeRequest();
    expect(checkPluginInvariant(maxActionsPerMinute(2), b.build())!.violations).toEqual([]);
  });
});

describe('example: every denial reaches the audit log within 100 ms of the answer', () => {
  /** A denial answered at once and audited `delayMs` later. */
  function lateDenial(delayMs: number, fault?: 'audit-down') {
    const b = compliant();
    const span = fault ? b.fault(fault) : undefined;
    const traceId = b.traceId();
    const sent = b.send(b.request());
    b.tick();
    const responseIndex = b.respond(sent, 'denied', { code: 'POLICY_DENIED', trace_id: traceId });
    if (span) b.heal(span);
    b.tick(delayMs);
    const record = b.auditDenial(sent, 'POLICY_DENIED', traceId);
    return { history: b.build(), responseIndex, auditIndex: b.audit.findIndex((r) => (r as { record_id?: string }).record_id === record.record_id) };
  }

  it('accepts the compliant traffic, whose denials are audited before they are answered', () => {
    const verdict = checkPluginInvariant(denialsAuditedWithin(100), compliant().build())!;
    expect(verdict.violations).toEqual([]);
    expect(verdict.examined).toBeGreaterThan(0);
  });

  it('catches a denial audited 250 ms after the answer, naming the answer and the record', () => {
    const { history, responseIndex, auditIndex } = lateDenial(250);
    const verdict = checkPluginInvariant(denialsAuditedWithin(100), history)!;
    expect(verdict.holds).toBe(false);
    expect(verdict.violations).toHaveLength(1);
    expect(verdict.violations[0]!.eventIndexes).toContain(responseIndex);
    expect(verdict.violations[0]!.auditIndexes).toEqual([auditIndex]);
    expect(verdict.violations[0]!.message).toMatch(/audited 250 ms after the answer \(deadline 100 ms\)/);
  });

  it('accepts a record 90 ms late, and one spooled during an audit outage', () => {
    expect(checkPluginInvariant(denialsAuditedWithin(100), lateDenial(90).history)!.violations).toEqual([]);
    expect(checkPluginInvariant(denialsAuditedWithin(100), lateDenial(5_000, 'audit-down').history)!.violations).toEqual([]);
  });

  it('is not judged on a history without an audit export', () => {
    const b = compliant();
    b.auditExported = false;
    expect(checkPluginInvariant(denialsAuditedWithin(100), b.build())).toBeUndefined();
  });
});
