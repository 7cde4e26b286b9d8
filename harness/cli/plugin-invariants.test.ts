/**
 * Plug-in invariants through the CLI, as a user runs them: `run --invariants FILE` judges them on
 * every run and reports them beside INV-1…INV-6 in the text, result.json, junit.xml and
 * report.html; `verify KIT --invariants FILE` re-judges them from the kit; `replay` loads them again.
 * The failing case uses the example rate limit with K=3, which the reference breaks in its prelude.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { readResultSchema } from '../reports/result-json.ts';
import { cli } from './cli-test-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'failclosed-plugins-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const example = (name: string) => fileURLToPath(new URL(`../../examples/invariants/${name}`, import.meta.url));
const RATE = example('max-actions-per-minute.ts');
const AUDIT = example('denials-audited-promptly.ts');

/** A user's own module: the example's factory with a limit the reference breaks. */
const strict = join(dir, 'strict-rate.ts');
writeFileSync(strict, `import { maxActionsPerMinute } from ${JSON.stringify(RATE)};\nexport const invariants = [maxActionsPerMinute(3)];\n`);

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
const validResult = new Ajv2020({ strict: true, allErrors: true }).compile(readResultSchema());

describe('failclosed run / verify --invariants', () => {
  it('judges the examples beside INV-1…INV-6 and reports them everywhere, held', async () => {
    const report = join(dir, 'held');
    const run = await cli('run', '--seed', '5', '--runs', '2', '--parallel', '1', '--report', report, '--invariants', RATE, '--invariants', AUDIT);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^ {2}RATE-5000-PER-MINUTE {2}held \(plug-in\)$/m);
    expect(run.stdout).toMatch(/^ {2}AUDIT-DENIAL-100MS {2}held \(plug-in\)$/m);
    const result = readJson(join(report, 'result.json'));
    expect(validResult(result), JSON.stringify(validResult.errors)).toBe(true);
    expect(result.invariants['RATE-5000-PER-MINUTE']).toEqual({ status: 'held', statement: 'no identity executes more than 5000 actions in any 60 seconds', plugin: true });
    expect(result.invariants['AUDIT-DENIAL-100MS']).toMatchObject({ status: 'held', plugin: true });
    expect(result.scenarios).toContainEqual({ invariant: 'AUDIT-DENIAL-100MS', scenario: 'history', status: 'held' });
    const junit = readFileSync(join(report, 'junit.xml'), 'utf8');
    expect(junit).toContain('<testcase classname="failclosed.RATE-5000-PER-MINUTE" name="history (plug-in predicates over every recorded history)" time="0"/>');
    expect(readFileSync(join(report, 'report.html'), 'utf8')).toMatch(/<div class="card held" id="AUDIT-DENIAL-100MS" data-plugin="true">/);

    const verified = await cli('verify', report, '--invariants', RATE, '--invariants', AUDIT);
    expect(verified.status).toBe(0);
    expect(verified.stdout).toMatch(/RATE-5000-PER-MINUTE holds \(\d+ examined in all 3 runs\)/);
    expect(verified.stdout).toMatch(/AUDIT-DENIAL-100MS holds \([1-9][\d,]* examined in all 3 runs\)/);
    // The same kit, re-judged offline by a stricter plug-in, does not hold: verify can fail.
    const stricter = await cli('verify', report, '--invariants', strict);
    expect(stricter.status).toBe(1);
    expect(stricter.stdout).toMatch(/RATE-3-PER-MINUTE DOES NOT HOLD: 1 violation in 1 run \(run 0\)/);
  });

  it('a plug-in the gate breaks makes the run non-compliant, with its witnesses, in every report', async () => {
    const report = join(dir, 'broken');
    const run = await cli('run', '--seed', '5', '--runs', '2', '--parallel', '1', '--report', report, '--invariants', strict);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^ {2}RATE-3-PER-MINUTE {2}broken \(plug-in\)$/m);
    expect(run.stdout).toMatch(/broke RATE-3-PER-MINUTE — threat: history/);
    expect(run.stdout).toMatch(/alice executed 4 actions within \d+ ms \(at most 3 per minute\) \[effect /);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(/^NON-COMPLIANT — reference \(in-process\), profile quick, seed 5 \(exit 1\)$/);
    const result = readJson(join(report, 'result.json'));
    expect(validResult(result), JSON.stringify(validResult.errors)).toBe(true);
    // The schema still refuses an INV-n that is not the profile's, as a plug-in id would be.
    expect(validResult({ ...result, invariants: { ...result.invariants, 'INV-7': result.invariants['RATE-3-PER-MINUTE'] } })).toBe(false);
    expect(result.verdict).toBe('non-compliant');
    expect(result.failure.invariants).toEqual(['RATE-3-PER-MINUTE']);
    expect(result.invariants['RATE-3-PER-MINUTE']).toMatchObject({ status: 'broken', plugin: true });
    expect(result.invariants['INV-1'].status).toBe('not reached');
    expect(readFileSync(join(report, 'junit.xml'), 'utf8')).toMatch(/<testcase classname="failclosed.RATE-3-PER-MINUTE" name="history \(plug-in predicates over every recorded history\)" time="0">\n\s+<failure message="RATE-3-PER-MINUTE broke under history/);
    expect(readFileSync(join(report, 'report.html'), 'utf8')).toContain('<div class="card broken" id="RATE-3-PER-MINUTE" data-plugin="true">');
    expect(readJson(join(report, 'counterexample.json')).invariantFiles).toEqual([strict]);
    // The kit is sound and INV-1…INV-6 hold in it: only the plug-in fails, and only when given.
    expect((await cli('verify', report)).status).toBe(0);
    expect((await cli('verify', report, '--invariants', strict)).status).toBe(1);
    // replay loads the plug-in again from the file the counterexample recorded.
    const replayed = await cli('replay', join(report, 'counterexample.json'));
    expect(replayed.status).toBe(1);
    expect(replayed.stdout).toMatch(/broke RATE-3-PER-MINUTE/);
  });

  it('merge re-judges the shards\' plug-ins from their kits, and refuses a merge without them', async () => {
    for (const i of [1, 2]) {
      const shard = await cli('run', '--shard', `${i}/2`, '--seed', '9', '--runs', '2', '--parallel', '1', '--report', join(dir, `shard-${i}`), '--invariants', RATE);
      expect(shard.status).toBe(0);
    }
    const shards = [join(dir, 'shard-1'), join(dir, 'shard-2')];
    const without = await cli('merge', ...shards, '--report', join(dir, 'merged-without'));
    expect(without.status).toBe(2);
    expect(without.stderr).toMatch(/judged with the plug-in invariants \[RATE-5000-PER-MINUTE\], and the merge was given \[\]/);
    const merged = await cli('merge', ...shards, '--report', join(dir, 'merged'), '--invariants', RATE);
    expect(merged.stdout).toMatch(/^ {2}RATE-5000-PER-MINUTE {2}held \(plug-in\)$/m);
    expect(merged.status).toBe(0);
    const result = readJson(join(dir, 'merged', 'result.json'));
    expect(validResult(result), JSON.stringify(validResult.errors)).toBe(true);
    expect(result.scenarios).toContainEqual({ invariant: 'RATE-5000-PER-MINUTE', scenario: 'history', status: 'held' });
  });

  it('a module that is not a plug-in is refused before anything runs (exit 2)', async () => {
    const bad = join(dir, 'bad.ts');
    writeFileSync(bad, "export default [{ id: 'INV-2', statement: 'mine', check: () => ({ violations: [], examined: 0 }) }];\n");
    const run = await cli('run', '--runs', '1', '--report', join(dir, 'never'), '--invariants', bad);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/takes the id INV-2, which the profile's invariants own/);
    const missing = await cli('verify', join(dir, 'held'), '--invariants', join(dir, 'nope.ts'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/nope\.ts: no such file/);
  });
});
