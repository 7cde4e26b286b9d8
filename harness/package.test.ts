/**
 * The npm package as a user gets it: `npm pack` of a copy of this tree — with a live gate's data
 * directory, report folders, tests and benches planted in it — ships what the CLI, the vitest
 * integration, the contract and the Docker build need, and nothing else.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SKIPPED = new Set(['node_modules', '.git', 'types']);

let work: string;
let files: string[];

/** `npm pack --json` in `dir`: the tarball's name and the list of files it holds. */
function npmPack(dir: string, destination: string): { filename: string; files: string[] } {
  const stdout = execFileSync('npm', ['pack', '--json', '--pack-destination', destination], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 50_000,
  });
  // Lifecycle scripts may print before the JSON document.
  const [result] = JSON.parse(stdout.slice(stdout.search(/^\[/m))) as [{ filename: string; files: { path: string }[] }];
  return { filename: result.filename, files: result.files.map((f) => f.path).sort() };
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'failclosed-pack-'));
  const tree = join(work, 'tree');
  cpSync(ROOT, tree, { recursive: true, filter: (source) => !SKIPPED.has(relative(ROOT, source)) });
  // What a working copy accumulates: a live gate's state, report folders.
  for (const file of ['failclosed-data/nonces.journal', 'failclosed-data/nonces.journal.lock', 'reference-impl/failclosed-data/audit.ndjson', 'failclosed-report/run-1/result.json']) {
    mkdirSync(join(tree, file, '..'), { recursive: true });
    writeFileSync(join(tree, file), 'planted\n');
  }
  symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'), 'dir');
  const out = join(work, 'out');
  mkdirSync(out);
  files = npmPack(tree, out).files;
}, 60_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('ships the CLI, the vitest integration, the contract, its schemas and vectors, and the Docker build', () => {
    for (const file of [
      'package.json',
      'README.md',
      'bin/failclosed.mjs',
      'harness/cli/main.ts',
      'harness/vitest/conformance.ts',
      'conformance/runner.ts',
      'conformance/contract/CONTRACT.md',
      'conformance/contract/schemas/gate-config.schema.json',
      'conformance/contract/schemas/request.schema.json',
      'conformance/vectors/requests.json',
      'model/profile/PROFILE.md',
      'reference-impl/serve.ts',
      'reference-impl/docker/Dockerfile',
      'reference-impl/docker/build-image.sh',
      'reference-impl/docker/config.json',
      'reference-impl/docker/data/README.txt',
      'tsconfig.json',
    ]) expect(files).toContain(file);
    expect(files.filter((f) => f.startsWith('conformance/contract/schemas/')).length).toBe(19);
  });

  it('ships no tests, benches, data directories or report folders', () => {
    const unwanted = files.filter((f) => /\.test\.ts$|test-support\.ts$|-test-entries\.ts$|crash-fixture\.ts$|^bench\/|(^|\/)failclosed-(data|report)\/|^\.|vitest\.config/.test(f));
    expect(unwanted).toEqual([]);
  });
});
