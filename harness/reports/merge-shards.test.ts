import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { History } from '../../model/history.ts';
import { MUTANTS } from '../../conformance/mutants/index.ts';
import { PROFILES } from '../../conformance/profiles.ts';
import type { DriverFactory } from '../../conformance/runner.ts';
import { runSuite } from '../../conformance/runner.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import { InProcessDriver } from '../drivers/in-process.ts';
import { verifyKit } from '../evidence/verify.ts';
import { MergeError, mergeShards } from './merge-shards.ts';
import { writeRunEvidence } from './run-evidence.ts';

const root = mkdtempSync(join(tmpdir(), 'failclosed-shards-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const reference: DriverFactory = (h) => new InProcessDriver(referenceTarget(), h);

/** Runs shard i of n as `run --shard i/n --seed seed` would, into its own report folder. */
async function shard(name: string, factory: DriverFactory, index: number, count: number, seed: number, runs: number): Promise<string> {
  const histories: History[] = [];
  const report = await runSuite(factory, { profile: PROFILES.quick, seed, runs, shard: { index, count }, onHistory: (h) => histories.push(h) });
  const dir = join(root, name, `shard-${index}`);
  await writeRunEvidence(dir, report, { histories, target: { kind: 'in-process' }, level: 'full' });
  return dir;
}

describe('a campaign in shards, merged', () => {
  it('each shard is partial alone; merged, they are the campaign: one verdict, all runs counted, one kit that verifies', async () => {
    const dirs = [await shard('whole', reference, 1, 3, 9, 10), await shard('whole', reference, 2, 3, 9, 10), await shard('whole', reference, 3, 3, 9, 10)];
    const merged = await mergeShards(dirs, join(root, 'whole', 'merged'));
    expect(merged.report.reasons).toEqual([]);
    expect(merged.report.verdict).toBe('compliant');
    expect(merged.report.counts.randomRuns).toBe(10);
    expect(merged.report.counts.runs).toBe(11); // the prelude, in shard 1 only
    expect(merged.report.coverage.percent).toBe(100);
    expect(merged.kit.runs).toBe(merged.report.counts.histories);
    expect((await verifyKit(merged.kit.dir)).ok).toBe(true);
  });

  it('a shard alone is partial: nothing failed in it, no campaign verdict (exit 0)', async () => {
    const report = await runSuite(reference, { profile: PROFILES.quick, seed: 9, runs: 10, shard: { index: 2, count: 3 } });
    expect(report.verdict).toBe('partial');
    expect(report.exitCode).toBe(0);
    expect(report.counts.runs).toBe(3); // its share of the 10 runs, no prelude
    expect(report.shard).toMatchObject({ index: 2, count: 3 });
  });

  it('a missing shard makes the merge inconclusive, never compliant', async () => {
    const dirs = [await shard('gap', reference, 1, 3, 5, 6), await shard('gap', reference, 3, 3, 5, 6)];
    const merged = await mergeShards(dirs, join(root, 'gap', 'merged'));
    expect(merged.report.verdict).toBe('inconclusive');
    expect(merged.report.reasons.join(' ')).toContain('shard 2 of 3 is missing');
  });

  it('a failure in any shard is the campaign\'s, with its counterexample beside the merged report', async () => {
    const mutant = MUTANTS.find((m) => m.id === 'revoked-key-accepted')!;
    const buggy: DriverFactory = (h) => new InProcessDriver(mutant.target, h);
    const dirs = [await shard('failing', buggy, 1, 2, 3, 4), await shard('failing', buggy, 2, 2, 3, 4)];
    const merged = await mergeShards(dirs, join(root, 'failing', 'merged'));
    expect(merged.report.verdict).toBe('non-compliant');
    expect(merged.report.failure?.invariants).toContain('INV-3');
    expect(merged.counterexampleFile && existsSync(merged.counterexampleFile)).toBe(true);
  });

  it('refuses folders that are not one campaign', async () => {
    const a = await shard('mixed', reference, 1, 2, 1, 2);
    const b = join(await shard('mixed-other', reference, 2, 2, 2, 2));
    await expect(mergeShards([a, b], join(root, 'mixed', 'merged'))).rejects.toThrow(MergeError);
    await expect(mergeShards([a, a], join(root, 'mixed', 'merged2'))).rejects.toThrow(/given twice/);
  });
});
