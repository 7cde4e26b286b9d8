import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { History } from '../../model/history.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import { InProcessDriver } from '../../harness/drivers/in-process.ts';
import { HarnessError } from '../../harness/drivers/http.ts';
import { formatRunReport } from '../../harness/report-text.ts';
import { writeRunEvidence } from '../../harness/reports/run-evidence.ts';
import type { Capability, Driver } from '../driver.ts';
import { PROFILES } from '../profiles.ts';
import type { DriverFactory } from '../runner.ts';
import { runSuite } from '../runner.ts';
import { FLOOR_EXTENSION, RunBudget } from './budget.ts';
import { laneSeed } from './campaign.ts';
import { MUTANTS } from '../mutants/index.ts';
import { createHarness } from '../runner.ts';
import { LEVEL_NEEDS, reachableTransitions } from './levels.ts';

const reference: DriverFactory = (h) => new InProcessDriver(referenceTarget(), h);

/** The reference, offering only some capabilities (as a gate without the control channel does). */
function offering(keep: (c: Capability) => boolean, patch?: (driver: InProcessDriver) => void): DriverFactory {
  return (h) => {
    const driver = new InProcessDriver(referenceTarget(), h);
    Object.defineProperty(driver, 'capabilities', { value: new Set([...driver.capabilities].filter(keep)) });
    patch?.(driver);
    return driver;
  };
}
const withoutReset = offering((c) => c !== 'reset');
const channelless = offering((c) => c === 'audit-export');

describe('the run budget', () => {
  const quick = PROFILES.quick;
  const clock = (start = 0) => {
    let now = start;
    return { now: () => now, advance: (ms: number) => (now += ms) };
  };

  it('stops the profile\'s runs at its time budget, once the step floor is reached', () => {
    const c = clock();
    const budget = new RunBudget(quick, {}, c.now);
    budget.start();
    expect(budget.mayStartRun(0, 10_000)).toBe(true);
    c.advance(quick.timeLimitMs);
    expect(budget.mayStartRun(5, 10_000)).toBe(false);
    expect(budget.stopReason(5)).toBe('time budget');
  });

  it('gives a slow system below the step floor more time, but not without end', () => {
    const c = clock();
    const budget = new RunBudget(quick, {}, c.now);
    budget.start();
    c.advance(quick.timeLimitMs + 1);
    expect(budget.mayStartRun(3, quick.minSteps - 1)).toBe(true);
    expect(budget.extended).toBe(true);
    c.advance(FLOOR_EXTENSION * quick.timeLimitMs);
    expect(budget.mayStartRun(4, quick.minSteps - 1)).toBe(false);
  });

  it('honours an explicit number of runs whatever the time, unless a time budget is given too', () => {
    const c = clock();
    const runs = new RunBudget(quick, { runs: 500 }, c.now);
    runs.start();
    c.advance(100 * quick.timeLimitMs);
    expect(runs.mayStartRun(499, 0)).toBe(true);
    expect(runs.mayStartRun(500, 0)).toBe(false);
    expect(runs.stopReason(500)).toBe('all runs done');
    const both = new RunBudget(quick, { runs: 500, timeBudgetMs: 1000 }, c.now);
    both.start();
    c.advance(1000);
    expect(both.mayStartRun(10, 0)).toBe(false); // an explicit budget is not stretched for the floor
    expect(both.stopReason(10)).toBe('time budget');
  });

  it('lets a failure shrink within its own allowance, then stops', () => {
    const c = clock();
    const budget = new RunBudget(quick, {}, c.now);
    budget.start();
    c.advance(quick.timeLimitMs - 1);
    budget.failed();
    c.advance(quick.shrinkLimitMs - 1);
    expect(budget.mayStartRun(40, 0)).toBe(true);
    c.advance(1);
    expect(budget.mayStartRun(40, 0)).toBe(false);
    expect(budget.stopReason(40)).toBe('failure');
  });
});

describe('conformance levels', () => {
  it('core reaches a part of the model, full all of it', () => {
    const core = reachableTransitions('core');
    const full = reachableTransitions('full');
    expect(core.size).toBeGreaterThan(0);
    expect(core.size).toBeLessThan(full.size);
    for (const t of core) expect(full.has(t)).toBe(true);
    expect([...core].some((t) => t.includes('nonceStore.unavailable'))).toBe(false);
    expect(LEVEL_NEEDS.core).toEqual([]);
  });

  it('a gate without the control channel is compliant at core, and inconclusive at full with the remedy', async () => {
    const core = await runSuite(channelless, { profile: PROFILES.quick, seed: 21, level: 'core' });
    expect(core.reasons).toEqual([]);
    expect(core.verdict).toBe('compliant');
    expect(core.level).toEqual({ requested: 'core', met: true, levelsMet: ['core'] });
    expect(core.campaign.windows).toBe('continuous');
    expect(core.counts.randomRuns).toBeGreaterThan(0);
    expect(core.coverage.percent).toBe(100);
    expect(core.invariants['INV-6']).toBe('not tested');
    expect(core.invariants['INV-3']).toBe('held');
    expect(core.notTested.length).toBeGreaterThan(0);

    const full = await runSuite(channelless, { profile: PROFILES.quick, seed: 21, level: 'full' });
    expect(full.verdict).toBe('inconclusive');
    expect(full.exitCode).toBe(2);
    expect(full.level).toEqual({ requested: 'full', met: false, levelsMet: ['core'] });
    expect(full.reasons.join('\n')).toMatch(/level full needs what the system does not offer: .*nonce-store-down/);
    expect(full.reasons.join('\n')).toContain('certify that with --level core');
  });
});

describe('runs on a system that cannot be reset', () => {
  it('judges the random sequences one after another, each on its own window of the audit chain', async () => {
    const histories: History[] = [];
    const report = await runSuite(withoutReset, { profile: PROFILES.quick, seed: 8, runs: 6, onHistory: (h) => histories.push(h) });
    expect(report.reasons).toEqual([]);
    expect(report.verdict).toBe('compliant');
    expect(report.campaign.windows).toBe('continuous');
    expect(report.counts.runs).toBe(7);
    expect(histories).toHaveLength(report.counts.histories);
    // Each later window continues the chain where the one before ended.
    for (let i = 1; i < histories.length; i++) {
      const before = histories.slice(0, i).reverse().find((h) => h.audit.length > 0);
      const first = histories[i]!.audit[0] as { prev_hash?: string } | undefined;
      if (!before || !first) continue;
      expect(first.prev_hash).toBe((before.audit.at(-1) as { record_hash: string }).record_hash);
      expect(histories[i]!.auditChainAnchors?.[0]).toBe(first.prev_hash);
    }
  });

  it('is inconclusive, never non-compliant, when the gate already holds records it did not cause', async () => {
    const used: DriverFactory = async (h) => {
      const driver = withoutReset(h) as Driver;
      await driver.submit(new TextEncoder().encode('{"not":"a request"}'));
      h.recorder.reset();
      return driver;
    };
    const report = await runSuite(used, { profile: PROFILES.quick, seed: 8 });
    expect(report.verdict).toBe('inconclusive');
    expect(report.reasons[0]).toMatch(/the gate is not fresh: its audit log already holds 1 record\(s\).*restart the gate on an empty data directory/);
    expect(report.counts.runs).toBe(0);
    expect(report.campaign.stoppedBy).toBe('not run');
  });

  it('is inconclusive when a reset does not empty the audit log', async () => {
    const stuck: DriverFactory = async (h) => {
      const driver = new InProcessDriver(referenceTarget(), h);
      await driver.submit(new TextEncoder().encode('garbage'));
      driver.reset = async () => undefined;
      return driver;
    };
    const report = await runSuite(stuck, { profile: PROFILES.quick, seed: 8 });
    expect(report.verdict).toBe('inconclusive');
    expect(report.reasons[0]).toContain('after POST /failclosed/v1/reset');
  });

  it('catches acknowledged records that disappear between runs', async () => {
    let exports = 0;
    const forgetful = offering(
      (c) => c !== 'reset',
      (driver) => {
        const real = driver.auditExport.bind(driver);
        // Exports: 1 the freshness check, 2-3 the prelude's window, 4 the first random run's start;
        // from its end on (5), the oldest record is gone.
        driver.auditExport = async () => ((exports += 1) >= 5 ? (await real()).map((log) => log.slice(1)) : real());
      },
    );
    const report = await runSuite(forgetful, { profile: PROFILES.quick, seed: 8, runs: 3 });
    expect(report.verdict).toBe('non-compliant');
    expect(report.failure?.invariants).toEqual(['INV-5']);
    expect(report.failure?.message).toContain('acknowledged records were lost or rewritten');
  });
});

describe('run control', () => {
  it('finishes and judges the run in flight when the time budget ends, and every count agrees', async () => {
    const slow: DriverFactory = (h) => {
      const driver = new InProcessDriver(referenceTarget(), h);
      const submit = driver.submit.bind(driver);
      driver.submit = async (body) => {
        await new Promise((resolve) => setTimeout(resolve, 15));
        return submit(body);
      };
      return driver;
    };
    const histories: History[] = [];
    let afterReturn = 0;
    let returned = false;
    const report = await runSuite(slow, {
      profile: { ...PROFILES.quick, minSteps: 1 },
      seed: 5,
      timeBudgetMs: 1_500,
      skipPrelude: true,
      onHistory: (h) => {
        if (returned) afterReturn += 1;
        histories.push(h);
      },
      onStatus: () => {
        if (returned) afterReturn += 1;
      },
    });
    returned = true;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(afterReturn, 'nothing may run after the verdict').toBe(0);
    expect(report.campaign.stoppedBy).toBe('time budget');
    expect(report.counts.randomRuns).toBeLessThan(report.campaign.requestedRuns);
    expect(report.counts.randomRuns).toBeGreaterThan(0);
    expect(report.counts.runs).toBe(report.counts.randomRuns);
    expect(histories).toHaveLength(report.counts.histories);
    expect(report.counts.histories).toBe(report.counts.runs);

    const dir = join(mkdtempSync(join(tmpdir(), 'failclosed-budget-')), 'report');
    const evidence = await writeRunEvidence(dir, report, { histories, target: { kind: 'in-process' }, level: 'full' });
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8'));
    expect(result.counts).toEqual(report.counts);
    expect(result.campaign.stoppedBy).toBe('time budget');
    const junit = readFileSync(join(dir, 'junit.xml'), 'utf8');
    expect(junit).toContain(`<property name="runs" value="${report.counts.runs}"/>`);
    expect(junit).toContain(`<property name="histories" value="${report.counts.histories}"/>`);
    expect(evidence.kit.runs).toBe(report.counts.histories);
    expect(readdirSync(join(dir, 'kit')).length).toBeGreaterThan(0);
    const text = formatRunReport(report, { reportHtml: evidence.reportHtml });
    expect(text).toContain(`${report.counts.randomRuns} random of ${report.campaign.requestedRuns} requested (time budget)`);
    expect(text.trimEnd().split('\n').at(-1)).toMatch(/^(COMPLIANT|INCONCLUSIVE) at level full/);
  });

  it('says "N requested, M ran" and is inconclusive when an explicit budget cuts explicit runs short', async () => {
    const report = await runSuite(reference, { profile: { ...PROFILES.quick, minSteps: 1 }, seed: 5, runs: 10_000, timeBudgetMs: 1_000, skipPrelude: true });
    expect(report.verdict).toBe('inconclusive');
    expect(report.reasons.join('\n')).toMatch(/10000 random runs were requested but only \d+ ran before the time budget of 1 s ended/);
    expect(report.campaign).toMatchObject({ requestedRuns: 10_000, explicitRuns: true, stoppedBy: 'time budget' });
  });

  it('stops at once, without shrinking, when the system goes away mid-run', async () => {
    let submits = 0;
    const dying: DriverFactory = (h) => {
      const driver = new InProcessDriver(referenceTarget(), h);
      const submit = driver.submit.bind(driver);
      driver.submit = async (body) => {
        if ((submits += 1) > 30) throw new HarnessError('the system under test is down');
        return submit(body);
      };
      return driver;
    };
    await expect(runSuite(dying, { profile: PROFILES.quick, seed: 5, skipPrelude: true })).rejects.toThrow('the system under test is down');
    const at = submits;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(submits).toBe(at);
  });
});

describe('parallel systems (run --parallel N)', () => {
  const systems = (n: number, factory: DriverFactory) => Array.from({ length: n }, () => ({ harness: createHarness(), makeDriver: factory }));

  it('runs the random phase in one lane per system, and counts every run once', async () => {
    const histories: History[] = [];
    const report = await runSuite(reference, { profile: PROFILES.quick, seed: 4, runs: 9, moreSystems: systems(2, reference), onHistory: (h) => histories.push(h) });
    expect(report.reasons).toEqual([]);
    expect(report.verdict).toBe('compliant');
    expect(report.campaign.parallel).toBe(3);
    expect(report.counts.randomRuns).toBe(9);
    expect(report.counts.runs).toBe(10);
    expect(histories).toHaveLength(report.counts.histories);
  });

  it('shrinks the first failing lane\'s counterexample, which replays from its own seed', async () => {
    const mutant = MUTANTS.find((m) => m.id === 'revoked-key-accepted')!;
    const buggy: DriverFactory = (h) => new InProcessDriver(mutant.target, h);
    const report = await runSuite(buggy, { profile: PROFILES.quick, seed: 12, skipPrelude: true, moreSystems: systems(1, buggy) });
    const f = report.failure!;
    expect(f.phase).toBe('random');
    expect([laneSeed(12, 0), laneSeed(12, 1)]).toContain(f.seed);
    const again = await runSuite(buggy, { profile: PROFILES.quick, replay: { seed: f.seed, path: f.path!, ...(f.replayPath ? { replayPath: f.replayPath } : {}) } });
    expect(again.verdict).toBe('non-compliant');
    expect(again.failure?.commands).toEqual(f.commands);
  });

  it('derives lane seeds deterministically: lane 0 is the run\'s own', () => {
    expect(laneSeed(77, 0)).toBe(77);
    expect(laneSeed(77, 1)).toBe(laneSeed(77, 1));
    expect(new Set([1, 2, 3, 4].map((l) => laneSeed(77, l))).size).toBe(4);
  });
});
