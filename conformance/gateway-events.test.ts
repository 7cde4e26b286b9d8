/**
 * The suite reads the gateway events a system serves with its audit export and judges them
 * (CONTRACT.md section 7, INV-5): the reference's pass; a gate that closes a denied request twice
 * (failed, then completed) is caught.
 */
import { describe, expect, it } from 'vitest';
import { Gate } from '../reference-impl/gate/gate.ts';
import { referenceTarget } from '../reference-impl/in-process-target.ts';
import { InProcessDriver } from '../harness/drivers/in-process.ts';
import { PROFILES } from './profiles.ts';
import { runSuite } from './runner.ts';
import type { History } from '../model/history.ts';

describe('gateway events in a run', () => {
  it("records the reference's events and finds them right", async () => {
    const histories: History[] = [];
    const report = await runSuite((h) => new InProcessDriver(referenceTarget(), h), { profile: PROFILES.quick, seed: 31, runs: 2, onHistory: (history) => histories.push(history) });
    expect(report.failure?.message).toBeUndefined();
    // Events need not survive a crash: only those after the prelude's last crash are kept — and
    // its commands that crash come before the many that do not.
    const events = histories.flatMap((h) => h.events.filter((e) => e.kind === 'gateway-event'));
    expect(events.length).toBeGreaterThan(100);
  });

  it('catches a gate whose events close a denied request twice', async () => {
    const twice = referenceTarget('events-close-twice', {
      makeGate: (deps) =>
        new Gate({
          ...deps,
          onEvent: (event) => {
            deps.onEvent?.(event);
            if (event.event === 'failed') deps.onEvent?.({ ...event, event: 'completed' });
          },
        }),
    });
    const report = await runSuite((h) => new InProcessDriver(twice, h), { profile: PROFILES.quick, seed: 31, runs: 1 });
    expect(report.verdict).toBe('non-compliant');
    expect(report.failure?.invariants).toEqual(['INV-5']);
    expect(report.failure?.message).toMatch(/must have one "accepted" event, then one "failed with/);
  });
});
