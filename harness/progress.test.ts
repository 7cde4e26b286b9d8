import { describe, expect, it } from 'vitest';
import type { RunStatus } from '../conformance/runner.ts';
import { formatStatus, progressDisplay, wantsLiveProgress } from './progress.ts';

const status = (over: Partial<RunStatus> = {}): RunStatus => ({
  phase: 'random',
  runsDone: 3,
  runsTotal: 41,
  steps: 300,
  elapsedMs: 2500,
  failures: 0,
  invariants: { 'INV-1': 'held so far', 'INV-2': 'held so far', 'INV-3': 'broken', 'INV-4': 'held so far', 'INV-5': 'held so far', 'INV-6': 'held so far' },
  ...over,
});

describe('progress display', () => {
  it('shows runs done of total, steps, elapsed time, failures so far and each invariant', () => {
    const line = formatStatus(status({ failures: 2 }));
    expect(line).toContain('3/41 runs');
    expect(line).toContain('300 steps');
    expect(line).toContain('2.5 s');
    expect(line).toContain('failures 2');
    expect(line).toContain('INV-3 ✗');
    expect(line).toContain('INV-1 ✓');
  });

  it('rewrites one line on a terminal, and clears it before other output', () => {
    let out = '';
    const display = progressDisplay((t) => void (out += t), true);
    display.status(status());
    display.status(status({ runsDone: 4 }));
    display.line('done');
    expect(out.split('\n')).toHaveLength(2);
    expect(out).toContain('\r\x1b[K');
    expect(out.endsWith('done\n')).toBe(true);
  });

  it('prints plain lines, one per phase change at most every few seconds, without control sequences', () => {
    let out = '';
    const display = progressDisplay((t) => void (out += t), false);
    display.status(status({ phase: 'prelude' }));
    for (let i = 0; i < 50; i++) display.status(status({ runsDone: i }));
    display.status(status({ phase: 'shrinking' }));
    expect(out.split('\n').filter(Boolean)).toHaveLength(3);
    expect(out).not.toContain('\x1b');
  });

  it('is live only on a terminal and never in CI', () => {
    expect(wantsLiveProgress({ isTTY: true }, {})).toBe(true);
    expect(wantsLiveProgress({ isTTY: true }, { CI: 'true' })).toBe(false);
    expect(wantsLiveProgress({ isTTY: false }, {})).toBe(false);
  });
});
