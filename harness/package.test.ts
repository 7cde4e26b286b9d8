/**
 * The npm package as a user gets it: `npm pack` of a copy of this tree — with a live gate's data
 * directory and report folders planted in it — ships what the CLI, the vitest integration, the
 * contract and the Docker build need, and nothing else; and a vendor's own tsc, with ordinary
 * settings, type-checks the README's vitest file against the package's generated declarations
 * (types/, built by prepack) without reading our TypeScript sources.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SKIPPED = new Set(['node_modules', '.git', 'types']);

let work: string;
let files: string[];
/** the packed package, unpacked */
let unpacked: string;

/** `npm pack --json` in `dir`: the tarball's name and the list of files it holds. */
function npmPack(dir: string, destination: string): { filename: string; files: string[] } {
  const stdout = execFileSync('npm', ['pack', '--json', '--pack-destination', destination], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 140_000,
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
  // The pack builds the declarations (prepack): ~10 s on an idle machine, more on a loaded one.
  const out = join(work, 'out');
  mkdirSync(out);
  const packed = npmPack(tree, out);
  files = packed.files;
  execFileSync('tar', ['-xzf', join(out, packed.filename), '-C', out]);
  unpacked = join(out, 'package');
}, 150_000);

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
      'types/harness/vitest/conformance.d.ts',
      'types/conformance/runner.d.ts',
      'harness/api/index.ts',
      'types/harness/api/index.d.ts',
      'examples/invariants/max-actions-per-minute.ts',
      'examples/invariants/denials-audited-promptly.ts',
      'examples/commands/retry-after-outage.ts',
      'examples/drivers/library-gate.ts',
      'docs/extending/invariants.md',
      'docs/extending/commands.md',
      'docs/extending/drivers.md',
    ]) expect(files).toContain(file);
    expect(files.filter((f) => f.startsWith('conformance/contract/schemas/')).length).toBe(19);
  });

  it('has everything the Dockerfile copies (build-image.sh stages node_modules itself)', () => {
    const dockerfile = readFileSync(join(unpacked, 'reference-impl/docker/Dockerfile'), 'utf8');
    const sources = [...dockerfile.matchAll(/^COPY (?:--\S+ )*(.+) \S+$/gm)].flatMap((m) => m[1]!.split(' '));
    expect(sources).toContain('reference-impl/docker/config.json');
    for (const source of sources.filter((s) => s !== 'node_modules')) {
      const pattern = new RegExp(`^${source.replace(/\/$/, '').replace(/[.]/g, '\\.').replace(/\*/g, '[^/]*')}(/|$)`);
      expect(files.some((f) => pattern.test(f)), `${source} is in the package`).toBe(true);
    }
  });

  it('ships no tests, benches, data directories or report folders', () => {
    const unwanted = files.filter((f) => /\.test\.ts$|test-support\.ts$|-test-entries\.ts$|crash-fixture\.ts$|^bench\/|(^|\/)failclosed-(data|report)\/|^\.|vitest\.config/.test(f));
    expect(unwanted).toEqual([]);
  });
});

/** The README's vitest file, as a vendor copies it. */
function readmeVitestFile(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /### Inside your own vitest run\n+```ts\n([^]*?)```/.exec(readme);
  if (!block) throw new Error('README.md has no ```ts block under "### Inside your own vitest run"');
  return block[1]!;
}

/** A vendor's project: its node_modules has our dependencies and the packed failclosed. */
function vendorProject(compilerOptions: Record<string, unknown>): string {
  const dir = mkdtempSync(join(work, 'vendor-'));
  mkdirSync(join(dir, 'node_modules'));
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (name !== 'failclosed' && !name.startsWith('.')) symlinkSync(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name), 'dir');
  }
  cpSync(unpacked, join(dir, 'node_modules', 'failclosed'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'vendor-gate', private: true, type: 'module' }));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', strict: true, skipLibCheck: true, noEmit: true, ...compilerOptions }, include: ['*.ts'] }));
  writeFileSync(join(dir, 'gate.conformance.test.ts'), readmeVitestFile());
  return dir;
}

/** The docs' complete plug-in example (docs/extending/invariants.md), as a user copies it. */
function docsInvariantFile(): string {
  const page = readFileSync(join(ROOT, 'docs/extending/invariants.md'), 'utf8');
  const block = /```ts\n(\/\/ no-large-transfers\.ts\n[^]*?)```/.exec(page);
  if (!block) throw new Error('docs/extending/invariants.md has no ```ts block starting "// no-large-transfers.ts"');
  return block[1]!;
}

/** Our tsc on a project, once: its exit status, its error lines, and the files of the program. */
function tsc(dir: string): { status: number; errors: string[]; programFiles: string[] } {
  const bin = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  let status = 0;
  let stdout: string;
  try {
    stdout = execFileSync(process.execPath, [bin, '-p', dir, '--listFiles'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    status = (error as { status: number }).status;
    stdout = (error as { stdout?: string }).stdout ?? '';
  }
  const lines = stdout.split('\n').filter((l) => l !== '');
  return { status, errors: lines.filter((l) => / error TS\d+/.test(l)), programFiles: lines.filter((l) => l.startsWith('/')) };
}

describe("the package's type declarations", () => {
  for (const [name, options] of [
    ['module nodenext', { module: 'nodenext' }],
    ['module preserve, moduleResolution bundler', { module: 'preserve', moduleResolution: 'bundler' }],
  ] as const) {
    it(`a vendor's tsc (${name}, strict, skipLibCheck) checks the README's vitest file with 0 errors, from the declarations alone`, { timeout: 60_000 }, () => {
      const result = tsc(vendorProject(options));
      expect(result.errors.slice(0, 10)).toEqual([]);
      expect(result.status).toBe(0);
      const ours = result.programFiles.filter((f) => f.includes('/node_modules/failclosed/'));
      expect(ours.filter((f) => f.endsWith('/node_modules/failclosed/types/harness/vitest/conformance.d.ts'))).toHaveLength(1);
      expect(ours.filter((f) => !f.endsWith('.d.ts'))).toEqual([]);
    });
  }

  it('are generated, not committed: types/ is git-ignored and tracks no file', () => {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' });
    expect(git('check-ignore', 'types/harness/vitest/conformance.d.ts').trim()).toBe('types/harness/vitest/conformance.d.ts');
    expect(git('ls-files', 'types').trim()).toBe('');
  });
});

describe('plug-ins from an installed package (failclosed/api)', () => {
  let vendor: string;
  const failclosed = (...args: string[]) => {
    try {
      return { status: 0, stdout: execFileSync(process.execPath, [join(vendor, 'node_modules/failclosed/bin/failclosed.mjs'), ...args], { cwd: vendor, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000, env: { ...process.env, CI: 'true' } }) };
    } catch (error) {
      const e = error as { status: number; stdout?: string; stderr?: string };
      return { status: e.status, stdout: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  };
  beforeAll(() => {
    vendor = vendorProject({ module: 'nodenext' });
    writeFileSync(join(vendor, 'no-large-transfers.ts'), docsInvariantFile());
  });

  it("the docs' example type-checks against the declarations alone", { timeout: 60_000 }, () => {
    const result = tsc(vendor);
    expect(result.errors.slice(0, 10)).toEqual([]);
    expect(result.programFiles.filter((f) => f.endsWith('/node_modules/failclosed/types/harness/api/index.d.ts'))).toHaveLength(1);
  });

  it('run --invariants loads it from the user\'s folder and reports it held; the packed example with K=3 breaks', { timeout: 90_000 }, () => {
    const held = failclosed('run', '--runs', '1', '--parallel', '1', '--seed', '3', '--report', 'held', '--invariants', './no-large-transfers.ts');
    expect(held.stdout).toMatch(/^ {2}NO-LARGE-TRANSFER {2}held \(plug-in\)$/m);
    expect(held.status).toBe(0);
    process.env.FAILCLOSED_MAX_ACTIONS_PER_MINUTE = '3';
    try {
      const broken = failclosed('run', '--runs', '1', '--parallel', '1', '--seed', '3', '--report', 'broken', '--invariants', 'node_modules/failclosed/examples/invariants/max-actions-per-minute.ts');
      expect(broken.stdout).toMatch(/^ {2}RATE-3-PER-MINUTE {2}broken \(plug-in\)$/m);
      expect(broken.status).toBe(1);
    } finally {
      delete process.env.FAILCLOSED_MAX_ACTIONS_PER_MINUTE;
    }
  });

  it('explore --html writes the model explorer from an installed package (esbuild bundles the model)', { timeout: 60_000 }, () => {
    const written = failclosed('explore', '--html', 'explorer.html');
    expect(written.status).toBe(0);
    const html = readFileSync(join(vendor, 'explorer.html'), 'utf8');
    expect(html).toContain('failclosed model explorer');
    expect(html).toContain('data-chart-tab="executionLayer"');
  });

  it('run --driver / --commands run the packed examples: a library gate through its adapter, with a plug-in command', { timeout: 60_000 }, () => {
    const run = failclosed('run', '--runs', '1', '--parallel', '1', '--seed', '3', '--report', 'driver', '--driver', 'node_modules/failclosed/examples/drivers/library-gate.ts', '--commands', 'node_modules/failclosed/examples/commands/retry-after-outage.ts');
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('COMPLIANT at level full — library gate (plug-in driver), profile quick, seed 3 (exit 0)');
    expect(run.status).toBe(0);
  });
});
