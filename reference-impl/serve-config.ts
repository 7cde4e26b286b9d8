/**
 * Configuration of `failclosed serve`: a JSON file, every field optional, safe defaults —
 * loopback only, default-deny policy, durable stores under one data directory.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseStrictJson } from '../model/profile/canonical-json.ts';
import type { TrustedKey } from '../model/profile/messages.ts';
import { validateTrustedKey } from '../model/profile/messages.ts';

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
  /** use an external Execution Layer instead of the embedded one */
  executionLayer: { url: string | null };
  /** where the embedded Execution Layer reports effects: a file (default <dataDir>/effects.ndjson) or a URL */
  effects: { file: string | null; url: string | null };
  /** fsync before acknowledging (turn off only for throwaway benchmarks) */
  fsync: boolean;
}

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
  executionLayer: { url: null },
  effects: { file: null, url: null },
  fsync: true,
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
    only(doc.executionLayer, ['url'], 'executionLayer.');
    if (doc.executionLayer.url != null) c.executionLayer.url = url(doc.executionLayer.url, 'executionLayer.url');
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
  c.dataDir = resolve(baseDir, c.dataDir);
  return c;
}

export function loadServeConfig(path: string | undefined): ServeConfig {
  if (path === undefined) return parseServeConfig('{}');
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read the configuration ${path}: ${(error as Error).message}`);
  }
  return parseServeConfig(source, resolve(path, '..'));
}
