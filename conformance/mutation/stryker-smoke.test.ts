/**
 * The mutation configuration cannot silently rot: StrykerJS runs, as `npm run mutation` does, on
 * a few lines of the Gate's authentication step — its dry run must pass (the judge is green on the
 * unmutated reference) and the mutants that skip the check must be killed by the conformance suite.
 * The whole campaign is `npm run mutation` (too long for npm test).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';

interface MutantResult {
  status: string;
  mutatorName: string;
  location: { start: { line: number } };
}

const ROOT = new URL('../../', import.meta.url).pathname;
const GATE = 'reference-impl/gate/gate.ts';
/** Its own sandbox folder: `npm run mutation` may be running beside npm test, and Stryker empties its folder when it ends. */
const SMOKE_SANDBOX = '.stryker-tmp-smoke';

it('StrykerJS runs the conformance suite as the judge, and kills a mutant that skips authentication', { timeout: 240_000 }, () => {
  const source = readFileSync(join(ROOT, GATE), 'utf8').split('\n');
  const line = source.findIndex((l) => l.includes('if (codes[0] !== undefined) throw new Denial(codes[0]')) + 1;
  expect(line, 'the authentication check in the Gate').toBeGreaterThan(0);
  const out = mkdtempSync(join(tmpdir(), 'failclosed-stryker-'));
  try {
    const result = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules/@stryker-mutator/core/bin/stryker.js'), 'run', 'stryker.config.mjs', '--mutate', `${GATE}:${line}-${line}`, '--incrementalFile', join(out, 'incremental.json'), '--reporters', 'json', '--concurrency', '1', '--tempDirName', SMOKE_SANDBOX],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, STRYKER_JSON_REPORT: join(out, 'mutation.json') }, timeout: 230_000 },
    );
    expect(result.status, `${result.stdout}\n${result.stderr}`.slice(-3000)).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'mutation.json'), 'utf8')) as { files: Record<string, { mutants: MutantResult[] }> };
    const mutants = report.files[GATE]?.mutants ?? [];
    expect(mutants.length).toBeGreaterThan(0);
    // `if (false)` skips the check: every request would pass authentication.
    const skipped = mutants.find((m) => m.mutatorName === 'ConditionalExpression' && m.location.start.line === line);
    expect(skipped?.status).toBe('Killed');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
