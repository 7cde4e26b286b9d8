/**
 * Verifies a verification kit (kit.ts) offline, with the public keys it carries and nothing else:
 *
 *   1. integrity: the manifest is signed by keys/harness-key.json, every file it lists has its
 *      sha256, and no other file exists (an inserted file is tampering);
 *   2. evidence: each run's history (kit/2: runs/<n>.history.json.gz; kit/1: runs/<n>/history.json)
 *      is a strictly parsed History with the kit's keys; in a kit/1, the per-request files are
 *      exactly what that history derives (request bytes, envelope, trace, audit records);
 *   3. decisions: every allow/deny re-derived from the history and the keys (rederive.ts) and
 *      compared with the recorded answer and effects;
 *   4. invariants: checkInvariants on each history, INV-1…INV-6;
 *   5. the audit chain of each export (verifyChain); request-hash/trace linkage is INV-5's.
 *
 * A run whose files do not match a valid signed manifest is not examined further: its evidence
 * proves nothing.
 */
import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { lstat, readFile, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { History, HistoryEvent, InvariantVerdict } from '../../model/history.ts';
import type { PluginInvariant, PluginVerdict } from '../../model/invariants/plugins.ts';
import { checkPluginInvariants } from '../../model/invariants/plugins.ts';
import type { HistoryIndex } from '../../model/invariants/history-index.ts';
import { buildHistoryIndex } from '../../model/invariants/history-index.ts';
import { checkInvariants } from '../../model/invariants/index.ts';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { canonicalize, parseStrictJson } from '../../model/profile/canonical-json.ts';
import { utf8DecodeStrict } from '../../model/profile/encoding.ts';
import type { IdentityKey, TrustedKey } from '../../model/profile/messages.ts';
import { validateIdentityKey, validateTrustedKey } from '../../model/profile/messages.ts';
import { publicKeyFromText, verifyCanonical } from '../../model/profile/signing.ts';
import { verifyChain } from '../../reference-impl/audit/audit-log.ts';
import type { HarnessKeyFile, KitKeys, KitVersion } from './kit-files.ts';
import {
  CONTROL_PLANE_KEYS_FILE,
  HARNESS_KEY_FILE,
  IDENTITY_KEYS_FILE,
  KIT_JSON_LIMITS,
  KIT_VERSION_1,
  KIT_VERSIONS_READ,
  MANIFEST_FILE,
  REPORT_KIT_FOLDER,
  SIGNATURE_FILE,
  deriveRunFiles,
  gunzipHistory,
  historyPath,
  historyShapeProblems,
  runOfPath,
  isSafeKitPath,
  manifestText,
  sameKeys,
} from './kit-files.ts';
import { rederive } from './rederive.ts';

export interface KitProblem {
  /** a file path, "run 1 op 7", … */
  where: string;
  message: string;
}

export interface KitCheck {
  title: string;
  ok: boolean;
  problems: KitProblem[];
  /** a check that could not run (its evidence failed an earlier check) */
  skipped?: boolean;
}

export interface RunVerification {
  run: number;
  requests: number;
  directCalls: number;
  /** INV-1…INV-6, then the plug-in invariants given (VerifyOptions.invariants) */
  invariants: (InvariantVerdict | PluginVerdict)[];
}

/** What the kit holds and what was re-derived, for the summary. */
export interface KitTotals {
  /** the manifest's signature holds (with the pinned key, if one was given) */
  signed: boolean;
  pinned: boolean;
  /** files the manifest lists, and how many of them have a problem */
  files: number;
  damagedFiles: number;
  /** the keys could be read (the signature held and keys/ is intact) */
  keysRead: boolean;
  identityKeys: number;
  activeIdentityKeys: number;
  controlPlaneKeys: number;
  /** runs in the kit, and how many were examined (the rest failed integrity) */
  runs: number;
  examinedRuns: number;
  requests: number;
  directCalls: number;
  /** re-derived decisions that do not match the recorded ones (and effects no one explains) */
  wrongDecisions: number;
  auditRecords: number;
  auditChains: number;
  brokenChains: number;
}

export interface KitVerification {
  /** the kit folder verified */
  dir: string;
  /** the folder given, when it was a report folder holding the kit in kit/ */
  reportFolder?: string;
  /** 0 everything verifies and every invariant holds, 1 something does not, 2 not a kit */
  exitCode: 0 | 1 | 2;
  ok: boolean;
  /** DIR is no kit at all (exit 2): why, and what to give instead */
  notAKit?: { problem: string; remedy: string };
  manifest?: { version: string; created_at: string; target: string; seed: number; profile: string; verdict: string; harness_key_id: string; harness_public_key?: string };
  checks: KitCheck[];
  runs: RunVerification[];
  totals?: KitTotals;
  /** with `keepHistories`: every run's History, in run order, as read (and checked) from the kit */
  histories?: History[];
}

export interface VerifyOptions {
  /** base64url public key the manifest must be signed with (pinned out of band) */
  harnessPublicKey?: string;
  /** hand back the histories read (to merge kits) */
  keepHistories?: boolean;
  /** plug-in invariants to re-judge on every history, after INV-1…INV-6 (`verify --invariants`) */
  invariants?: readonly PluginInvariant[];
}

const GIVE_A_KIT = 'give the kit folder a run wrote: <report folder>/kit (`failclosed run` prints the verify command)';
const notAKit = (dir: string, problem: string, remedy = GIVE_A_KIT): KitVerification => ({ dir, exitCode: 2, ok: false, notAKit: { problem, remedy }, checks: [], runs: [] });

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function parseJson(bytes: Uint8Array): { ok: true; value: JsonValue } | { ok: false; message: string } {
  try {
    return { ok: true, value: parseStrictJson(bytes, KIT_JSON_LIMITS) };
  } catch (error) {
    return { ok: false, message: `not strict JSON: ${(error as Error).message}` };
  }
}

const isObject = (v: unknown): v is Record<string, JsonValue> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every entry under dir, as kit paths; non-regular files and empty folders are reported. */
async function walk(dir: string): Promise<{ files: string[]; strays: KitProblem[] }> {
  const files: string[] = [];
  const strays: KitProblem[] = [];
  const entries: Dirent[] = await readdir(dir, { withFileTypes: true, recursive: true });
  const folders = new Set<string>();
  const nonEmpty = new Set<string>();
  for (const entry of entries) {
    const parent = relative(dir, entry.parentPath).split(sep).join('/');
    const path = parent ? `${parent}/${entry.name}` : entry.name;
    if (parent) nonEmpty.add(parent);
    if (entry.isDirectory()) folders.add(path);
    else if (entry.isFile()) files.push(path);
    else strays.push({ where: path, message: 'neither a file nor a folder (a link or a device): not part of a kit' });
  }
  for (const folder of folders) if (!nonEmpty.has(folder)) strays.push({ where: folder, message: 'an empty folder the manifest does not account for' });
  return { files, strays };
}

/** Reads files a few at a time: a kit holds hundreds, and one by one is slow. */
async function readAll(dir: string, paths: readonly string[]): Promise<Map<string, Uint8Array>> {
  const read = new Map<string, Uint8Array>();
  const BATCH = 64;
  for (let i = 0; i < paths.length; i += BATCH) {
    const batch = paths.slice(i, i + BATCH);
    const contents = await Promise.all(batch.map((p) => readFile(join(dir, ...p.split('/')))));
    batch.forEach((p, j) => read.set(p, contents[j]!));
  }
  return read;
}

function renderWitness(history: History, eventIndex: number): string {
  const e: HistoryEvent | undefined = history.events[eventIndex];
  if (!e) return `event ${eventIndex}`;
  switch (e.kind) {
    case 'request':
    case 'response':
      return `op ${e.op} (event ${eventIndex})`;
    case 'direct-call':
      return `direct call op ${e.op} (event ${eventIndex})`;
    case 'effect':
      return `effect ${e.effect_id} (event ${eventIndex})`;
    case 'policy':
      return `Control Plane exchange (event ${eventIndex})`;
    default:
      return `${e.kind} (event ${eventIndex})`;
  }
}

function readKeys(value: JsonValue, path: string, validate: typeof validateIdentityKey | typeof validateTrustedKey, problems: KitProblem[]): unknown[] {
  if (!Array.isArray(value)) {
    problems.push({ where: path, message: 'is not an array of keys' });
    return [];
  }
  value.forEach((key, i) => {
    const r = validate(key, `$[${i}]`);
    if (!r.ok) problems.push({ where: path, message: r.problems.map((p) => `${p.path} ${p.message}`).join('; ') });
  });
  return value;
}

/**
 * The kit of a report folder (what `failclosed run` writes: result.json, …, kit/), or undefined
 * when `dir` is not one — a kit itself included.
 */
export async function kitOfReportFolder(dir: string): Promise<string | undefined> {
  const inner = join(dir, REPORT_KIT_FOLDER);
  return !(await exists(join(dir, MANIFEST_FILE))) && (await exists(join(inner, MANIFEST_FILE))) ? inner : undefined;
}

export async function verifyKit(given: string, options: VerifyOptions = {}): Promise<KitVerification> {
  // A report folder holds its kit in kit/: verify that, and say so.
  const kit = await kitOfReportFolder(given);
  const verification = await verifyKitFolder(kit ?? given, options);
  return kit ? { ...verification, reportFolder: given } : verification;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function verifyKitFolder(dir: string, options: VerifyOptions): Promise<KitVerification> {
  try {
    if (!(await lstat(dir)).isDirectory()) return notAKit(dir, `${dir} is not a folder`);
  } catch {
    return notAKit(dir, `no such folder: ${dir}`);
  }
  let manifestBytes: Uint8Array;
  try {
    manifestBytes = await readFile(join(dir, MANIFEST_FILE));
  } catch {
    return notAKit(dir, `${dir} is not a verification kit: it has no ${MANIFEST_FILE}`);
  }

  const checks: KitCheck[] = [];
  const runs: RunVerification[] = [];
  const check = (title: string, problems: KitProblem[], skipped = false): KitCheck => {
    const c: KitCheck = { title, ok: problems.length === 0 && !skipped, problems, ...(skipped ? { skipped } : {}) };
    checks.push(c);
    return c;
  };
  const totals: KitTotals = {
    signed: false,
    pinned: options.harnessPublicKey !== undefined,
    files: 0,
    damagedFiles: 0,
    keysRead: false,
    identityKeys: 0,
    activeIdentityKeys: 0,
    controlPlaneKeys: 0,
    runs: 0,
    examinedRuns: 0,
    requests: 0,
    directCalls: 0,
    wrongDecisions: 0,
    auditRecords: 0,
    auditChains: 0,
    brokenChains: 0,
  };
  const kept: History[] = [];
  const finish = (manifest?: KitVerification['manifest']): KitVerification => {
    const ok = checks.length > 0 && checks.every((c) => c.ok);
    return { dir, exitCode: ok ? 0 : 1, ok, ...(manifest ? { manifest } : {}), checks, runs, ...(manifest ? { totals } : {}), ...(options.keepHistories ? { histories: kept } : {}) };
  };

  // ------------------------------------------------------------ 1. manifest and signature
  const manifestProblems: KitProblem[] = [];
  const parsedManifest = parseJson(manifestBytes);
  if (!parsedManifest.ok) {
    check('manifest.json is a signed kit manifest', [{ where: MANIFEST_FILE, message: parsedManifest.message }]);
    return finish();
  }
  const manifest = parsedManifest.value;
  if (!isObject(manifest) || !KIT_VERSIONS_READ.includes(manifest.version as KitVersion)) {
    const version = isObject(manifest) && typeof manifest.version === 'string' && /^failclosed-kit\/\d+$/.test(manifest.version) ? manifest.version : undefined;
    return version
      ? notAKit(dir, `${dir} is a ${version} kit, and this failclosed reads ${KIT_VERSIONS_READ.join(' and ')} only`, 'verify it with the failclosed version that wrote it, or a newer one')
      : notAKit(dir, `${dir}/${MANIFEST_FILE} is not a kit manifest (${KIT_VERSIONS_READ.join(' or ')})`);
  }
  const version = manifest.version as KitVersion;
  const fields = ['version', 'created_at', 'target', 'seed', 'profile', 'verdict', 'files', 'harness_key_id'];
  for (const field of Object.keys(manifest)) if (!fields.includes(field)) manifestProblems.push({ where: MANIFEST_FILE, message: `unexpected field "${field}"` });
  for (const field of ['created_at', 'target', 'profile', 'verdict', 'harness_key_id']) {
    if (typeof manifest[field] !== 'string') manifestProblems.push({ where: MANIFEST_FILE, message: `"${field}" is not a string` });
  }
  if (typeof manifest.seed !== 'number') manifestProblems.push({ where: MANIFEST_FILE, message: '"seed" is not a number' });
  if (utf8DecodeStrict(manifestBytes) !== manifestText(manifest)) {
    manifestProblems.push({ where: MANIFEST_FILE, message: 'is not byte for byte the form the kit writes (it was edited)' });
  }

  let harnessKey: HarnessKeyFile | undefined;
  let signatureOk = false;
  try {
    const parsedKey = parseJson(await readFile(join(dir, HARNESS_KEY_FILE)));
    const keyShape = parsedKey.ok ? validateTrustedKey(parsedKey.value) : undefined;
    if (!parsedKey.ok) manifestProblems.push({ where: HARNESS_KEY_FILE, message: parsedKey.message });
    else if (!keyShape?.ok) manifestProblems.push({ where: HARNESS_KEY_FILE, message: 'is not { key_id, public_key }' });
    else harnessKey = keyShape.value;
  } catch {
    manifestProblems.push({ where: HARNESS_KEY_FILE, message: 'is missing: the manifest signature cannot be checked' });
  }
  let signature = '';
  try {
    const text = utf8DecodeStrict(await readFile(join(dir, SIGNATURE_FILE)));
    const match = text === undefined ? null : /^([A-Za-z0-9_-]{86})\n$/.exec(text);
    if (!match) manifestProblems.push({ where: SIGNATURE_FILE, message: 'is not one base64url Ed25519 signature and a newline' });
    else signature = match[1]!;
  } catch {
    manifestProblems.push({ where: SIGNATURE_FILE, message: 'is missing' });
  }
  if (harnessKey) {
    if (harnessKey.key_id !== manifest.harness_key_id) {
      manifestProblems.push({ where: HARNESS_KEY_FILE, message: `names ${harnessKey.key_id}, but the manifest was signed by ${String(manifest.harness_key_id)}` });
    }
    if (options.harnessPublicKey !== undefined && options.harnessPublicKey !== harnessKey.public_key) {
      manifestProblems.push({ where: HARNESS_KEY_FILE, message: `is not the pinned harness key ${options.harnessPublicKey}` });
    }
    const publicKey = publicKeyFromText(harnessKey.public_key);
    signatureOk = signature !== '' && publicKey !== undefined && verifyCanonical(manifest, signature, publicKey);
    if (signature !== '' && !signatureOk) manifestProblems.push({ where: SIGNATURE_FILE, message: `does not verify over manifest.json with ${harnessKey.key_id}` });
  }
  check(
    `manifest.json is signed by the harness key${harnessKey ? ` ${harnessKey.key_id} (public key ${harnessKey.public_key})` : ''}`,
    manifestProblems,
  );
  const summary: KitVerification['manifest'] = {
    version,
    created_at: String(manifest.created_at),
    target: String(manifest.target),
    seed: Number(manifest.seed),
    profile: String(manifest.profile),
    verdict: String(manifest.verdict),
    harness_key_id: String(manifest.harness_key_id),
    ...(harnessKey ? { harness_public_key: harnessKey.public_key } : {}),
  };
  const trusted = manifestProblems.length === 0 && signatureOk;
  totals.signed = trusted;

  // ------------------------------------------------------------ 1b. every file, and only those
  const fileProblems: KitProblem[] = [];
  const listed = new Map<string, string>();
  if (!Array.isArray(manifest.files)) fileProblems.push({ where: MANIFEST_FILE, message: '"files" is not a list' });
  else {
    for (const [i, entry] of manifest.files.entries()) {
      if (!isObject(entry) || typeof entry.path !== 'string' || typeof entry.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(entry.sha256) || Object.keys(entry).length !== 2) {
        fileProblems.push({ where: `${MANIFEST_FILE} files[${i}]`, message: 'is not { path, sha256 }' });
      } else if (!isSafeKitPath(entry.path) || entry.path === MANIFEST_FILE || entry.path === SIGNATURE_FILE) {
        fileProblems.push({ where: `${MANIFEST_FILE} files[${i}]`, message: `lists a path a kit cannot hold: ${JSON.stringify(entry.path)}` });
      } else if (listed.has(entry.path)) {
        fileProblems.push({ where: entry.path, message: 'is listed twice' });
      } else listed.set(entry.path, entry.sha256);
    }
  }
  const present = await walk(dir);
  fileProblems.push(...present.strays);
  const contents = new Map<string, Uint8Array>();
  const damaged = new Set<string>();
  for (const path of present.files) {
    if (path === MANIFEST_FILE || path === SIGNATURE_FILE) continue;
    if (!listed.has(path)) {
      fileProblems.push({ where: path, message: 'is not listed in the manifest (a file was added)' });
      damaged.add(path);
    }
  }
  const presentSet = new Set(present.files);
  const read = await readAll(dir, [...listed.keys()].filter((p) => presentSet.has(p)));
  for (const [path, sha256] of listed) {
    const bytes = read.get(path);
    if (!bytes) {
      fileProblems.push({ where: path, message: 'is listed in the manifest but missing' });
      damaged.add(path);
      continue;
    }
    if (sha256Hex(bytes) !== sha256) {
      fileProblems.push({ where: path, message: 'does not have the sha256 the manifest lists (it was changed)' });
      damaged.add(path);
    } else contents.set(path, bytes);
  }
  check(`${listed.size} files match their sha256 in the manifest, and no other file exists`, fileProblems);
  totals.files = listed.size;
  totals.damagedFiles = damaged.size;

  // Which runs the signed manifest holds: runs/0 … runs/N-1 (a gap shows as a missing history).
  const runNumbers = new Set<number>();
  for (const path of listed.keys()) {
    const run = runOfPath(version, path);
    if (run !== undefined) runNumbers.add(run);
  }
  const runCount = runNumbers.size === 0 ? 0 : Math.max(...runNumbers) + 1;
  totals.runs = runCount;

  // ------------------------------------------------------------ keys
  const keyProblems: KitProblem[] = [];
  let keys: KitKeys | undefined;
  if (!trusted) {
    check('keys/ holds the identity and Control Plane public keys', [], true);
  } else {
    const read = (path: string, validate: typeof validateIdentityKey | typeof validateTrustedKey): unknown[] => {
      const bytes = contents.get(path);
      if (!bytes) {
        keyProblems.push({ where: path, message: 'is missing or damaged' });
        return [];
      }
      const parsed = parseJson(bytes);
      if (!parsed.ok) {
        keyProblems.push({ where: path, message: parsed.message });
        return [];
      }
      return readKeys(parsed.value, path, validate, keyProblems);
    };
    const identityKeys = read(IDENTITY_KEYS_FILE, validateIdentityKey) as IdentityKey[];
    const controlPlaneKeys = read(CONTROL_PLANE_KEYS_FILE, validateTrustedKey) as TrustedKey[];
    if (keyProblems.length === 0) keys = { identityKeys, controlPlaneKeys };
    const active = identityKeys.filter((k) => k.state === 'active').length;
    Object.assign(totals, { keysRead: keyProblems.length === 0, identityKeys: identityKeys.length, activeIdentityKeys: active, controlPlaneKeys: controlPlaneKeys.length });
    const n = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;
    check(`keys/ holds ${n(identityKeys.length, 'identity key')} (${active} active, ${identityKeys.length - active} revoked) and ${n(controlPlaneKeys.length, 'Control Plane key')}`, keyProblems);
  }
  if (runCount === 0) check('the kit holds at least one run', [{ where: 'runs/', message: 'no run: nothing was verified' }]);

  // ------------------------------------------------------------ per run
  const expected = new Set<string>([IDENTITY_KEYS_FILE, CONTROL_PLANE_KEYS_FILE, HARNESS_KEY_FILE]);
  const v1 = version === KIT_VERSION_1;
  for (let run = 0; run < runCount; run++) {
    const base = `runs/${run}`;
    const path = historyPath(version, run);
    expected.add(path);
    const ofRun = (p: string) => runOfPath(version, p) === run;
    const runDamaged = [...damaged].some(ofRun) || !listed.has(path);
    // Where a problem with one request is told: its folder in a kit/1, its run's file in a kit/2.
    const at = (what: string, folder: string) => `run ${run} ${what} (${v1 ? `${base}/${folder}` : path})`;
    const skip = (why: string) => {
      for (const title of ['its history is a History recorded with the kit\'s keys', 'every allow/deny re-derived from the history and keys', 'INV-1…INV-6', 'audit chain']) {
        check(`run ${run}: ${title}`, [{ where: v1 ? base : path, message: why }], true);
      }
    };
    if (!trusted || !keys) {
      skip(!trusted ? 'not examined: the manifest signature does not hold' : 'not examined: the keys cannot be read');
      // Still account for this run's listed files, so that the structure check below stays quiet.
      for (const p of listed.keys()) if (ofRun(p)) expected.add(p);
      continue;
    }
    if (runDamaged) {
      skip('not examined: its files do not match the signed manifest');
      for (const p of listed.keys()) if (ofRun(p)) expected.add(p);
      continue;
    }

    // 2. the history (and, in a kit/1, the files it derives)
    const evidenceProblems: KitProblem[] = [];
    let history: History | undefined;
    const raw = v1 ? { ok: true as const, bytes: contents.get(path)! } : gunzipHistory(contents.get(path)!);
    const parsed = raw.ok ? parseJson(raw.bytes) : { ok: false as const, message: raw.message };
    if (!parsed.ok) evidenceProblems.push({ where: path, message: parsed.message });
    else {
      const shape = historyShapeProblems(parsed.value);
      if (shape.length > 0) evidenceProblems.push(...shape.slice(0, 20).map((message) => ({ where: path, message })));
      else history = parsed.value as unknown as History;
    }
    let derivedCount = 0;
    let index: HistoryIndex | undefined;
    if (history) {
      if (!sameKeys(history.keys, keys)) {
        evidenceProblems.push({ where: path, message: 'was recorded with other keys than keys/ holds' });
      }
      // One reading of the history serves the derived files and the re-derivation below.
      index = buildHistoryIndex(history);
      if (v1) {
        const derived = deriveRunFiles(history, run, index);
        derivedCount = derived.files.size;
        for (const [p, content] of derived.files) {
          expected.add(p);
          const bytes = contents.get(p);
          if (!bytes) {
            evidenceProblems.push({ where: p, message: 'the history derives this file, but the kit does not hold it' });
            continue;
          }
          if (content instanceof Uint8Array) {
            if (Buffer.compare(Buffer.from(bytes), Buffer.from(content)) !== 0) evidenceProblems.push({ where: p, message: "is not the request's bytes as recorded" });
            continue;
          }
          const file = parseJson(bytes);
          if (!file.ok) evidenceProblems.push({ where: p, message: file.message });
          else if (canonicalize(file.value) !== canonicalize(content)) evidenceProblems.push({ where: p, message: 'does not agree with history.json' });
        }
        for (const p of listed.keys()) {
          if (ofRun(p) && !expected.has(p)) evidenceProblems.push({ where: p, message: 'the history derives no such file' });
        }
      }
    } else {
      for (const p of listed.keys()) if (ofRun(p)) expected.add(p);
    }
    check(
      v1
        ? `run ${run}: history.json is a History recorded with the kit's keys, and ${derivedCount} per-request files agree with it`
        : `run ${run}: ${path} is a History recorded with the kit's keys${index ? ` (${index.ops.length} requests, ${index.directCalls.length} direct calls)` : ''}`,
      evidenceProblems,
    );
    if (!history) {
      for (const title of ['every allow/deny re-derived from the history and keys', 'INV-1…INV-6', 'audit chain']) {
        check(`run ${run}: ${title}`, [{ where: path, message: 'not examined: its history is not a History' }], true);
      }
      continue;
    }

    // 3. every decision, re-derived
    const decisionProblems: KitProblem[] = [];
    const rederived = rederive(history, index);
    for (const r of rederived.requests) {
      if (!r.ok) decisionProblems.push({ where: at(`op ${r.op}`, `requests/${r.op}`), message: r.message });
    }
    for (const r of rederived.directCalls) {
      if (!r.ok) decisionProblems.push({ where: at(`direct call op ${r.op}`, `direct-calls/${r.op}`), message: r.message });
    }
    for (const e of rederived.unexplainedEffects) {
      decisionProblems.push({ where: `run ${run} event ${e.eventIndex}`, message: `effect ${e.event.effect_id} belongs to no request and no direct call` });
    }
    check(
      `run ${run}: ${rederived.requests.length} requests and ${rederived.directCalls.length} direct calls re-derived from the history and keys: every allow/deny matches`,
      decisionProblems,
    );

    // 4. INV-1…INV-6, then the plug-ins
    const verdicts = [...checkInvariants(history), ...checkPluginInvariants(options.invariants ?? [], history, index)];
    runs.push({ run, requests: rederived.requests.length, directCalls: rederived.directCalls.length, invariants: verdicts });
    kept.push(history);
    totals.examinedRuns += 1;
    totals.requests += rederived.requests.length;
    totals.directCalls += rederived.directCalls.length;
    totals.wrongDecisions += decisionProblems.length;
    for (const verdict of verdicts) {
      const problems = verdict.violations.map((v) => ({
        where: `run ${run}: ${[...v.eventIndexes.slice(0, 4).map((i) => renderWitness(history!, i)), ...(v.auditIndexes ?? []).slice(0, 4).map((i) => `audit record ${i}`)].join(', ') || path}`,
        message: v.message,
      }));
      const examined = verdict.examined === 0 ? '0 examined: nothing to judge' : `${verdict.examined} examined`;
      check(`run ${run}: ${verdict.invariant} ${verdict.holds ? 'holds' : 'does not hold'} (${examined})`, problems);
    }

    // 5. the chain of each log in the export (replicas keep one each)
    const starts = [0, ...(history.auditChainStarts ?? []), history.audit.length];
    const chainProblems: KitProblem[] = [];
    const exportAt = v1 ? `${base}/audit-export.json` : `${path} audit`;
    if (!history.auditExported) chainProblems.push({ where: exportAt, message: 'the audit log could not be exported' });
    else {
      for (let c = 0; c + 1 < starts.length; c++) {
        const chain = verifyChain(history.audit.slice(starts[c], starts[c + 1]), history.auditChainAnchors?.[c]);
        if (!chain.ok) chainProblems.push({ where: `${exportAt} record ${starts[c]! + chain.index}`, message: chain.problem });
      }
    }
    totals.auditRecords += history.audit.length;
    totals.auditChains += history.auditExported ? starts.length - 1 : 0;
    totals.brokenChains += chainProblems.length;
    check(
      `run ${run}: ${starts.length > 2 ? `each of the ${starts.length - 1} audit logs is` : 'the audit export is'} one continuous hash chain from ${history.auditChainAnchors ? 'where the run before left it' : 'genesis'} (${history.audit.length} records)`,
      chainProblems,
    );
  }

  // Nothing listed that the layout does not account for (a signed but odd kit).
  if (trusted) {
    const structure: KitProblem[] = [];
    for (const path of listed.keys()) if (!expected.has(path)) structure.push({ where: path, message: 'is not part of a kit' });
    for (const path of expected) if (!listed.has(path) && !damaged.has(path)) structure.push({ where: path, message: 'a kit must hold this file' });
    check('the manifest lists exactly the files of a kit', structure);
  }
  return finish(summary);
}

const MAX_PROBLEMS_SHOWN = 20;

const count = (n: number, noun: string, plural = `${noun}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? noun : plural}`;

/** One line per invariant over every examined run: holds in all, or where it does not. */
function invariantLines(v: KitVerification): string[] {
  if (v.runs.length === 0) return ['INV-1…INV-6 not judged: no run could be examined'];
  const ids = [...new Set(v.runs.flatMap((r) => r.invariants.map((i) => i.invariant)))];
  const total = v.totals?.runs ?? v.runs.length;
  const where = v.runs.length === total ? `in all ${count(total, 'run')}` : `in ${v.runs.length} of ${count(total, 'run')}`;
  return ids.map((id) => {
    // A plug-in that needs the audit export is absent from runs without one.
    const verdicts = v.runs.flatMap((r) => r.invariants.filter((i) => i.invariant === id).map((verdict) => ({ run: r.run, verdict })));
    const examined = verdicts.reduce((sum, x) => sum + x.verdict.examined, 0).toLocaleString('en-US');
    const broken = verdicts.filter((x) => !x.verdict.holds);
    if (broken.length === 0) return `${id} holds (${examined === '0' ? '0 examined: nothing to judge' : `${examined} examined`} ${where})`;
    const runs = broken.slice(0, 5).map((x) => x.run).join(', ') + (broken.length > 5 ? ', …' : '');
    const violations = broken.reduce((sum, x) => sum + x.verdict.violations.length, 0);
    return `${id} DOES NOT HOLD: ${count(violations, 'violation')} in ${count(broken.length, 'run')} (run ${runs}) of ${v.runs.length} examined`;
  });
}

/** The summary: verdict, what the kit is, what was re-derived, one line per invariant. */
function summaryLines(v: KitVerification): string[] {
  const failed = v.checks.filter((c) => !c.ok && !c.skipped).length;
  const notRun = v.checks.filter((c) => c.skipped).length;
  const lines = [
    v.ok
      ? `VERIFIED ${v.dir}: all ${v.checks.length} checks pass`
      : `NOT VERIFIED ${v.dir}: ${failed} of ${v.checks.length} checks fail${notRun ? `, ${notRun} could not run` : ''}`,
  ];
  const m = v.manifest;
  const t = v.totals;
  if (m) lines.push(`  kit ${m.version} of ${m.target}, profile ${m.profile}, seed ${m.seed}; recorded verdict ${m.verdict}; created ${m.created_at}`);
  if (!m || !t) return lines;
  lines.push(
    t.signed
      ? `  signed by ${m.harness_key_id}${t.pinned ? ', the pinned key' : `, public key ${m.harness_public_key} (pin it with --harness-key)`}`
      : `  the manifest signature does NOT hold${t.pinned ? ' with the pinned key' : ''}: nothing in the kit is evidence`,
  );
  lines.push(
    `  ${count(t.files, 'file')} listed${t.damagedFiles ? `, ${t.damagedFiles} NOT as signed` : ', each as signed'}; ` +
      (t.keysRead ? `${count(t.identityKeys, 'identity key')} (${t.activeIdentityKeys} active), ${count(t.controlPlaneKeys, 'Control Plane key')}` : 'the keys could not be read'),
  );
  if (t.examinedRuns === 0) {
    lines.push(`  nothing re-derived: none of the ${count(t.runs, 'run')} could be examined`);
  } else {
    const examined = t.examinedRuns === t.runs ? count(t.runs, 'run') : `${t.examinedRuns} of ${count(t.runs, 'run')} (the others could not be examined)`;
    lines.push(
      `  re-derived from the request bytes, the Control Plane exchanges and the fault spans, in ${examined}: ` +
        `${count(t.requests, 'allow/deny decision')} and ${count(t.directCalls, 'direct call')}${t.wrongDecisions ? ` — ${t.wrongDecisions} do NOT match what was recorded` : ', all as recorded'}`,
    );
    lines.push(`  audit: ${count(t.auditRecords, 'record')} in ${count(t.auditChains, 'hash chain')}${t.brokenChains ? `, ${t.brokenChains} broken` : ', each continuous from genesis'}`);
  }
  lines.push(...invariantLines(v).map((l) => `  ${l}`));
  return lines;
}

function checkLines(c: KitCheck): string[] {
  const lines = [`${c.skipped ? '–' : c.ok ? '✓' : '✗'} ${c.title}`];
  for (const p of c.problems.slice(0, MAX_PROBLEMS_SHOWN)) lines.push(`    ${p.where}: ${p.message}`);
  if (c.problems.length > MAX_PROBLEMS_SHOWN) lines.push(`    … and ${c.problems.length - MAX_PROBLEMS_SHOWN} more`);
  return lines;
}

/**
 * The verification as text: the summary first; then every check (✓, ✗ or – could not run) with
 * `verbose`, else only the failed ones, each with what and where.
 */
export function formatKitVerification(v: KitVerification, options: { verbose?: boolean } = {}): string {
  if (v.notAKit) return `failclosed verify: ${v.notAKit.problem}\nremedy: ${v.notAKit.remedy}\n`;
  const lines: string[] = [];
  if (v.reportFolder) lines.push(`failclosed verify: ${v.reportFolder} is a report folder; verifying its kit, ${v.dir}`);
  lines.push(...summaryLines(v));
  if (options.verbose) {
    lines.push('', ...v.checks.flatMap(checkLines));
  } else {
    const failed = v.checks.filter((c) => !c.ok && !c.skipped);
    const skipped = v.checks.filter((c) => c.skipped).length;
    if (failed.length > 0 || skipped > 0) lines.push('');
    lines.push(...failed.flatMap(checkLines));
    if (skipped > 0) lines.push(`– ${count(skipped, 'check')} could not run: their evidence failed a check above (--verbose lists them)`);
    else if (failed.length === 0) lines.push(`(--verbose lists the ${v.checks.length} checks)`);
  }
  return `${lines.join('\n')}\n`;
}
