import { createHash } from 'node:crypto';
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { History } from '../../model/history.ts';
import { parseStrictJson } from '../../model/profile/canonical-json.ts';
import { generateKeyPair, publicKeyToText, signCanonical } from '../../model/profile/signing.ts';
import { MUTANTS } from '../../conformance/mutants/index.ts';
import { PROFILES } from '../../conformance/profiles.ts';
import { ConformanceFailure, RunContext } from '../../conformance/run-context.ts';
import { ACCEPTANCE_WINDOW_SEC, createHarness, runSuite } from '../../conformance/runner.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import { InProcessDriver } from '../drivers/in-process.ts';
import { verifyCommand } from '../cli/verify-command.ts';
import type { KitSummary } from './kit.ts';
import { writeKit } from './kit.ts';
import { gunzipSync } from 'node:zlib';
import { KIT_VERSION_1, gzipHistory, historyJson, lineArrayJson, lineObjectJson, manifestText, prettyJson } from './kit-files.ts';
import type { KitVerification } from './verify.ts';
import { formatKitVerification, verifyKit } from './verify.ts';

let root: string;
let kitDir: string;
let summary: KitSummary;
const histories: History[] = [];

/** Every file under dir, as kit paths, sorted. */
function listFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1).split('\\').join('/'))
    .sort();
}

/** The kit's folders, parents first, and files: read once, cloned many times. */
let layout: { folders: string[]; files: string[] } | undefined;

/**
 * A copy of the kit made of hard links (fast: the kit holds hundreds of files). Tampering must
 * therefore replace a file, never write into it, or the original kit would change too.
 */
function cloneKit(src: string, dst: string): void {
  const { folders, files } = src === kitDir ? (layout ??= layoutOf(src)) : layoutOf(src);
  mkdirSync(dst);
  for (const folder of folders) mkdirSync(join(dst, folder));
  for (const f of files) {
    try {
      linkSync(join(src, f), join(dst, f));
    } catch {
      copyFileSync(join(src, f), join(dst, f)); // another file system, or no hard links there
    }
  }
}

function layoutOf(dir: string): { folders: string[]; files: string[] } {
  const files = listFiles(dir);
  const folders = new Set<string>();
  for (const file of files) {
    const parts = file.split('/').slice(0, -1);
    parts.forEach((_, i) => folders.add(parts.slice(0, i + 1).join('/')));
  }
  return { folders: [...folders].sort((a, b) => a.split('/').length - b.split('/').length), files };
}

function replaceFile(path: string, bytes: Uint8Array | string): void {
  rmSync(path);
  writeFileSync(path, bytes);
}

/** Run `run`'s History as a kit/2 holds it. */
function readHistory(dir: string, run: number): History {
  return JSON.parse(gunzipSync(readFileSync(join(dir, `runs/${run}.history.json.gz`))).toString('utf8')) as History;
}

function writeHistory(dir: string, run: number, history: History): void {
  replaceFile(join(dir, `runs/${run}.history.json.gz`), gzipHistory(historyJson(history)));
}

async function cli(...args: string[]): Promise<{ status: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io = {
    out: (t: string) => void (out += t),
    err: (t: string) => void (err += t),
    usageError: (m: string) => ((err += `${m}\n`), 2),
    fail: (cause: string, remedy: string, status = 2) => ((err += `${cause}\nremedy: ${remedy}\n`), status),
  };
  const positionals = args.filter((a) => !a.startsWith('--'));
  const status = await verifyCommand.run({ verbose: args.includes('--verbose') }, io, positionals);
  return { status, out, err };
}

function problemsOf(v: KitVerification): { title: string; where: string; message: string }[] {
  return v.checks.filter((c) => !c.ok).flatMap((c) => c.problems.map((p) => ({ title: c.title, ...p })));
}

/**
 * A consistent forgery: the files are changed, then the manifest is rewritten and signed with a
 * new harness key, as anyone holding the kit could. Only a pinned key tells it apart.
 */
async function forge(name: string, change: (dir: string) => void): Promise<string> {
  const dir = join(root, name);
  cloneKit(kitDir, dir);
  change(dir);
  const key = generateKeyPair('ed25519/forger');
  replaceFile(join(dir, 'keys/harness-key.json'), prettyJson({ key_id: key.keyId, public_key: publicKeyToText(key.publicKey) }));
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  manifest.harness_key_id = key.keyId;
  manifest.files = listFiles(dir)
    .filter((p) => p !== 'manifest.json' && p !== 'manifest.sig')
    .map((path) => ({ path, sha256: createHash('sha256').update(readFileSync(join(dir, path))).digest('hex') }));
  const text = manifestText(manifest);
  replaceFile(join(dir, 'manifest.json'), text);
  replaceFile(join(dir, 'manifest.sig'), `${signCanonical(parseStrictJson(text), key.secretKey)}\n`);
  return dir;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'failclosed-kit-'));
  const report = await runSuite((h) => new InProcessDriver(referenceTarget(), h), {
    profile: PROFILES.quick,
    seed: 1,
    runs: 2,
    onHistory: (history) => void histories.push(history),
  });
  kitDir = join(root, 'kit');
  summary = await writeKit(kitDir, histories, { target: report.target, seed: report.seed, profile: report.profile, verdict: report.verdict });
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('a verification kit from a real run', () => {
  it('verifies with its public keys alone: signature, files, evidence, decisions, INV-1…INV-6, chains', async () => {
    expect(histories.length).toBe(3); // the prelude and two random runs
    const v = await verifyKit(kitDir);
    expect(problemsOf(v)).toEqual([]);
    expect(v.exitCode).toBe(0);
    expect(v.runs.map((r) => r.invariants.map((i) => i.holds))).toEqual(histories.map(() => [true, true, true, true, true, true]));
    expect(v.runs[0]!.requests).toBeGreaterThan(150);
    expect(v.runs[0]!.directCalls).toBeGreaterThan(0);
    // One decision check per run, one line per invariant and run.
    expect(v.checks.filter((c) => c.title.includes('re-derived')).length).toBe(3);
    expect(v.checks.filter((c) => / INV-\d (holds|does not hold)/.test(c.title)).length).toBe(18);
  });

  it('lists every file but the manifest and its signature, sorted, and never writes the harness secret', () => {
    const manifest = JSON.parse(readFileSync(join(kitDir, 'manifest.json'), 'utf8'));
    const files = listFiles(kitDir);
    expect(manifest.version).toBe('failclosed-kit/2');
    // One file per run, besides the manifest, its signature and the keys.
    expect(files).toEqual(['keys/control-plane-keys.json', 'keys/harness-key.json', 'keys/identity-keys.json', 'manifest.json', 'manifest.sig', ...histories.map((_, run) => `runs/${run}.history.json.gz`)].sort());
    expect(manifest.files.map((f: { path: string }) => f.path)).toEqual(files.filter((f) => f !== 'manifest.json' && f !== 'manifest.sig'));
    expect(summary.files).toBe(files.length);
    const harnessKey = JSON.parse(readFileSync(join(kitDir, 'keys/harness-key.json'), 'utf8'));
    expect(Object.keys(harnessKey).sort()).toEqual(['key_id', 'public_key']);
    expect(harnessKey.key_id).toMatch(/^ed25519\/harness-[0-9a-f]{12}$/);
    expect(manifest.harness_key_id).toBe(harnessKey.key_id);
  });

  it('holds, per request, the raw bytes whose hash the audit records carry', () => {
    const history = readHistory(kitDir, 0);
    const request = history.events.find((e) => e.kind === 'request' && e.op === 1);
    if (request?.kind !== 'request') throw new Error('run 0 has no op 1');
    const bytes = Buffer.from(request.body, 'base64url');
    const hash = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const records = history.audit.filter((r) => (r as { request_hash?: string }).request_hash === hash);
    expect(records.length).toBeGreaterThan(0);
    expect(history.events.some((e) => e.kind === 'response' && e.op === 1)).toBe(true);
    expect(history.events.some((e) => e.kind === 'policy' && e.answer.kind === 'allow' && e.answer.envelope)).toBe(true);
  });

  it('stores every body once, compressed: the 2 MiB oversized request of the prelude costs a few KiB', () => {
    const history = readHistory(kitDir, 0);
    const largest = Math.max(...history.events.map((e) => (e.kind === 'request' ? Buffer.from(e.body, 'base64url').length : 0)));
    expect(largest).toBeGreaterThanOrEqual(2 * 1024 * 1024);
    const stored = readFileSync(join(kitDir, 'runs/0.history.json.gz')).length;
    expect(stored).toBeLessThan(200 * 1024);
    expect(summary.bytes).toBeLessThan(400 * 1024);
  });

  it('refuses to write into a folder that already holds files', async () => {
    await expect(writeKit(kitDir, histories, { target: 't', seed: 1, profile: 'quick', verdict: 'compliant' })).rejects.toThrow(/not empty/);
  });

  it('failclosed verify: the summary first, every check only with --verbose; 2 for no folder or not a kit', async () => {
    const good = await cli(kitDir);
    expect(good.status).toBe(0);
    const lines = good.out.trimEnd().split('\n');
    // Verdict, kit, signature, files and keys, decisions, audit, one line per invariant, the hint.
    expect(lines).toEqual([
      `VERIFIED ${kitDir}: all ${(await verifyKit(kitDir)).checks.length} checks pass`,
      expect.stringMatching(/^ {2}kit failclosed-kit\/2 of reference \(in-process\), profile quick, seed 1; recorded verdict compliant; created /),
      `  signed by ${summary.harnessKeyId}, public key ${summary.harnessPublicKey} (pin it with --harness-key)`,
      `  ${summary.files - 2} files listed, each as signed; 3 identity keys (2 active), 1 Control Plane key`,
      `  re-derived from the request bytes, the Control Plane exchanges and the fault spans, in 3 runs: ${summary.requests} allow/deny decisions and ${summary.directCalls} direct calls, all as recorded`,
      expect.stringMatching(/^ {2}audit: \d+ records in 3 hash chains, each continuous from genesis$/),
      ...['INV-1', 'INV-2', 'INV-3', 'INV-4', 'INV-5', 'INV-6'].map((id) => expect.stringMatching(new RegExp(`^  ${id} holds \\(([\\d,]+ examined|0 examined: nothing to judge) in all 3 runs\\)$`))),
      expect.stringMatching(/^\(--verbose lists the \d+ checks\)$/),
    ]);
    const verbose = await cli(kitDir, '--verbose');
    expect(verbose.status).toBe(0);
    expect(verbose.out.startsWith(good.out.split('\n(--verbose')[0]!)).toBe(true);
    expect(verbose.out).toContain('✓ manifest.json is signed by the harness key ed25519/harness-');
    expect(verbose.out).toMatch(/✓ run 0: \d+ requests and \d+ direct calls re-derived/);
    expect(verbose.out).not.toContain('✗');
    expect((await cli(join(root, 'no-such-kit'))).status).toBe(2);
    mkdirSync(join(root, 'empty'));
    const notAKit = await cli(join(root, 'empty'));
    expect(notAKit.status).toBe(2);
    expect(notAKit.err).toContain('has no manifest.json');
    expect((await cli()).status).toBe(2);
  });

  it('failclosed verify of a report folder verifies its kit/, and says so in one line', async () => {
    // root holds the kit in kit/, as a report folder does.
    const { status, out } = await cli(root);
    expect(status).toBe(0);
    const [first, second] = out.split('\n');
    expect(first).toBe(`failclosed verify: ${root} is a report folder; verifying its kit, ${kitDir}`);
    expect(second).toMatch(new RegExp(`^VERIFIED ${kitDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
    expect((await verifyKit(root)).reportFolder).toBe(root);
  });
});

// ---------------------------------------------------------------- tampering

type Tamper =
  | { kind: 'edit'; file: number; offset: number; xor: number }
  | { kind: 'delete'; file: number }
  | { kind: 'reorder-lines'; file: number; a: number; b: number }
  | { kind: 'reorder-array'; file: number; pick: number }
  | { kind: 'insert'; dir: string; name: string; content: Uint8Array }
  | { kind: 'truncate'; file: number; keep: number };

const tamperArbitrary: fc.Arbitrary<Tamper> = fc.oneof(
  fc.record({ kind: fc.constant('edit' as const), file: fc.nat(), offset: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), file: fc.nat() }),
  fc.record({ kind: fc.constant('reorder-lines' as const), file: fc.nat(), a: fc.nat(), b: fc.nat() }),
  fc.record({ kind: fc.constant('reorder-array' as const), file: fc.nat(), pick: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    dir: fc.constantFrom('', 'keys', 'runs', 'runs/0', 'runs/0/requests/1', 'runs/1/direct-calls', 'runs/7'),
    name: fc.stringMatching(/^[a-z0-9_-][a-z0-9._-]{0,11}$/),
    content: fc.uint8Array({ maxLength: 64 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), file: fc.nat(), keep: fc.double({ min: 0, max: 1, noNaN: true }) }),
);

/** Re-serialise a JSON file the way the kit writes it, so that only the reordering differs. */
function serialiseLike(path: string, value: unknown): string {
  if (path === 'manifest.json') return manifestText(value as never);
  if (path.endsWith('/history.json')) return lineObjectJson(value as Record<string, unknown>);
  if (path.endsWith('/audit-export.json')) return lineArrayJson(value as unknown[]);
  return prettyJson(value);
}

/** Arrays with at least two different items, depth-first, bounded. */
function reorderableArrays(value: unknown): unknown[][] {
  const found: unknown[][] = [];
  const stack: unknown[] = [value];
  for (let guard = 0; stack.length > 0 && guard < 100_000; guard++) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      if (new Set(v.map((x) => JSON.stringify(x))).size > 1) found.push(v);
      stack.push(...v);
    } else if (typeof v === 'object' && v !== null) stack.push(...Object.values(v));
  }
  return found;
}

/** Applies one tampering to the clone; returns the path it touched, or undefined for a no-op. */
function tamper(dir: string, files: readonly string[], t: Tamper): string | undefined {
  if (t.kind === 'insert') {
    const path = t.dir ? `${t.dir}/${t.name}` : t.name;
    if (files.includes(path) || files.some((f) => f.startsWith(`${path}/`))) return undefined;
    mkdirSync(join(dir, t.dir), { recursive: true });
    writeFileSync(join(dir, path), t.content);
    return path;
  }
  const pool = t.kind === 'reorder-lines' || t.kind === 'reorder-array' ? files.filter((f) => f.endsWith('.json')) : files;
  const path = pool[t.file % pool.length]!;
  const full = join(dir, path);
  const bytes = readFileSync(full);
  switch (t.kind) {
    case 'delete':
      rmSync(full);
      return path;
    case 'edit': {
      if (bytes.length === 0) return undefined;
      const edited = Buffer.from(bytes);
      const at = t.offset % edited.length;
      edited[at] = edited[at]! ^ t.xor;
      replaceFile(full, edited);
      return path;
    }
    case 'truncate': {
      if (bytes.length === 0) return undefined;
      replaceFile(full, bytes.subarray(0, Math.min(bytes.length - 1, Math.floor(bytes.length * t.keep))));
      return path;
    }
    case 'reorder-lines': {
      const lines = bytes.toString('utf8').split('\n');
      const a = t.a % lines.length;
      // The first line after a (cyclically, from an offset) that differs from it: a real reordering.
      let b: number | undefined;
      for (let step = 1; step < lines.length; step++) {
        const candidate = (a + ((t.b + step) % (lines.length - 1)) + 1) % lines.length;
        if (lines[candidate] !== lines[a]) {
          b = candidate;
          break;
        }
      }
      if (b === undefined) return undefined;
      [lines[a], lines[b]] = [lines[b]!, lines[a]!];
      replaceFile(full, lines.join('\n'));
      return path;
    }
    case 'reorder-array': {
      const value = JSON.parse(bytes.toString('utf8'));
      const arrays = reorderableArrays(value);
      if (arrays.length === 0) return undefined;
      const array = arrays[t.pick % arrays.length]!;
      array.push(array.shift());
      const text = serialiseLike(path, value);
      if (text === bytes.toString('utf8')) return undefined;
      replaceFile(full, text);
      return path;
    }
  }
}

const ABOUT_THE_MANIFEST = /^(manifest\.json|manifest\.sig|keys\/harness-key\.json)/;

describe('tampering with a kit', () => {
  it('is detected, whatever file is edited, deleted, reordered, inserted or truncated, and named', async () => {
    const files = listFiles(kitDir);
    let copies = 0;
    await fc.assert(
      fc.asyncProperty(tamperArbitrary, async (t) => {
        const dir = join(root, `tampered-${copies++}`);
        try {
          cloneKit(kitDir, dir);
          const touched = tamper(dir, files, t);
          fc.pre(touched !== undefined);
          const v = await verifyKit(dir);
          expect(v.ok).toBe(false);
          expect(v.exitCode).not.toBe(0);
          if (v.notAKit) return; // e.g. the manifest deleted, or its version edited: not a kit any more
          const wheres = problemsOf(v).map((p) => p.where);
          const named = wheres.some((w) => w.includes(touched!) || (ABOUT_THE_MANIFEST.test(touched!) && /manifest|harness-key/.test(w)));
          expect(named, `${JSON.stringify(t)} touched ${touched}; problems at ${wheres.slice(0, 5).join(' | ')}`).toBe(true);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 60 },
    );
    // The clones were hard links: the original must have survived every tampering.
    expect((await verifyKit(kitDir)).ok).toBe(true);
  });

  it('a consistently re-signed forgery passes integrity, but not the re-derivation, and not a pinned key', async () => {
    const dir = await forge('forged-bytes', (d) => {
      // The request's parameters changed after it was signed: amount 10 becomes 11.
      const history = readHistory(d, 0);
      const request = history.events.find((e) => e.kind === 'request' && e.op === 1);
      if (request?.kind !== 'request') throw new Error('run 0 has no op 1');
      const text = Buffer.from(request.body, 'base64url').toString('utf8');
      expect(text).toContain('"amount":10');
      request.body = Buffer.from(text.replace('"amount":10', '"amount":11')).toString('base64url');
      writeHistory(d, 0, history);
    });
    const v = await verifyKit(dir);
    expect(v.checks[0]!.ok).toBe(true); // the forger's own key signs
    expect(v.checks[1]!.ok).toBe(true); // and every hash matches
    expect(problemsOf(v)).toContainEqual(
      expect.objectContaining({ where: 'run 0 op 1 (runs/0.history.json.gz)', message: expect.stringMatching(/^expected denied with SIGNATURE_INVALID .*; recorded executed/) }),
    );
    const pinned = await verifyKit(dir, { harnessPublicKey: summary.harnessPublicKey });
    expect(problemsOf(pinned).some((p) => p.where === 'keys/harness-key.json' && p.message.includes('pinned'))).toBe(true);
    expect((await verifyKit(kitDir, { harnessPublicKey: summary.harnessPublicKey })).ok).toBe(true);
  });

  it('a re-signed history that claims a denied request executed fails the re-derivation and INV-4', async () => {
    let op = -1;
    const dir = await forge('forged-history', (d) => {
      const history = readHistory(d, 1);
      const response = history.events.find((e) => e.kind === 'response' && e.status === 'denied');
      if (response?.kind !== 'response') throw new Error('run 1 has no denial to forge');
      op = response.op;
      response.status = 'executed';
      delete response.code;
      writeHistory(d, 1, history);
    });
    const v = await verifyKit(dir);
    const problems = problemsOf(v);
    expect(problems.find((p) => p.title.includes('re-derived'))).toMatchObject({ where: `run 1 op ${op} (runs/1.history.json.gz)`, message: expect.stringMatching(/recorded executed \(no effect\)$/) });
    expect(problems.some((p) => p.title.startsWith('run 1: INV-4 does not hold'))).toBe(true);
    expect(new Set(problems.map((p) => p.title.slice(0, 6)))).toEqual(new Set(['run 1:']));
  });

  it('a history file that is not gzip is reported at its file', async () => {
    const notGzip = await forge('not-gzip', (d) => replaceFile(join(d, 'runs/1.history.json.gz'), historyJson(readHistory(d, 1))));
    const problems = problemsOf(await verifyKit(notGzip));
    expect(problems[0]).toMatchObject({ where: 'runs/1.history.json.gz', message: expect.stringMatching(/^is not gzip: /) });
    expect(problems.slice(1).every((p) => p.message === 'not examined: its history is not a History')).toBe(true);
  });
});

// ---------------------------------------------------------------- the previous format

describe('a failclosed-kit/1 kit', () => {
  it('is still read: its per-request files must be what the history derives', async () => {
    const dir = join(root, 'kit-1');
    const written = await writeKit(dir, histories.slice(0, 2), { target: 't', seed: 1, profile: 'quick', verdict: 'compliant' }, { version: KIT_VERSION_1 });
    expect(written.files).toBeGreaterThan(300);
    expect(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).version).toBe('failclosed-kit/1');
    const v = await verifyKit(dir);
    expect(problemsOf(v)).toEqual([]);
    expect(v.exitCode).toBe(0);
    expect(v.manifest?.version).toBe('failclosed-kit/1');
    expect(v.checks.some((c) => /^run 0: history\.json is a History .* and \d+ per-request files agree with it$/.test(c.title))).toBe(true);

    // A forger who re-signs but changes a derived file is caught by the derivation.
    const forged = join(root, 'kit-1-forged');
    cloneKit(dir, forged);
    const path = join(forged, 'runs/0/requests/1/request.bin');
    const bytes = Buffer.from(readFileSync(path));
    bytes[10] = bytes[10]! ^ 1;
    replaceFile(path, bytes);
    const key = generateKeyPair('ed25519/forger');
    replaceFile(join(forged, 'keys/harness-key.json'), prettyJson({ key_id: key.keyId, public_key: publicKeyToText(key.publicKey) }));
    const manifest = JSON.parse(readFileSync(join(forged, 'manifest.json'), 'utf8'));
    manifest.harness_key_id = key.keyId;
    manifest.files = listFiles(forged)
      .filter((p) => p !== 'manifest.json' && p !== 'manifest.sig')
      .map((p) => ({ path: p, sha256: createHash('sha256').update(readFileSync(join(forged, p))).digest('hex') }));
    replaceFile(join(forged, 'manifest.json'), manifestText(manifest));
    replaceFile(join(forged, 'manifest.sig'), `${signCanonical(parseStrictJson(manifestText(manifest)), key.secretKey)}\n`);
    expect(problemsOf(await verifyKit(forged))).toContainEqual(expect.objectContaining({ where: 'runs/0/requests/1/request.bin', message: "is not the request's bytes as recorded" }));
  });

  it('a kit of a version this failclosed does not read says so, with the remedy', async () => {
    const dir = join(root, 'kit-9');
    mkdirSync(dir);
    writeFileSync(join(dir, 'manifest.json'), '{"version": "failclosed-kit/9"}');
    const v = await verifyKit(dir);
    expect(v.exitCode).toBe(2);
    expect(v.notAKit).toEqual({ problem: `${dir} is a failclosed-kit/9 kit, and this failclosed reads failclosed-kit/1 and failclosed-kit/2 only`, remedy: 'verify it with the failclosed version that wrote it, or a newer one' });
  });
});

// ---------------------------------------------------------------- a planted bug

/**
 * The history of a run of the planted-bug variant that accepts revoked keys. The runner hands
 * over only histories it judged, and a run that fails at a step is never judged: so this drives
 * the two steps itself (a valid request, then one signed with a revoked key) and records.
 */
async function plantedBugHistory(): Promise<History> {
  const mutant = MUTANTS.find((m) => m.id === 'revoked-key-accepted');
  if (!mutant) throw new Error('no revoked-key-accepted mutant');
  const harness = createHarness();
  const driver = new InProcessDriver(mutant.target, harness);
  await driver.reset();
  try {
    const ctx = new RunContext(driver, harness.controlPlane, harness.recorder, ACCEPTANCE_WINDOW_SEC, 'planted');
    const tag = { threat: 'forged-request', invariants: ['INV-3'] } as const;
    await ctx.gateScenario({ label: 'a valid request', tag, answers: {} });
    await expect(ctx.gateScenario({ label: 'a revoked key', tag, answers: { identityKey: 'revoked' } })).rejects.toBeInstanceOf(ConformanceFailure);
    await driver.settle();
    return harness.recorder.build(await driver.auditExport(), true);
  } finally {
    await driver.close();
  }
}

describe('a kit from a planted-bug variant', () => {
  it('verifies cryptographically, and reports the wrong decision and INV-3 (exit 1)', async () => {
    const history = await plantedBugHistory();
    const dir = join(root, 'planted');
    await writeKit(dir, [history], { target: 'mutant:revoked-key-accepted (in-process)', seed: 0, profile: 'quick', verdict: 'non-compliant' });
    const v = await verifyKit(dir);
    expect(v.exitCode).toBe(1);
    const failed = v.checks.filter((c) => !c.ok).map((c) => c.title);
    expect(failed).toEqual([
      expect.stringMatching(/^run 0: 2 requests and 0 direct calls re-derived/),
      expect.stringMatching(/^run 0: INV-3 does not hold/),
    ]);
    const wrong = problemsOf(v).find((p) => p.title.includes('re-derived'));
    expect(wrong).toEqual(expect.objectContaining({ where: 'run 0 op 2 (runs/0.history.json.gz)', message: 'expected denied with KEY_REVOKED (no effect); recorded executed (1 effect)' }));
    const text = formatKitVerification(v);
    // The summary says what fails; the details of what fails always follow, the rest only with --verbose.
    expect(text).toMatch(/^NOT VERIFIED .*: 2 of \d+ checks fail\n/);
    expect(text).toContain('2 allow/deny decisions and 0 direct calls — 1 do NOT match what was recorded');
    expect(text).toMatch(/\n {2}INV-3 DOES NOT HOLD: 1 violation in 1 run \(run 0\) of 1 examined\n/);
    expect(text).toMatch(/\n {2}INV-1 holds \(/);
    expect(text).toMatch(/✗ run 0: INV-3 does not hold \(\d+ examined\)\n {4}run 0: op 2 \(event \d+\)/);
    expect(text).not.toContain('✓');
    expect(formatKitVerification(v, { verbose: true })).toContain('✓ manifest.json is signed');
    expect((await cli(dir)).status).toBe(1);
  });
});
