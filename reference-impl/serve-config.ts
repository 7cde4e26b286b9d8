/**
 * Configuration of `failclosed serve`: a JSON file, every field optional, safe defaults —
 * loopback only, default-deny policy, durable stores under one data directory.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseStrictJson } from '../model/profile/canonical-json.ts';
import type { IdentityKey, TrustedKey } from '../model/profile/messages.ts';
import { validateIdentityKey, validateTrustedKey } from '../model/profile/messages.ts';

export interface ServeConfig {
  host: string;
  ports: { gate: number; controlPlane: number; executionLayer: number };
  dataDir: string;
  acceptanceWindowSec: number;
  replayWindowSec: number;
  controlPlaneDeadlineMs: number;
  executionDeadlineMs: number;
  envelopeTtlSec: number;
  maxBodyBytes: number;
  /** policy rules file; default: <dataDir>/policy.json, created with a demo rule */
  policyFile: string | null;
  /** identity key registry file; default: <dataDir>/identity-keys.json, created with a demo key */
  identityKeysFile: string | null;
  /** use an external Control Plane instead of the embedded one (then trustedKeys are required) */
  controlPlane: { url: string | null; trustedKeys: TrustedKey[] | null };
  /**
   * url: use an external Execution Layer instead of the embedded one. via: the URL the Gate uses to
   * reach the embedded one (a test harness puts a fault-injecting proxy there).
   */
  executionLayer: { url: string | null; via: string | null };
  /** where the embedded Execution Layer reports effects: a file (default <dataDir>/effects.ndjson) or a URL */
  effects: { file: string | null; url: string | null };
  /**
   * Where the durable state lives. url null: the embedded file stores under dataDir (the default,
   * one process). url postgres://…: nonce claims, consumed approvals, the audit log and effects
   * (when no effect sink URL is given) in that PostgreSQL database, so that N replicas share them;
   * chain: the name of this replica's audit chain there (each replica writes and exports its own).
   */
  store: { url: string | null; chain: string };
  /** identity keys given inline (instead of a registry file) */
  identityKeys: IdentityKey[] | null;
  /** fsync before acknowledging (turn off only for throwaway benchmarks) */
  fsync: boolean;
  /**
   * concurrent appends to a journal or the audit log share one fsync (group commit); off: one
   * fsync per append, only to measure what group commit gains
   */
  groupCommit: boolean;
  /** the optional conformance control channel (reset, faults, clock, restart): NEVER in production */
  conformanceChannel: boolean;
  /**
   * How many processes serve the roles: "one" (the default: all three on one event loop), "two"
   * (the embedded Control Plane and Execution Layer together in a child process), "three" (each in
   * its own), so that a machine's cores share the work. The roles talk over HTTP either way.
   */
  roleProcesses: RoleProcesses;
}

export type RoleProcesses = 'one' | 'two' | 'three';
const ROLE_PROCESSES: readonly RoleProcesses[] = ['one', 'two', 'three'];

export const DEFAULT_SERVE_CONFIG: ServeConfig = {
  host: '127.0.0.1',
  ports: { gate: 8700, controlPlane: 8701, executionLayer: 8702 },
  dataDir: 'failclosed-data',
  acceptanceWindowSec: 300,
  replayWindowSec: 600,
  controlPlaneDeadlineMs: 2000,
  executionDeadlineMs: 5000,
  envelopeTtlSec: 30,
  maxBodyBytes: 64 * 1024,
  policyFile: null,
  identityKeysFile: null,
  controlPlane: { url: null, trustedKeys: null },
  executionLayer: { url: null, via: null },
  effects: { file: null, url: null },
  store: { url: null, chain: 'gate' },
  identityKeys: null,
  fsync: true,
  groupCommit: true,
  conformanceChannel: false,
  roleProcesses: 'one',
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Json = ReturnType<typeof parseStrictJson>;
const isObject = (v: Json | undefined): v is { [k: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);

function int(v: Json | undefined, where: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new ConfigError(`${where} must be an integer from ${min} to ${max}`);
  return v;
}
function text(v: Json | undefined, where: string): string {
  if (typeof v !== 'string' || v === '') throw new ConfigError(`${where} must be a non-empty string`);
  return v;
}
function url(v: Json | undefined, where: string): string {
  const s = text(v, where);
  try {
    const parsed = new URL(s);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error();
  } catch {
    throw new ConfigError(`${where} must be an http(s) URL`);
  }
  return s;
}
/** A PostgreSQL URL (postgres:// or postgresql://), or "file" (the embedded file stores: null). */
function storeUrl(v: Json | undefined, where: string): string | null {
  const s = text(v, where);
  if (s === 'file') return null;
  let parsed: URL | undefined;
  try {
    parsed = new URL(s);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')) throw new ConfigError(`${where} must be a postgres:// URL (or "file" for the embedded file stores)`);
  return s;
}
function only(obj: { [k: string]: Json }, allowed: string[], where: string): void {
  for (const key of Object.keys(obj)) if (!allowed.includes(key)) throw new ConfigError(`${where}${key} is not a configuration field (known: ${allowed.join(', ')})`);
}

/** Reads a config document over the defaults; every error names its field. Paths resolve against `baseDir`. */
export function parseServeConfig(source: string, baseDir = process.cwd()): ServeConfig {
  let doc: Json;
  try {
    doc = parseStrictJson(source);
  } catch (error) {
    throw new ConfigError(`the configuration is not strict JSON: ${(error as Error).message}`);
  }
  if (!isObject(doc)) throw new ConfigError('the configuration must be a JSON object');
  only(doc, Object.keys(DEFAULT_SERVE_CONFIG), '');
  const c: ServeConfig = structuredClone(DEFAULT_SERVE_CONFIG);
  if (doc.host !== undefined) c.host = text(doc.host, 'host');
  if (doc.ports !== undefined) {
    if (!isObject(doc.ports)) throw new ConfigError('ports must be an object');
    only(doc.ports, ['gate', 'controlPlane', 'executionLayer'], 'ports.');
    for (const role of ['gate', 'controlPlane', 'executionLayer'] as const) {
      if (doc.ports[role] !== undefined) c.ports[role] = int(doc.ports[role], `ports.${role}`, 0, 65535);
    }
  }
  if (doc.dataDir !== undefined) c.dataDir = text(doc.dataDir, 'dataDir');
  for (const [field, min, max] of [
    ['acceptanceWindowSec', 1, 86_400],
    ['replayWindowSec', 1, 7 * 86_400],
    ['controlPlaneDeadlineMs', 1, 120_000],
    ['executionDeadlineMs', 1, 600_000],
    ['envelopeTtlSec', 1, 3600],
    ['maxBodyBytes', 256, 16 * 1024 * 1024],
  ] as const) {
    if (doc[field] !== undefined) c[field] = int(doc[field], field, min, max);
  }
  if (c.replayWindowSec < c.acceptanceWindowSec) throw new ConfigError('replayWindowSec must be at least acceptanceWindowSec');
  if (doc.policyFile !== undefined && doc.policyFile !== null) c.policyFile = resolve(baseDir, text(doc.policyFile, 'policyFile'));
  if (doc.identityKeysFile !== undefined && doc.identityKeysFile !== null) c.identityKeysFile = resolve(baseDir, text(doc.identityKeysFile, 'identityKeysFile'));
  if (doc.controlPlane !== undefined) {
    if (!isObject(doc.controlPlane)) throw new ConfigError('controlPlane must be an object');
    only(doc.controlPlane, ['url', 'trustedKeys'], 'controlPlane.');
    if (doc.controlPlane.url != null) c.controlPlane.url = url(doc.controlPlane.url, 'controlPlane.url');
    if (doc.controlPlane.trustedKeys != null) {
      if (!Array.isArray(doc.controlPlane.trustedKeys)) throw new ConfigError('controlPlane.trustedKeys must be an array');
      c.controlPlane.trustedKeys = doc.controlPlane.trustedKeys.map((k, i) => {
        const r = validateTrustedKey(k, `controlPlane.trustedKeys[${i}]`);
        if (!r.ok) throw new ConfigError(r.problems.map((p) => `${p.path} ${p.message}`).join('; '));
        return r.value;
      });
    }
    if (c.controlPlane.url && !c.controlPlane.trustedKeys?.length) throw new ConfigError('an external controlPlane.url needs controlPlane.trustedKeys');
  }
  if (doc.executionLayer !== undefined) {
    if (!isObject(doc.executionLayer)) throw new ConfigError('executionLayer must be an object');
    only(doc.executionLayer, ['url', 'via'], 'executionLayer.');
    if (doc.executionLayer.url != null) c.executionLayer.url = url(doc.executionLayer.url, 'executionLayer.url');
    if (doc.executionLayer.via != null) c.executionLayer.via = url(doc.executionLayer.via, 'executionLayer.via');
    if (c.executionLayer.url && c.executionLayer.via) throw new ConfigError('executionLayer takes a url (external) or a via (route to the embedded one), not both');
  }
  if (doc.store !== undefined) {
    if (!isObject(doc.store)) throw new ConfigError('store must be an object');
    only(doc.store, ['url', 'chain'], 'store.');
    if (doc.store.url != null) c.store.url = storeUrl(doc.store.url, 'store.url');
    if (doc.store.chain != null) {
      c.store.chain = text(doc.store.chain, 'store.chain');
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(c.store.chain)) throw new ConfigError('store.chain must be 1 to 64 letters, digits, ".", "_" or "-"');
    }
  }
  if (doc.identityKeys != null) {
    if (!Array.isArray(doc.identityKeys)) throw new ConfigError('identityKeys must be an array');
    c.identityKeys = doc.identityKeys.map((k, i) => {
      const r = validateIdentityKey(k, `identityKeys[${i}]`);
      if (!r.ok) throw new ConfigError(r.problems.map((p) => `${p.path} ${p.message}`).join('; '));
      return r.value;
    });
    if (c.identityKeysFile) throw new ConfigError('give identityKeys or identityKeysFile, not both');
  }
  if (doc.conformanceChannel !== undefined) {
    if (typeof doc.conformanceChannel !== 'boolean') throw new ConfigError('conformanceChannel must be true or false');
    c.conformanceChannel = doc.conformanceChannel;
  }
  if (doc.effects !== undefined) {
    if (!isObject(doc.effects)) throw new ConfigError('effects must be an object');
    only(doc.effects, ['file', 'url'], 'effects.');
    if (doc.effects.file != null) c.effects.file = resolve(baseDir, text(doc.effects.file, 'effects.file'));
    if (doc.effects.url != null) c.effects.url = url(doc.effects.url, 'effects.url');
    if (c.effects.file && c.effects.url) throw new ConfigError('effects takes a file or a url, not both');
  }
  if (doc.fsync !== undefined) {
    if (typeof doc.fsync !== 'boolean') throw new ConfigError('fsync must be true or false');
    c.fsync = doc.fsync;
  }
  if (doc.groupCommit !== undefined) {
    if (typeof doc.groupCommit !== 'boolean') throw new ConfigError('groupCommit must be true or false');
    c.groupCommit = doc.groupCommit;
  }
  if (doc.roleProcesses !== undefined) {
    if (!ROLE_PROCESSES.includes(doc.roleProcesses as RoleProcesses)) throw new ConfigError(`roleProcesses must be ${ROLE_PROCESSES.map((n) => `"${n}"`).join(', ')}`);
    c.roleProcesses = doc.roleProcesses as RoleProcesses;
  }
  if (c.roleProcesses !== 'one') {
    // The control channel restarts, resets, faults and skews the Execution Layer's stores and clock
    // inside the Gate's process; a database store is opened per process. Neither crosses over.
    if (c.conformanceChannel) throw new ConfigError(`roleProcesses "${c.roleProcesses}" cannot be combined with conformanceChannel (its restart, reset, faults and clock act inside one process)`);
    if (c.store.url) throw new ConfigError(`roleProcesses "${c.roleProcesses}" works with the file stores only, not store.url`);
  }
  c.dataDir = resolve(baseDir, c.dataDir);
  return c;
}

/**
 * The contract's environment variables (conformance/contract/CONTRACT.md), as a config document
 * overlaid on the file's. An empty variable counts as unset.
 */
export function configFromEnvironment(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const get = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const json = (name: string): unknown => {
    const text = get(name);
    if (text === undefined) return undefined;
    try {
      return parseStrictJson(text);
    } catch (error) {
      throw new ConfigError(`${name} is not strict JSON: ${(error as Error).message}`);
    }
  };
  const int = (name: string): number | undefined => {
    const text = get(name);
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text)) throw new ConfigError(`${name} must be a whole number, not "${text}"`);
    return Number(text);
  };
  const overlay: Record<string, unknown> = {};
  const ports: Record<string, number> = {};
  if (get('FAILCLOSED_LISTEN_HOST')) overlay.host = get('FAILCLOSED_LISTEN_HOST');
  if (int('FAILCLOSED_LISTEN_PORT') !== undefined) ports.gate = int('FAILCLOSED_LISTEN_PORT')!;
  if (int('FAILCLOSED_CONTROL_PLANE_LISTEN_PORT') !== undefined) ports.controlPlane = int('FAILCLOSED_CONTROL_PLANE_LISTEN_PORT')!;
  if (int('FAILCLOSED_EXECUTION_LAYER_LISTEN_PORT') !== undefined) ports.executionLayer = int('FAILCLOSED_EXECUTION_LAYER_LISTEN_PORT')!;
  if (Object.keys(ports).length > 0) overlay.ports = ports;
  if (get('FAILCLOSED_CONTROL_PLANE_URL')) overlay.controlPlane = { url: get('FAILCLOSED_CONTROL_PLANE_URL'), trustedKeys: json('FAILCLOSED_CONTROL_PLANE_KEYS') ?? null };
  // The Gate reaches its (embedded) Execution Layer at this URL — possibly a harness proxy — or,
  // for a replica of the reference, the primary's Execution Layer (FAILCLOSED_EXECUTION_LAYER_EXTERNAL=1).
  if (get('FAILCLOSED_EXECUTION_LAYER_URL')) {
    overlay.executionLayer = get('FAILCLOSED_EXECUTION_LAYER_EXTERNAL') === '1' ? { url: get('FAILCLOSED_EXECUTION_LAYER_URL') } : { via: get('FAILCLOSED_EXECUTION_LAYER_URL') };
  }
  // The reference's own settings (not part of the contract): replicas share their state through a
  // PostgreSQL database, each writing its own audit chain.
  const store: Record<string, string> = {};
  if (get('FAILCLOSED_STORE_URL')) store.url = get('FAILCLOSED_STORE_URL')!;
  if (get('FAILCLOSED_AUDIT_CHAIN')) store.chain = get('FAILCLOSED_AUDIT_CHAIN')!;
  if (Object.keys(store).length > 0) overlay.store = store;
  if (get('FAILCLOSED_EFFECT_SINK_URL')) overlay.effects = { url: get('FAILCLOSED_EFFECT_SINK_URL') };
  const identity = json('FAILCLOSED_IDENTITY_KEYS') as { keys?: unknown } | undefined;
  if (identity !== undefined) overlay.identityKeys = identity?.keys ?? identity;
  if (int('FAILCLOSED_ACCEPTANCE_WINDOW_SEC') !== undefined) {
    overlay.acceptanceWindowSec = int('FAILCLOSED_ACCEPTANCE_WINDOW_SEC');
    overlay.replayWindowSec = 2 * int('FAILCLOSED_ACCEPTANCE_WINDOW_SEC')!;
  }
  if (get('FAILCLOSED_DATA_DIR')) overlay.dataDir = get('FAILCLOSED_DATA_DIR');
  // Optional tuning (not part of the contract): a test harness shortens the Gate's deadlines.
  if (int('FAILCLOSED_CONTROL_PLANE_DEADLINE_MS') !== undefined) overlay.controlPlaneDeadlineMs = int('FAILCLOSED_CONTROL_PLANE_DEADLINE_MS');
  if (int('FAILCLOSED_EXECUTION_DEADLINE_MS') !== undefined) overlay.executionDeadlineMs = int('FAILCLOSED_EXECUTION_DEADLINE_MS');
  if (get('FAILCLOSED_FSYNC') !== undefined) overlay.fsync = get('FAILCLOSED_FSYNC') !== '0';
  if (get('FAILCLOSED_CONFORMANCE_CHANNEL') !== undefined) overlay.conformanceChannel = get('FAILCLOSED_CONFORMANCE_CHANNEL') === '1';
  return overlay;
}

/**
 * The contract's JSON form of its variables (FAILCLOSED_CONFIG_FILE, gate-config.schema.json): the
 * names without the prefix, in lower case, with JSON values — read as the variables they stand for.
 */
export function contractFileAsEnvironment(path: string): Record<string, string> {
  let doc: unknown;
  try {
    doc = parseStrictJson(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`cannot read FAILCLOSED_CONFIG_FILE ${path}: ${(error as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ConfigError(`FAILCLOSED_CONFIG_FILE ${path} must be a JSON object`);
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(doc)) {
    if (!/^[a-z_]+$/.test(key)) throw new ConfigError(`FAILCLOSED_CONFIG_FILE ${path}: "${key}" is not a setting name`);
    env[`FAILCLOSED_${key.toUpperCase()}`] = typeof value === 'string' ? value : typeof value === 'boolean' ? (value ? '1' : '0') : JSON.stringify(value);
  }
  return env;
}

/**
 * The reference's own config file (--config) with the contract's settings on top: those of
 * FAILCLOSED_CONFIG_FILE, then the environment's variables (which win).
 */
export function loadServeConfig(path: string | undefined, env: NodeJS.ProcessEnv = {}): ServeConfig {
  if (env.FAILCLOSED_CONFIG_FILE) env = { ...contractFileAsEnvironment(env.FAILCLOSED_CONFIG_FILE), ...env };
  const file = path;
  let doc: Record<string, unknown> = {};
  if (file !== undefined) {
    let source: string;
    try {
      source = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read the configuration ${file}: ${(error as Error).message}`);
    }
    // The file alone must be valid, so that its errors are reported against the file.
    parseServeConfig(source, resolve(file, '..'));
    doc = JSON.parse(source) as Record<string, unknown>;
  }
  const overlay = configFromEnvironment(env);
  const merged: Record<string, unknown> = { ...doc };
  for (const [key, value] of Object.entries(overlay)) {
    const base = merged[key];
    merged[key] = typeof value === 'object' && value !== null && !Array.isArray(value) && typeof base === 'object' && base !== null && !Array.isArray(base) ? { ...base, ...value } : value;
  }
  return parseServeConfig(JSON.stringify(merged), file === undefined ? process.cwd() : resolve(file, '..'));
}
