/**
 * Checks a vendor's own audit export offline, with the public keys and nothing else: the records
 * are well formed, the hash chain is continuous from genesis, every request is attributable (one
 * trace, one final record, one request hash), and the decisions are consistent with the profile's
 * rules as far as an audit alone can tell. Every record must be placed in a request: a record the
 * checks cannot account for is an error.
 *
 * What an audit alone cannot tell — whether the decisions were right for the request bytes and the
 * Control Plane's answers, or whether whole requests were cut from the end of the log — needs a
 * verification kit (`failclosed verify`).
 *
 * KEYS is JSON: { "identity_keys": IdentityKey[], "control_plane_keys": TrustedKey[] } (the
 * contract's identity-keys / trusted-keys entries), or a kit's keys/ folder (identity-keys.json,
 * control-plane-keys.json), or a kit folder.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { parseStrictJson } from '../../model/profile/canonical-json.ts';
import type { DenialCode } from '../../model/profile/denial-codes.ts';
import { DENIAL_CODES } from '../../model/profile/denial-codes.ts';
import { ZERO_DIGEST, digestJson, digestsEqual } from '../../model/profile/digest.ts';
import type { AuditRecord, IdentityKey, TrustedKey } from '../../model/profile/messages.ts';
import { validateAuditRecord, validateIdentityKey, validateTrustedKey } from '../../model/profile/messages.ts';
import { verifyChain } from '../../reference-impl/audit/audit-log.ts';
import { CONTROL_PLANE_KEYS_FILE, IDENTITY_KEYS_FILE, KIT_JSON_LIMITS } from './kit-files.ts';

export interface AuditKeys {
  identityKeys: IdentityKey[];
  controlPlaneKeys: TrustedKey[];
}

/** One line (NDJSON) or item (JSON array) of the export: its value, or why it could not be read. */
export type ExportEntry = { value: JsonValue } | { unreadable: string };

export interface AuditProblem {
  /** indexes of the records concerned (0-based, in export order) */
  records: number[];
  message: string;
}

export interface AuditCheck {
  title: string;
  ok: boolean;
  problems: AuditProblem[];
}

export interface AuditCheckReport {
  exitCode: 0 | 1;
  ok: boolean;
  total: number;
  /** records examined by every check (always total: the whole log is read) */
  examined: number;
  /** records that belong to a well-formed request */
  placed: number;
  requests: number;
  allowed: number;
  denied: number;
  deniedByCode: Record<string, number>;
  checks: AuditCheck[];
}

export type Loaded<T> = { ok: true; value: T } | { ok: false; problem: string };

// ---------------------------------------------------------------- reading

/**
 * A JSON array of records, or NDJSON (one record per line). A text that starts with "[" is an
 * array; an array that does not parse is a broken export (reported), not a usage error.
 */
export function parseAuditExport(text: string): Loaded<ExportEntry[]> {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) {
    try {
      const value = parseStrictJson(text.trim(), KIT_JSON_LIMITS);
      if (!Array.isArray(value)) return { ok: false, problem: 'the export is JSON but not an array of records' };
      return { ok: true, value: value.map((v) => ({ value: v })) };
    } catch (error) {
      // The whole array is unreadable: one entry stands for it, so that the check fails and says why.
      return { ok: true, value: [{ unreadable: `the JSON array does not parse: ${(error as Error).message}` }] };
    }
  }
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const entries: ExportEntry[] = lines.map((line) => {
    try {
      return { value: parseStrictJson(line) };
    } catch (error) {
      return { unreadable: `not a JSON record: ${(error as Error).message}` };
    }
  });
  if (entries.length > 0 && entries.every((e) => 'unreadable' in e)) {
    return { ok: false, problem: 'the export is neither a JSON array nor NDJSON of audit records' };
  }
  return { ok: true, value: entries };
}

export async function readAuditExport(path: string): Promise<Loaded<ExportEntry[]>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return { ok: false, problem: `cannot read ${path}: ${(error as Error).message}` };
  }
  return parseAuditExport(text);
}

function keysFrom(identity: unknown, controlPlane: unknown, where: string): Loaded<AuditKeys> {
  if (!Array.isArray(identity) || !Array.isArray(controlPlane)) {
    return { ok: false, problem: `${where} needs identity keys and Control Plane keys (arrays)` };
  }
  const problems: string[] = [];
  identity.forEach((k, i) => {
    const r = validateIdentityKey(k, `identity_keys[${i}]`);
    if (!r.ok) problems.push(...r.problems.map((p) => `${p.path} ${p.message}`));
  });
  controlPlane.forEach((k, i) => {
    const r = validateTrustedKey(k, `control_plane_keys[${i}]`);
    if (!r.ok) problems.push(...r.problems.map((p) => `${p.path} ${p.message}`));
  });
  if (problems.length > 0) return { ok: false, problem: `${where}: ${problems.slice(0, 5).join('; ')}` };
  return { ok: true, value: { identityKeys: identity as IdentityKey[], controlPlaneKeys: controlPlane as TrustedKey[] } };
}

async function readJsonFile(path: string): Promise<Loaded<JsonValue>> {
  try {
    return { ok: true, value: parseStrictJson(await readFile(path), KIT_JSON_LIMITS) };
  } catch (error) {
    return { ok: false, problem: `cannot read ${path}: ${(error as Error).message}` };
  }
}

/** KEYS: the JSON file, a kit's keys/ folder, or a kit folder. */
export async function readAuditKeys(path: string): Promise<Loaded<AuditKeys>> {
  let isFolder: boolean;
  try {
    isFolder = (await stat(path)).isDirectory();
  } catch {
    return { ok: false, problem: `no such keys file or folder: ${path}` };
  }
  if (!isFolder) {
    const json = await readJsonFile(path);
    if (!json.ok) return json;
    const v = json.value;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      return { ok: false, problem: `${path} is not { "identity_keys": [...], "control_plane_keys": [...] }` };
    }
    return keysFrom(v.identity_keys, v.control_plane_keys, path);
  }
  const [identityName, controlPlaneName] = [IDENTITY_KEYS_FILE, CONTROL_PLANE_KEYS_FILE].map((p) => p.replace(/^keys\//, ''));
  for (const folder of [path, join(path, 'keys')]) {
    const identity = await readJsonFile(join(folder, identityName!));
    if (!identity.ok) continue;
    const controlPlane = await readJsonFile(join(folder, controlPlaneName!));
    if (!controlPlane.ok) return controlPlane;
    return keysFrom(identity.value, controlPlane.value, folder);
  }
  return { ok: false, problem: `${path} holds no ${identityName} (nor keys/${identityName})` };
}

// ---------------------------------------------------------------- checking

interface Placed {
  index: number;
  record: AuditRecord;
}

type Stage = (typeof DENIAL_CODES)[DenialCode]['stage'];
/** Stages a request reaches only after it claimed its nonce. */
const PAST_REPLAY: ReadonlySet<Stage> = new Set(['policy', 'envelope', 'audit', 'dispatch']);
/** Stages after which the request was dispatched: its intent record was written. */
const DISPATCH: ReadonlySet<Stage> = new Set(['dispatch']);
/** Stages that deny before the intent record is (or could be) written. */
const BEFORE_INTENT: ReadonlySet<Stage> = new Set(['structure', 'authentication', 'replay', 'policy', 'audit']);

function stageOf(record: AuditRecord): Stage | undefined {
  return record.code === undefined ? undefined : DENIAL_CODES[record.code].stage;
}

const indexes = (entries: readonly Placed[]) => entries.map((e) => e.index);

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export function checkAudit(entries: readonly ExportEntry[], keys: AuditKeys): AuditCheckReport {
  const checks: AuditCheck[] = [];
  const check = (title: string, problems: AuditProblem[]) => checks.push({ title, ok: problems.length === 0, problems });
  const unplaced = new Set<number>();
  const flag = (problems: AuditProblem[], records: number[], message: string) => {
    problems.push({ records, message });
    for (const i of records) unplaced.add(i);
  };

  // 1. every record well formed
  const valid: Placed[] = [];
  const shapeProblems: AuditProblem[] = [];
  entries.forEach((entry, index) => {
    if ('unreadable' in entry) return flag(shapeProblems, [index], entry.unreadable);
    const result = validateAuditRecord(entry.value);
    if (result.ok) valid.push({ index, record: result.value });
    else flag(shapeProblems, [index], `not a valid audit record: ${result.problems.map((p) => `${p.path} ${p.message}`).join('; ')}`);
  });
  check(`every record is a valid audit record (${valid.length} of ${entries.length})`, shapeProblems);

  // 2. the chain, from genesis: every link and every hash, not only the first break
  const chainProblems: AuditProblem[] = [];
  const seenIds = new Map<string, number>();
  entries.forEach((entry, index) => {
    if (!('value' in entry) || typeof entry.value !== 'object' || entry.value === null || Array.isArray(entry.value)) {
      if (index + 1 < entries.length) flag(chainProblems, [index, index + 1], `record ${index} is unreadable, so the chain cannot be followed through it`);
      return;
    }
    const raw = entry.value;
    const previous = index === 0 ? undefined : entries[index - 1];
    const expectedPrev = index === 0 ? ZERO_DIGEST : previous && 'value' in previous && typeof previous.value === 'object' && previous.value !== null && !Array.isArray(previous.value) ? previous.value.record_hash : undefined;
    if (typeof raw.prev_hash !== 'string' || typeof expectedPrev !== 'string' || !digestsEqual(raw.prev_hash, expectedPrev)) {
      flag(chainProblems, index === 0 ? [0] : [index - 1, index], index === 0 ? 'the first record does not start at the genesis (zero) hash' : `record ${index} does not link to record ${index - 1}`);
    }
    const { record_hash: recordHash, ...body } = raw;
    let recomputed: string | undefined;
    try {
      recomputed = digestJson(body);
    } catch {
      recomputed = undefined;
    }
    if (typeof recordHash !== 'string' || recomputed === undefined || !digestsEqual(recordHash, recomputed)) {
      flag(chainProblems, [index], `record ${index} does not hash to its record_hash: it was changed after it was written`);
    }
    if (typeof raw.record_id === 'string') {
      const first = seenIds.get(raw.record_id);
      if (first !== undefined) flag(chainProblems, [first, index], `record_id ${raw.record_id} appears twice`);
      else seenIds.set(raw.record_id, index);
    }
  });
  const chain = verifyChain(entries.map((e) => ('value' in e ? e.value : null)));
  // verifyChain is the authority; the scan above only adds the breaks after its first one.
  if (!chain.ok && !chainProblems.some((p) => p.records.includes(chain.index))) flag(chainProblems, [chain.index], `record ${chain.index}: ${chain.problem}`);
  check(`the hash chain is continuous from genesis (${entries.length} records)`, chainProblems);

  // 3. attribution: traces
  const traceProblems: AuditProblem[] = [];
  const byTrace = new Map<string, Placed[]>();
  for (const placed of valid) pushTo(byTrace, placed.record.trace_id, placed);
  const finals = new Map<string, Placed>();
  for (const [traceId, records] of byTrace) {
    const all = indexes(records);
    const finalRecords = records.filter((r) => r.record.stage === 'final');
    const intents = records.filter((r) => r.record.stage === 'intent');
    if (finalRecords.length === 0) flag(traceProblems, all, `request trace ${traceId} has no final record: it was never closed`);
    else if (finalRecords.length > 1) flag(traceProblems, all, `request trace ${traceId} has ${finalRecords.length} final records`);
    else finals.set(traceId, finalRecords[0]!);
    if (intents.length > 1) flag(traceProblems, indexes(intents), `request trace ${traceId} has ${intents.length} intent records`);
    for (const field of ['request_hash', 'identity', 'data_hash', 'request_id', 'action'] as const) {
      const values = new Set(records.map((r) => r.record[field]));
      if (values.size > 1) flag(traceProblems, all, `the records of trace ${traceId} disagree on ${field}`);
    }
    const final = finalRecords[0];
    if (final && intents.some((i) => i.index > final.index)) flag(traceProblems, all, `in trace ${traceId} an intent record comes after the final record`);
    if (final && intents.length === 1 && final.record.approval_id !== intents[0]!.record.approval_id) {
      flag(traceProblems, all, `in trace ${traceId} the final record names another approval than the intent record`);
    }
  }
  check(`every request is attributable: ${byTrace.size} traces, each with one final record and one request hash`, traceProblems);

  // 4. decisions, as far as an audit can tell
  const ruleProblems: AuditProblem[] = [];
  const activeIdentities = new Set(keys.identityKeys.filter((k) => k.state === 'active').map((k) => k.identity));
  const acceptedByHash = new Map<string, Placed[]>();
  const executedUnder = new Map<string, Placed[]>();
  for (const [traceId, final] of finals) {
    const records = byTrace.get(traceId)!;
    const all = indexes(records);
    const intent = records.find((r) => r.record.stage === 'intent' && r.index < final.index);
    const r = final.record;
    const stage = stageOf(r);
    if (r.decision === 'allow') {
      if (r.outcome !== 'executed') flag(ruleProblems, all, `trace ${traceId}: an allow closes only as executed (outcome "${r.outcome}"); anything else is a denial`);
      if (!intent) flag(ruleProblems, all, `trace ${traceId}: executed without an intent record before it (audit before effect)`);
    } else {
      const dispatched = r.approval_id !== undefined || r.outcome !== undefined;
      if (r.outcome === 'executed') flag(ruleProblems, all, `trace ${traceId}: a denial that says it executed`);
      if ((r.code === 'EXECUTION_UNCONFIRMED') !== (r.outcome === 'unknown')) {
        flag(ruleProblems, all, `trace ${traceId}: an unconfirmed dispatch closes as EXECUTION_UNCONFIRMED with outcome "unknown", and only it`);
      }
      if (dispatched && (r.approval_id === undefined || r.outcome === undefined)) {
        flag(ruleProblems, all, `trace ${traceId}: a dispatched denial carries both its approval_id and its outcome`);
      }
      if (dispatched && !intent) flag(ruleProblems, all, `trace ${traceId}: dispatched (${r.code}) without an intent record before it`);
      if (stage !== undefined && DISPATCH.has(stage) && !dispatched) {
        flag(ruleProblems, all, `trace ${traceId}: ${r.code} happens at dispatch, but the record carries no approval_id and outcome`);
      }
      if (stage !== undefined && BEFORE_INTENT.has(stage) && (dispatched || records.some((x) => x.record.stage === 'intent'))) {
        flag(ruleProblems, all, `trace ${traceId}: ${r.code} denies before dispatch, yet the trace has an intent record or an outcome`);
      }
    }
    // Past authentication the identity is one the registry holds an active key for.
    const authenticated = r.decision === 'allow' || (stage !== undefined && (stage === 'replay' || PAST_REPLAY.has(stage)));
    if (authenticated && !activeIdentities.has(r.identity)) {
      flag(ruleProblems, all, `trace ${traceId}: ${r.decision === 'allow' ? 'executed' : `reached ${stage}`} for identity "${r.identity}", which has no active key in KEYS`);
    }
    if (r.decision === 'allow' || r.code === 'NONCE_WRITE_UNCONFIRMED' || (stage !== undefined && PAST_REPLAY.has(stage))) {
      pushTo(acceptedByHash, r.request_hash, final);
    }
    // Executed for sure. An "unknown" outcome is no second use: a compliant Gate records one when it
    // dispatched an approval already consumed over a link that lost the answer (the Execution
    // Layer refused it, but the Gate cannot know), so it proves nothing either way.
    if (r.approval_id !== undefined && r.outcome === 'executed') pushTo(executedUnder, r.approval_id, final);
  }
  // The same bytes carry the same nonce and timestamp: they can claim their nonce once.
  for (const [hash, accepted] of acceptedByHash) {
    if (accepted.length > 1) flag(ruleProblems, indexes(accepted), `the same request bytes (${hash.slice(0, 19)}…) got past the replay check ${accepted.length} times`);
  }
  for (const [approvalId, uses] of executedUnder) {
    if (uses.length > 1) flag(ruleProblems, indexes(uses), `approval ${approvalId} was executed ${uses.length} times: an approval is single use`);
  }
  check('every decision is consistent with the profile, as far as an audit alone can tell', ruleProblems);

  // 5. the whole log is accounted for
  const placed = entries.length - unplaced.size;
  check(
    `every record is accounted for: ${entries.length} examined, ${placed} placed in a well-formed request`,
    unplaced.size === 0 ? [] : [{ records: [...unplaced].sort((a, b) => a - b), message: `${unplaced.size} record(s) could not be placed in a well-formed request` }],
  );

  const deniedByCode: Record<string, number> = {};
  let allowed = 0;
  let denied = 0;
  for (const { record } of finals.values()) {
    if (record.decision === 'allow') allowed++;
    else {
      denied++;
      const code = record.code ?? 'no code';
      deniedByCode[code] = (deniedByCode[code] ?? 0) + 1;
    }
  }
  const ok = checks.every((c) => c.ok);
  return { exitCode: ok ? 0 : 1, ok, total: entries.length, examined: entries.length, placed, requests: byTrace.size, allowed, denied, deniedByCode, checks };
}

const MAX_PROBLEMS_SHOWN = 20;

function recordList(records: readonly number[]): string {
  const shown = records.slice(0, 8).join(', ');
  return records.length === 1 ? `record ${shown}` : `records ${shown}${records.length > 8 ? ', …' : ''}`;
}

export function formatAuditCheck(report: AuditCheckReport, source: string): string {
  const lines = [`failclosed check-audit ${source}`];
  const codes = Object.entries(report.deniedByCode).sort(([a], [b]) => (a < b ? -1 : 1)).map(([code, n]) => `${code} ${n}`);
  lines.push(`  ${report.total} records, ${report.requests} requests: ${report.allowed} allowed, ${report.denied} denied${codes.length ? ` (${codes.join(', ')})` : ''}`);
  for (const c of report.checks) {
    lines.push(`${c.ok ? '✓' : '✗'} ${c.title}`);
    for (const p of c.problems.slice(0, MAX_PROBLEMS_SHOWN)) lines.push(`    ${recordList(p.records)}: ${p.message}`);
    if (c.problems.length > MAX_PROBLEMS_SHOWN) lines.push(`    … and ${c.problems.length - MAX_PROBLEMS_SHOWN} more`);
  }
  lines.push(report.ok ? 'the audit export checks out' : `the audit export does NOT check out: ${report.checks.filter((c) => !c.ok).length} check(s) failed`);
  return `${lines.join('\n')}\n`;
}
