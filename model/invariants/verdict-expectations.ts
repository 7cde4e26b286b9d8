/**
 * Assertions shared by the invariant tests: a verdict that holds must have looked at something,
 * and a caught violation must name its invariant and point at its witnesses.
 */
import { expect } from 'vitest';
import type { InvariantVerdict } from '../history.ts';
import type { InvariantId } from '../profile/denial-codes.ts';

export function expectHolds(verdict: InvariantVerdict): void {
  expect(verdict.violations).toEqual([]);
  expect(verdict.holds).toBe(true);
  expect(verdict.examined).toBeGreaterThan(0);
}

/**
 * The verdict fails, every violation is `invariant`'s and cites at least one witness, and some
 * violation cites all of `events` (indexes into history.events) and all of `audit`.
 */
export function expectCaught(
  verdict: InvariantVerdict,
  invariant: InvariantId,
  witnesses: { events?: number[]; audit?: number[]; message?: RegExp } = {},
): void {
  expect(verdict.invariant).toBe(invariant);
  expect(verdict.holds).toBe(false);
  expect(verdict.violations.length).toBeGreaterThan(0);
  for (const violation of verdict.violations) {
    expect(violation.invariant).toBe(invariant);
    expect(violation.message.length).toBeGreaterThan(0);
    expect(violation.eventIndexes.length + (violation.auditIndexes?.length ?? 0)).toBeGreaterThan(0);
  }
  const { events = [], audit = [], message } = witnesses;
  const citing = verdict.violations.filter(
    (v) =>
      events.every((e) => v.eventIndexes.includes(e)) &&
      audit.every((a) => v.auditIndexes?.includes(a)) &&
      (message === undefined || message.test(v.message)),
  );
  expect(citing, `no violation cites events ${events} / audit ${audit}: ${JSON.stringify(verdict.violations, null, 1)}`).not.toEqual([]);
}
