import { assign } from 'xstate';
import { describe, expect, it } from 'vitest';
import { ALL_DENIAL_CODES } from './profile/denial-codes.ts';
import { executionLayerMachine } from './execution-layer-machine.ts';
import { gateMachine } from './gate-machine.ts';
import type { ModelCheckProperty } from './model-check.ts';
import { modelCheck } from './model-check.ts';

const propertiesOf = (report: ReturnType<typeof modelCheck>) => new Set(report.violations.map((v) => v.property));

describe('exhaustive model check', () => {
  const report = modelCheck();

  it('finds no violation in the model', () => {
    expect(report.violations).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('explores every scenario the model distinguishes and reports the counts', () => {
    const c = report.counts;
    console.log(
      `model check: ${c.gateScenarios} gate scenarios, ${c.directCallScenarios} direct-call scenarios, ` +
        `${c.replaySequences} replay sequences, ${Object.keys(c.terminals).length} terminal outcomes, ` +
        `${report.coverage.transitionsCovered}/${report.coverage.transitionsTotal} transitions`,
    );
    expect(c.gateScenarios).toBeGreaterThanOrEqual(40);
    expect(c.directCallScenarios).toBeGreaterThanOrEqual(10);
    expect(c.terminals.executed).toBe(1);
    expect(report.coverage.transitionsCovered).toBe(report.coverage.transitionsTotal);
  });

  it('INV-1…INV-6 hold, and examine something, on the history a compliant system records for every scenario', () => {
    expect(report.invariants.map((v) => v.invariant)).toEqual(['INV-1', 'INV-2', 'INV-3', 'INV-4', 'INV-5', 'INV-6']);
    for (const verdict of report.invariants) {
      expect(verdict.holds, verdict.invariant).toBe(true);
      expect(verdict.examined, verdict.invariant).toBeGreaterThan(0);
    }
  });

  it('reaches every denial code of the profile', () => {
    expect(report.coverage.codesMissing).toEqual([]);
    expect([...report.coverage.codesReached].sort()).toEqual([...ALL_DENIAL_CODES].sort());
  });
});

// The check must be able to fail: plant one bug at a time in the model itself.
describe('the model check catches a broken model', () => {
  const cases: [string, Parameters<typeof modelCheck>[0], ModelCheckProperty[]][] = [
    [
      'nonce store forgets claims (replays admitted)',
      { gate: gateMachine.provide({ guards: { nonceAlreadyClaimed: () => false } }) },
      ['failure-ends-in-denial', 'single-consumption', 'code-reachability', 'history-invariants'],
    ],
    [
      'Execution Layer accepts a consumed approval',
      { gate: gateMachine.provide({ guards: { approvalAlreadyConsumed: () => false } }) },
      ['failure-ends-in-denial', 'single-consumption', 'history-invariants'],
    ],
    [
      'failed parallel checks are forgotten (fail-open)',
      { gate: gateMachine.provide({ actions: { fail: assign({}) } as never }) },
      ['failure-ends-in-denial', 'history-invariants'],
    ],
    [
      'no intent record before dispatch',
      { gate: gateMachine.provide({ actions: { writeIntentRecord: assign({}) } as never }) },
      ['audit-records', 'history-invariants'],
    ],
    [
      'denials are not audited',
      { gate: gateMachine.provide({ actions: { writeDenialRecord: assign({}) } as never }) },
      ['audit-records', 'history-invariants'],
    ],
    [
      'a check is skipped on the way to execution',
      { gate: gateMachine.provide({ actions: { passAll: assign({}) } as never }) },
      ['executed-passed-every-check'],
    ],
    [
      'direct calls skip single use',
      { executionLayer: executionLayerMachine.provide({ guards: { approvalAlreadyConsumed: () => false } }) },
      ['failure-ends-in-denial', 'single-consumption'],
    ],
  ];

  it.each(cases)('%s', (_name, machines, expected) => {
    const broken = modelCheck(machines);
    expect(broken.ok).toBe(false);
    const found = propertiesOf(broken);
    for (const property of expected) expect(found, `expected a ${property} violation`).toContain(property);
    for (const v of broken.violations) expect(v.message.length).toBeGreaterThan(0);
  });
});
