import type { Dirent } from 'node:fs';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './cli-test-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'failclosed-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));


describe('failclosed run and replay', () => {
  it('run with no target tests the embedded reference and exits 0 when compliant', async () => {
    const json = join(dir, 'report.json');
    // The whole quick profile: the folder it writes is measured below.
    const { status, stdout } = await cli('run', '--seed', '1', '--json', json, '--report', join(dir, 'compliant'));
    expect(stdout).toContain('Model coverage: 100%');
    expect(status).toBe(0);
    // The verdict is the last line: nothing is printed after it.
    expect(stdout.trimEnd().split('\n').at(-1)).toMatch(/^COMPLIANT at level full — reference \(in-process\), profile quick, seed 1 \(exit 0\)$/);
    const written = JSON.parse(readFileSync(json, 'utf8'));
    expect(written.report.verdict).toBe('compliant');
    expect(written.report.seed).toBe(1);
    // The report folder: machine- and person-readable results, and a kit a third party can verify.
    for (const file of ['result.json', 'junit.xml', 'report.html', 'kit/manifest.json', 'kit/manifest.sig']) {
      expect(existsSync(join(dir, 'compliant', file)), file).toBe(true);
    }
    expect(existsSync(join(dir, 'compliant', 'counterexample.json'))).toBe(false);
    // Compact: a quick run's folder is a few hundred KiB in one file per run (kit/1 wrote some
    // 1,800 files and 10 MB for the same run), and holds every request's bytes all the same.
    const files = (readdirSync(join(dir, 'compliant'), { recursive: true, withFileTypes: true }) as Dirent[]).filter((e) => e.isFile());
    const bytes = files.reduce((sum, e) => sum + statSync(join(e.parentPath, e.name)).size, 0);
    const runs = Number(/verification kit: .* \((\d+) histories, /.exec(stdout)?.[1]);
    expect(runs).toBeGreaterThan(20);
    expect(files.length).toBe(3 + 5 + runs); // result.json, junit.xml, report.html; manifest, signature, 3 keys; a history per run
    expect(bytes).toBeLessThanOrEqual(2 * 1024 * 1024);
    const verified = await cli('verify', join(dir, 'compliant', 'kit'));
    expect(verified.status, verified.stdout.split('\n').filter((l) => !l.includes('✓')).join('\n') + verified.stderr).toBe(0);
  });

  it('refuses a --report folder that is not empty before anything runs, and changes nothing in it', async () => {
    const used = join(dir, 'used');
    mkdirSync(used);
    writeFileSync(join(used, 'counterexample.json'), '{"from":"an older run"}');
    const { status, stdout, stderr } = await cli('run', '--seed', '1', '--report', used);
    expect(status).toBe(2);
    expect(stderr).toContain(`${used} is not empty (it holds counterexample.json)`);
    expect(stderr).toContain('remedy: give --report a new or empty folder');
    expect(stdout).not.toContain('prelude');
    expect(readdirSync(used)).toEqual(['counterexample.json']);
    expect(readFileSync(join(used, 'counterexample.json'), 'utf8')).toBe('{"from":"an older run"}');
    expect((await cli('run', '--level', 'gold')).stderr).toContain('--level must be core or full, not "gold"');
    expect((await cli('run', '--budget', '0')).status).toBe(2);
    expect((await cli('run', '--parallel', '0')).stderr).toContain('--parallel must be a whole number from 1 to 16');
    expect((await cli('run', '--target', 'http://127.0.0.1:1/', '--parallel', '2', '--report', join(dir, 'p'))).stderr).toContain('--parallel needs systems the harness starts itself');
  });

  it('refuses bad options with exit 2 and says why', async () => {
    expect((await cli('run', '--profile', 'fast')).stderr).toContain('--profile must be quick, standard or thorough');
    expect((await cli('run', '--runs', '-1')).status).toBe(2);
    expect((await cli('run', '--variant', 'no-such-variant')).stderr).toContain('no planted-bug variant "no-such-variant"');
  });

  it('a planted-bug variant is non-compliant (exit 1), and its counterexample file replays to the same failure', async () => {
    const reportDir = join(dir, 'variant');
    const failed = await cli('run', '--variant', 'revoked-key-accepted', '--seed', '4', '--report', reportDir);
    expect(failed.status).toBe(1);
    expect(failed.stdout).toContain('NON-COMPLIANT');
    expect(failed.stdout).toMatch(/Counterexample \(prelude phase, 1 step/);
    const counterexample = join(reportDir, 'counterexample.json');
    expect(failed.stdout).toContain(`replay: npx failclosed replay ${counterexample}`);
    const replayed = await cli('replay', counterexample);
    expect(replayed.status).toBe(1);
    expect(replayed.stdout).toContain('identityKey.revoked: expected denied with KEY_REVOKED');
  });

  it('mutants prints the kill matrix and exits 0 when every variant is caught', async () => {
    const { status, stdout } = await cli('mutants', '--only', 'revoked-key-accepted,expiry-ignored');
    expect(stdout).toContain('OK: reference compliant; 2/2 mutants caught');
    expect(status).toBe(0);
    expect((await cli('mutants', '--only', 'nope')).status).toBe(2);
  });

  it('replay refuses a file that is not a failed run', async () => {
    const json = join(dir, 'report.json');
    const replayed = await cli('replay', json);
    expect(replayed.status).toBe(2);
    expect(replayed.stderr).toContain('did not fail');
    writeFileSync(join(dir, 'junk.json'), '{"hello":1}');
    expect((await cli('replay', join(dir, 'junk.json'))).stderr).toContain('is not a failclosed-counterexample/1 file');
    expect((await cli('replay')).status).toBe(2);
  });
});
