/**
 * The layout of a verification kit (spec §5) and everything the writer and the verifier must
 * agree on: file names, serialisations, and what is derived from a run's history.
 *
 * failclosed-kit/2 (written today): one file per run.
 *
 *   manifest.json, manifest.sig             signed by the per-kit harness key
 *   keys/identity-keys.json                 IdentityKey[] (active and revoked)
 *   keys/control-plane-keys.json            TrustedKey[]
 *   keys/harness-key.json                   { key_id, public_key } of the key that signs the manifest
 *   runs/<n>.history.json.gz                the History as recorded, gzip: every request's raw bytes,
 *                                           the Control Plane exchanges with their envelopes, the
 *                                           responses, the effects, the fault spans, the audit export
 *
 * failclosed-kit/1 (still read): the History as runs/<n>/history.json, plus per-request files
 * derived from it (deriveRunFiles), which the verifier demands to be exactly what it derives:
 *
 *   runs/<n>/audit-export.json              the audit export, in chain order
 *   runs/<n>/requests/<op>/request.bin      the raw signed request bytes
 *   runs/<n>/requests/<op>/envelope.json    the approval envelope the Control Plane gave it (if any)
 *   runs/<n>/requests/<op>/trace.json       the Gate's answer and the effects attributed to it
 *   runs/<n>/requests/<op>/audit.json       the audit records carrying its request_hash
 *   runs/<n>/direct-calls/<op>/trace.json   a call straight to the Execution Layer and its effects
 *
 * Those files held nothing the history does not (a 2 MiB request body was stored twice, and a
 * quick run wrote some 1,800 files): kit/2 keeps the history alone, and the verifier derives the
 * rest as kit/1's did.
 */
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import type { Effect, FaultKind, History, HistoryEvent } from '../../model/history.ts';
import type { HistoryIndex, RequestOp } from '../../model/invariants/history-index.ts';
import { buildHistoryIndex, isJsonObject } from '../../model/invariants/history-index.ts';
import type { JsonValue, StrictJsonLimits } from '../../model/profile/canonical-json.ts';
import { canonicalize } from '../../model/profile/canonical-json.ts';
import type { IdentityKey, TrustedKey } from '../../model/profile/messages.ts';
import { validateIdentityKey, validateTrustedKey } from '../../model/profile/messages.ts';
import { utf8Encode } from '../../model/profile/encoding.ts';
import type { EffectAttribution } from './rederive.ts';
import { attributeEffects } from './rederive.ts';

/** The version this failclosed writes. */
export const KIT_VERSION = 'failclosed-kit/2';
/** The previous version, still read (and written on request, to test that it is). */
export const KIT_VERSION_1 = 'failclosed-kit/1';
export type KitVersion = typeof KIT_VERSION | typeof KIT_VERSION_1;
export const KIT_VERSIONS_READ: readonly KitVersion[] = [KIT_VERSION_1, KIT_VERSION];
export const MANIFEST_FILE = 'manifest.json';
export const SIGNATURE_FILE = 'manifest.sig';
export const IDENTITY_KEYS_FILE = 'keys/identity-keys.json';
export const CONTROL_PLANE_KEYS_FILE = 'keys/control-plane-keys.json';
export const HARNESS_KEY_FILE = 'keys/harness-key.json';
/** Where a report folder (what `failclosed run` writes) holds its kit. */
export const REPORT_KIT_FOLDER = 'kit';

/** A kit's histories hold whole request bodies (an oversized one is 2 MB): the reader must take them. */
export const KIT_JSON_LIMITS: Partial<StrictJsonLimits> = { maxBytes: 512 * 1024 * 1024 };

export interface ManifestEntry {
  path: string;
  /** lowercase hex */
  sha256: string;
}

export interface KitManifest {
  version: KitVersion;
  created_at: string;
  target: string;
  seed: number;
  profile: string;
  verdict: string;
  files: ManifestEntry[];
  harness_key_id: string;
}

export interface HarnessKeyFile {
  key_id: string;
  public_key: string;
}

// ---------------------------------------------------------------- serialisations

/** Pretty JSON with a final newline, for the small files people open. */
export function prettyJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** An array, one item per line: long files stay diffable and greppable. */
export function lineArrayJson(items: readonly unknown[]): string {
  return items.length === 0 ? '[]\n' : `[\n${items.map((item) => JSON.stringify(item)).join(',\n')}\n]\n`;
}

/** An object whose array fields are written one item per line (a History). */
export function lineObjectJson(value: Record<string, unknown>): string {
  const fields = Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) =>
      Array.isArray(v) && v.length > 0 ? `${JSON.stringify(k)}:[\n${v.map((i) => JSON.stringify(i)).join(',\n')}\n]` : `${JSON.stringify(k)}:${JSON.stringify(v)}`,
    );
  return `{\n${fields.join(',\n')}\n}\n`;
}

export function historyJson(history: History): string {
  const { config, keys, events, audit, auditExported, auditChainStarts, auditChainAnchors } = history;
  // Replicas each keep a chain: where each begins is part of the evidence.
  return lineObjectJson({ config, keys, events, audit, auditExported, ...(auditChainStarts ? { auditChainStarts } : {}), ...(auditChainAnchors ? { auditChainAnchors } : {}) });
}

/**
 * The manifest's one byte form: canonical key order (RFC 8785), indented. The verifier demands
 * exactly these bytes, so that nothing in the manifest can change without breaking the signature
 * or this comparison.
 */
export function manifestText(manifest: KitManifest | JsonValue): string {
  return prettyJson(JSON.parse(canonicalize(manifest)));
}

export function signatureText(signature: string): string {
  return `${signature}\n`;
}

// ---------------------------------------------------------------- where a run is

/** The file that holds run `run`'s History. */
export function historyPath(version: KitVersion, run: number): string {
  return version === KIT_VERSION_1 ? `runs/${run}/history.json` : `runs/${run}.history.json.gz`;
}

/** The run a listed path belongs to, if it belongs to one. */
export function runOfPath(version: KitVersion, path: string): number | undefined {
  const m = (version === KIT_VERSION_1 ? /^runs\/(\d+)\// : /^runs\/(\d+)\.history\.json\.gz$/).exec(path);
  return m ? Number(m[1]) : undefined;
}

/**
 * gzip, at the best compression: a history is mostly base64 and JSON, and a 2 MiB oversized body
 * shrinks to a few KiB. The header carries no time or name, so the same history gives the same bytes.
 */
export function gzipHistory(text: string): Uint8Array {
  return gzipSync(utf8Encode(text), { level: constants.Z_BEST_COMPRESSION });
}

/** The history's bytes back; bounded, so that a small file cannot inflate without limit. */
export function gunzipHistory(bytes: Uint8Array): { ok: true; bytes: Uint8Array } | { ok: false; message: string } {
  try {
    return { ok: true, bytes: gunzipSync(bytes, { maxOutputLength: KIT_JSON_LIMITS.maxBytes! }) };
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    return { ok: false, message: e.code === 'ERR_BUFFER_TOO_LARGE' ? `inflates to more than ${KIT_JSON_LIMITS.maxBytes} bytes` : `is not gzip: ${e.message}` };
  }
}

/** Relative, forward slashes, no empty, "." or ".." segment: nothing the manifest names can leave the kit. */
export function isSafeKitPath(path: string): boolean {
  if (typeof path !== 'string' || path.length === 0 || path.length > 512) return false;
  return path.split('/').every((segment) => /^[A-Za-z0-9._-]+$/.test(segment) && segment !== '.' && segment !== '..');
}

/** Code-unit order, so that every platform sorts a manifest the same way. */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------- history shape

const EVENT_KINDS = new Set<HistoryEvent['kind']>(['request', 'response', 'policy', 'effect', 'direct-call', 'fault', 'gateway-event', 'execution-call']);
const DELIVERIES = new Set(['now', 'late', 'never']);
const STATUSES = new Set(['executed', 'denied', 'indeterminate']);
const FAULT_KINDS = new Set<FaultKind>([
  'control-plane-down', 'control-plane-slow', 'control-plane-garbage', 'nonce-store-down', 'nonce-store-unconfirmed',
  'execution-partition', 'execution-tamper', 'execution-unconfirmed', 'execution-delayed', 'audit-down', 'clock-offset', 'crash',
]);

type Fields = Record<string, JsonValue>;
const isOp = (v: JsonValue | undefined) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isTime = (v: JsonValue | undefined) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const optString = (v: JsonValue | undefined) => v === undefined || typeof v === 'string';

function eventProblem(e: Fields): string | undefined {
  if (!EVENT_KINDS.has(e.kind as HistoryEvent['kind'])) return `unknown kind ${JSON.stringify(e.kind)}`;
  if (!isTime(e.at)) return '"at" is not a time';
  switch (e.kind) {
    case 'request':
      return isOp(e.op) && typeof e.body === 'string' ? undefined : 'a request needs an op and a string body';
    case 'response':
      return isOp(e.op) && STATUSES.has(e.status as string) && optString(e.code) && optString(e.trace_id) && optString(e.request_id)
        ? undefined
        : 'a response needs an op, a status and string code/trace_id/request_id';
    case 'policy': {
      const a = e.answer;
      if (!('question' in e) || !isJsonObject(a)) return 'a policy exchange needs a question and an answer';
      if (a.kind === 'allow') return 'envelope' in a ? undefined : 'an allow answer carries its envelope';
      if (a.kind === 'allow-unsigned' || a.kind === 'deny') return undefined;
      if (a.kind === 'garbage') return typeof a.body === 'string' ? undefined : 'a garbage answer carries its body';
      if (a.kind === 'no-answer') return a.reason === 'outage' || a.reason === 'timeout' ? undefined : 'no-answer needs a reason';
      return `unknown answer kind ${JSON.stringify(a.kind)}`;
    }
    case 'effect':
      return typeof e.effect_id === 'string' && optString(e.approval_id) && optString(e.request_id) && optString(e.identity) && optString(e.action) && 'parameters' in e
        ? undefined
        : 'an effect needs an effect_id, parameters and string approval_id/request_id/identity/action';
    case 'direct-call':
      return isOp(e.op) && STATUSES.has(e.status as string) && typeof e.identity === 'string' && typeof e.action === 'string' && 'parameters' in e && optString(e.code) && optString(e.request_id) && optString(e.notACall)
        ? undefined
        : 'a direct call needs an op, a status, identity, action and parameters';
    case 'execution-call':
      return optString(e.approval_id) && optString(e.request_id) && DELIVERIES.has(e.delivery as string) ? undefined : 'an execution call needs a delivery and string approval_id/request_id';
    case 'fault':
      return FAULT_KINDS.has(e.fault as FaultKind) && (e.until === null || isTime(e.until)) && optString(e.detail) && (e.untilIndex === undefined || isOp(e.untilIndex))
        ? undefined
        : 'a fault needs a known kind and an until';
    default:
      return isJsonObject(e.event) ? undefined : 'a gateway event carries its event';
  }
}

/**
 * Checks that a parsed history.json has the History shape, so that the index, the re-derivation
 * and the predicates read only what they expect. Returns the problems (empty: it is a History).
 */
export function historyShapeProblems(value: JsonValue): string[] {
  if (!isJsonObject(value)) return ['history.json is not an object'];
  const problems: string[] = [];
  const allowed = new Set(['config', 'keys', 'events', 'audit', 'auditExported', 'auditChainStarts', 'auditChainAnchors']);
  for (const field of Object.keys(value)) if (!allowed.has(field)) problems.push(`unexpected field "${field}"`);
  const config = value.config;
  if (!isJsonObject(config) || !isOp(config.acceptanceWindowSec) || !isOp(config.replayWindowSec)) problems.push('config needs acceptanceWindowSec and replayWindowSec');
  const keys = value.keys;
  if (!isJsonObject(keys) || !Array.isArray(keys.identityKeys) || !Array.isArray(keys.controlPlaneKeys)) {
    problems.push('keys needs identityKeys and controlPlaneKeys');
  } else {
    keys.identityKeys.forEach((k, i) => {
      const r = validateIdentityKey(k, `keys.identityKeys[${i}]`);
      if (!r.ok) problems.push(...r.problems.map((p) => `${p.path} ${p.message}`));
    });
    keys.controlPlaneKeys.forEach((k, i) => {
      const r = validateTrustedKey(k, `keys.controlPlaneKeys[${i}]`);
      if (!r.ok) problems.push(...r.problems.map((p) => `${p.path} ${p.message}`));
    });
  }
  if (!Array.isArray(value.events)) problems.push('events is not an array');
  else {
    value.events.forEach((event, i) => {
      const problem = isJsonObject(event) ? eventProblem(event) : 'not an object';
      if (problem) problems.push(`events[${i}]: ${problem}`);
    });
  }
  if (!Array.isArray(value.audit)) problems.push('audit is not an array');
  if (typeof value.auditExported !== 'boolean') problems.push('auditExported is not a boolean');
  if (value.auditChainStarts !== undefined) {
    const starts = value.auditChainStarts;
    const length = Array.isArray(value.audit) ? value.audit.length : 0;
    const ascending =
      Array.isArray(starts) && starts.every((s, i) => typeof s === 'number' && Number.isSafeInteger(s) && s > 0 && s < length && (i === 0 || s > (starts[i - 1] as number)));
    if (!ascending) problems.push('auditChainStarts must be ascending indexes inside audit, after 0');
  }
  if (value.auditChainAnchors !== undefined) {
    const anchors = value.auditChainAnchors;
    const chains = 1 + (Array.isArray(value.auditChainStarts) ? value.auditChainStarts.length : 0);
    if (!Array.isArray(anchors) || anchors.length !== chains || !anchors.every((a) => typeof a === 'string' && /^sha256:[0-9a-f]{64}$/.test(a))) {
      problems.push('auditChainAnchors must hold one sha256 digest per audit chain');
    }
  }
  return problems;
}

// ---------------------------------------------------------------- keys

export interface KitKeys {
  identityKeys: IdentityKey[];
  controlPlaneKeys: TrustedKey[];
}

/** Key sets compared as sets of canonical entries (order of registration does not matter). */
export function sameKeys(a: KitKeys, b: KitKeys): boolean {
  const set = (keys: readonly unknown[]) => [...new Set(keys.map((k) => canonicalize(k)))].sort().join('\n');
  return set(a.identityKeys) === set(b.identityKeys) && set(a.controlPlaneKeys) === set(b.controlPlaneKeys);
}

// ---------------------------------------------------------------- derived files

export interface DerivedRunFiles {
  /** kit path → content (bytes for .bin, a JSON value otherwise) */
  files: Map<string, Uint8Array | JsonValue>;
  requests: number;
  directCalls: number;
}

/** Directory names for ops: the op itself, or the event index when an op repeats or is odd. */
function namer(): (op: number, eventIndex: number) => string {
  const used = new Set<string>();
  return (op, eventIndex) => {
    let name = Number.isSafeInteger(op) && op >= 0 ? String(op) : `event-${eventIndex}`;
    if (used.has(name)) name = `event-${eventIndex}`;
    used.add(name);
    return name;
  };
}

function envelopeOf(op: RequestOp): JsonValue | undefined {
  // The approval the request executed (or was refused) under: the last allow that carried one.
  const allow = op.exchanges.filter((e) => e.event.answer.kind === 'allow').at(-1);
  return allow?.event.answer.kind === 'allow' ? allow.event.answer.envelope : undefined;
}

function effectsJson(effects: readonly { event: Effect }[]): JsonValue {
  return effects.map((e) => e.event) as unknown as JsonValue;
}

/**
 * The per-request and per-call files of run `run`, derived from its history alone. Both the
 * writer and the verifier call this on the history as parsed back from history.json.
 */
export function deriveRunFiles(history: History, run: number, index: HistoryIndex = buildHistoryIndex(history)): DerivedRunFiles {
  const attribution: EffectAttribution = attributeEffects(index);
  const files = new Map<string, Uint8Array | JsonValue>();
  const base = `runs/${run}`;
  const requestDir = namer();
  for (const op of index.ops) {
    const dir = `${base}/requests/${requestDir(op.op, op.eventIndex)}`;
    if (op.bytes) files.set(`${dir}/request.bin`, op.bytes);
    const envelope = envelopeOf(op);
    if (envelope !== undefined) files.set(`${dir}/envelope.json`, envelope);
    files.set(`${dir}/trace.json`, {
      op: op.op,
      request_hash: op.requestHash ?? null,
      response: (op.response?.event ?? null) as unknown as JsonValue,
      effects: effectsJson(attribution.ofOp.get(op.op) ?? []),
    });
    const records = op.requestHash === undefined
      ? []
      : history.audit.flatMap((record, auditIndex) => (isJsonObject(record) && record.request_hash === op.requestHash ? [{ audit_index: auditIndex, record }] : []));
    files.set(`${dir}/audit.json`, { request_hash: op.requestHash ?? null, records });
  }
  const callDir = namer();
  for (const call of index.directCalls) {
    files.set(`${base}/direct-calls/${callDir(call.event.op, call.eventIndex)}/trace.json`, {
      op: call.event.op,
      call: call.event as unknown as JsonValue,
      effects: effectsJson(attribution.ofCall.get(call.event.op) ?? []),
    });
  }
  files.set(`${base}/audit-export.json`, history.audit);
  return { files, requests: index.ops.length, directCalls: index.directCalls.length };
}

/** The bytes a derived file is written as. */
export function derivedFileBytes(path: string, content: Uint8Array | JsonValue): Uint8Array {
  if (content instanceof Uint8Array) return content;
  return utf8Encode(path.endsWith('/audit-export.json') && Array.isArray(content) ? lineArrayJson(content) : prettyJson(content));
}
