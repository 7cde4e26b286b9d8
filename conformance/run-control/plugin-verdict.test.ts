import { describe, expect, it } from 'vitest';
import type { FailureReport } from './campaign.ts';
import { judgePluginInvariants } from './verdict.ts';

const plugins = [
  { id: 'RATE', statement: 'rate' },
  { id: 'AUDIT-DEADLINE', statement: 'deadline', needsAuditExport: true },
];
const failure = (invariants: string[]): FailureReport =>
  ({ invariants, threat: 'history', message: 'it broke', commands: [], trail: [], modelPaths: [], phase: 'random', seed: 1, shrinks: 0, timeToDetectionMs: 1 });

describe('plug-in invariant statuses', () => {
  it('held when judged, with what they examined', () => {
    const tally = { judgedHistories: 3, pluginExamined: new Map([['RATE', 12]]) };
    expect(judgePluginInvariants(plugins, tally, undefined, new Set(['audit-export']))).toEqual([
      { id: 'RATE', statement: 'rate', status: 'held', examined: 12 },
      { id: 'AUDIT-DEADLINE', statement: 'deadline', status: 'held', examined: 0 },
    ]);
  });

  it('broken when the failure names them; not tested without the audit export they need; not reached when nothing was judged', () => {
    const [rate, audit] = judgePluginInvariants(plugins, { judgedHistories: 2 }, failure(['RATE']), new Set());
    expect(rate).toMatchObject({ status: 'broken', note: 'it broke' });
    expect(audit).toMatchObject({ status: 'not tested', note: 'needs the audit export' });
    const [unreached] = judgePluginInvariants(plugins, { judgedHistories: 0 }, failure(['INV-3']), new Set(['audit-export']));
    expect(unreached).toMatchObject({ status: 'not reached' });
  });
});
