import { describe, expect, it } from 'vitest';
import { HistoryBuilder, addCompliantTraffic } from '../history-builder.ts';
import type { PluginInvariant } from './plugins.ts';
import { PluginError, checkPluginInvariant, checkPluginInvariants, validatePluginInvariants } from './plugins.ts';

/** A plug-in that flags every effect of the action "payments.refund". */
const noRefunds: PluginInvariant = {
  id: 'NO-REFUNDS',
  statement: 'nothing is refunded',
  check(history) {
    const effects = history.events.flatMap((e, i) => (e.kind === 'effect' ? [{ e, i }] : []));
    return { examined: effects.length, violations: effects.filter(({ e }) => e.action === 'payments.refund').map(({ i }) => ({ message: 'refunded', eventIndexes: [i] })) };
  },
};

function compliant(): HistoryBuilder {
  const b = new HistoryBuilder();
  addCompliantTraffic(b);
  return b;
}

describe('plug-in invariants', () => {
  it('holds on a history without the forbidden effect, and says what it examined', () => {
    const verdict = checkPluginInvariant(noRefunds, compliant().build())!;
    expect(verdict).toMatchObject({ invariant: 'NO-REFUNDS', holds: true, violations: [] });
    expect(verdict.examined).toBeGreaterThan(0);
  });

  it('catches a bad history, with its witness', () => {
    const b = compliant();
    const index = b.effect({ approval_id: 'appr-x', identity: 'alice', action: 'payments.refund', parameters: {} });
    const [verdict] = checkPluginInvariants([noRefunds], b.build());
    expect(verdict).toMatchObject({ invariant: 'NO-REFUNDS', holds: false, violations: [{ invariant: 'NO-REFUNDS', message: 'refunded', eventIndexes: [index] }] });
  });

  it('refuses malformed plug-ins and ids the profile owns, before any run', () => {
    expect(() => validatePluginInvariants([{ ...noRefunds, id: 'INV-3' }])).toThrow(/profile's invariants own/);
    expect(() => validatePluginInvariants([{ ...noRefunds, id: 'INV-7' }])).toThrow(/profile's invariants own/);
    expect(() => validatePluginInvariants([{ ...noRefunds, id: 'has space' }])).toThrow(/no valid id/);
    expect(() => validatePluginInvariants([{ ...noRefunds, statement: '' }])).toThrow(/no statement/);
    expect(() => validatePluginInvariants([{ id: 'X', statement: 's' }])).toThrow(/no check function/);
    expect(() => validatePluginInvariants([noRefunds, noRefunds])).toThrow(/used twice/);
    expect(() => validatePluginInvariants([42])).toThrow(PluginError);
  });

  it("blames the plug-in, not the gate, for a predicate that throws or names witnesses outside the history", () => {
    const history = compliant().build();
    const throwing: PluginInvariant = { ...noRefunds, id: 'THROWS', check: () => { throw new Error('oops'); } };
    expect(() => checkPluginInvariant(throwing, history)).toThrow(/plug-in THROWS threw: oops/);
    const outside: PluginInvariant = { ...noRefunds, id: 'OUTSIDE', check: () => ({ examined: 1, violations: [{ message: 'x', eventIndexes: [history.events.length] }] }) };
    expect(() => checkPluginInvariant(outside, history)).toThrow(PluginError);
    const shapeless = { ...noRefunds, id: 'SHAPELESS', check: () => [] } as unknown as PluginInvariant;
    expect(() => checkPluginInvariant(shapeless, history)).toThrow(/must return \{ violations/);
  });
});
