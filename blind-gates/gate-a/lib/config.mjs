// Settings of CONTRACT.md §2 from FAILCLOSED_* variables and/or FAILCLOSED_CONFIG_FILE.
// Anything required that is missing or invalid is fatal: the gate refuses to start; there is no
// default key, no "allow all", no unauthenticated mode.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseStrict, isObject } from './strict-json.mjs';
import { canonicalize } from './canonical.mjs';
import { decodePublicKey } from './ed25519.mjs';
import { isKeyId, isName, isPublicKeyText } from './messages.mjs';

export class ConfigError extends Error {}

const MAX_DEADLINE_MS = 5000; // the contract caps both deadlines at 5 s
const SETTINGS = {
  listen_host: 'string',
  listen_port: 'port',
  control_plane_url: 'url',
  control_plane_keys: 'json',
  execution_layer_url: 'url',
  execution_layer_listen_port: 'port',
  effect_sink_url: 'url',
  identity_keys: 'json',
  acceptance_window_sec: 'int',
  conformance_channel: 'bool',
  data_dir: 'string',
  control_plane_deadline_ms: 'int',
  execution_deadline_ms: 'int',
};
const REQUIRED = ['listen_port', 'control_plane_url', 'control_plane_keys', 'effect_sink_url', 'identity_keys'];

/** Environment text -> JSON value of the file form. */
function fromEnv(name, kind, text) {
  switch (kind) {
    case 'string':
      if (!text) throw new ConfigError(`${name} is empty`);
      return text;
    case 'url':
      return text;
    case 'port':
    case 'int':
      if (!/^-?[0-9]{1,9}$/.test(text.trim())) throw new ConfigError(`${name} is not an integer`);
      return Number(text.trim());
    case 'bool':
      return text === '1'; // "1" enables; anything else disables
    case 'json':
      try {
        return parseStrict(Buffer.from(text, 'utf8'));
      } catch (e) {
        throw new ConfigError(`${name} is not strict JSON (${e.reason})`);
      }
    default:
      throw new Error(kind);
  }
}

export function loadConfig(env = process.env) {
  let file = {};
  if (env.FAILCLOSED_CONFIG_FILE) {
    try {
      file = parseStrict(readFileSync(env.FAILCLOSED_CONFIG_FILE));
    } catch (e) {
      throw new ConfigError(`FAILCLOSED_CONFIG_FILE: ${e.reason ?? e.message}`);
    }
    if (!isObject(file)) throw new ConfigError('FAILCLOSED_CONFIG_FILE is not a JSON object');
    const unknown = Object.keys(file).filter((k) => !(k in SETTINGS));
    if (unknown.length) throw new ConfigError(`FAILCLOSED_CONFIG_FILE: unknown setting ${unknown[0]}`);
  }
  const raw = {};
  for (const [key, kind] of Object.entries(SETTINGS)) {
    const name = `FAILCLOSED_${key.toUpperCase()}`;
    const fromE = env[name] !== undefined && env[name] !== '' ? fromEnv(name, kind, env[name]) : undefined;
    const fromF = file[key];
    if (fromE !== undefined && fromF !== undefined && canonicalize(fromE) !== canonicalize(fromF)) {
      throw new ConfigError(`${name} and the config file disagree`); // both forms must carry the same value
    }
    raw[key] = fromE !== undefined ? fromE : fromF;
  }
  for (const key of REQUIRED) {
    if (raw[key] === undefined) throw new ConfigError(`FAILCLOSED_${key.toUpperCase()} is required`);
  }
  return validate(raw);
}

function url(name, v) {
  if (typeof v !== 'string' || !/^https?:\/\/[^\s]+$/.test(v)) throw new ConfigError(`${name} is not an http(s) URL`);
  try {
    new URL(v);
  } catch {
    throw new ConfigError(`${name} is not a URL`);
  }
  return v.replace(/\/+$/, '');
}

function int(name, v, min, max) {
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new ConfigError(`${name} must be an integer in ${min}..${max}`);
  return v;
}

function trustedKeys(v) {
  if (!Array.isArray(v) || v.length < 1) throw new ConfigError('FAILCLOSED_CONTROL_PLANE_KEYS must be a non-empty array');
  const seen = new Set();
  return v.map((k, i) => {
    if (!isObject(k) || Object.keys(k).some((f) => f !== 'key_id' && f !== 'public_key')) throw new ConfigError(`CONTROL_PLANE_KEYS[${i}]: bad entry`);
    if (!isKeyId(k.key_id)) throw new ConfigError(`CONTROL_PLANE_KEYS[${i}]: bad key_id`);
    if (!isPublicKeyText(k.public_key) || !decodePublicKey(k.public_key)) throw new ConfigError(`CONTROL_PLANE_KEYS[${i}]: bad public_key`);
    if (seen.has(k.key_id)) throw new ConfigError(`CONTROL_PLANE_KEYS: key_id ${k.key_id} listed twice`);
    seen.add(k.key_id);
    return { key_id: k.key_id, public_key: k.public_key };
  });
}

function identityKeys(v) {
  if (!isObject(v) || !Array.isArray(v.keys) || Object.keys(v).some((f) => f !== 'keys')) {
    throw new ConfigError('FAILCLOSED_IDENTITY_KEYS must be {"keys":[...]}');
  }
  return v.keys.map((k, i) => {
    const ok = isObject(k) && Object.keys(k).every((f) => ['key_id', 'identity', 'public_key', 'state'].includes(f)) &&
      isKeyId(k.key_id) && isName(k.identity) && isPublicKeyText(k.public_key) && decodePublicKey(k.public_key) &&
      (k.state === 'active' || k.state === 'revoked');
    if (!ok) throw new ConfigError(`IDENTITY_KEYS.keys[${i}]: bad entry`);
    return { key_id: k.key_id, identity: k.identity, public_key: k.public_key, state: k.state };
  });
}

function validate(raw) {
  const host = raw.listen_host ?? '127.0.0.1';
  if (typeof host !== 'string' || !host) throw new ConfigError('FAILCLOSED_LISTEN_HOST is invalid');
  const dataDir = raw.data_dir ?? path.resolve('gate-data');
  if (typeof dataDir !== 'string' || !dataDir) throw new ConfigError('FAILCLOSED_DATA_DIR is invalid');
  return {
    listenHost: host,
    listenPort: int('FAILCLOSED_LISTEN_PORT', raw.listen_port, 1, 65535),
    controlPlaneUrl: url('FAILCLOSED_CONTROL_PLANE_URL', raw.control_plane_url),
    controlPlaneKeys: trustedKeys(raw.control_plane_keys),
    executionLayerUrl: raw.execution_layer_url === undefined ? null : url('FAILCLOSED_EXECUTION_LAYER_URL', raw.execution_layer_url),
    executionLayerListenPort: raw.execution_layer_listen_port === undefined ? 0
      : int('FAILCLOSED_EXECUTION_LAYER_LISTEN_PORT', raw.execution_layer_listen_port, 1, 65535),
    effectSinkUrl: url('FAILCLOSED_EFFECT_SINK_URL', raw.effect_sink_url),
    identityKeys: identityKeys(raw.identity_keys),
    acceptanceWindowSec: raw.acceptance_window_sec === undefined ? 300 : int('FAILCLOSED_ACCEPTANCE_WINDOW_SEC', raw.acceptance_window_sec, 1, 86400),
    conformanceChannel: raw.conformance_channel === true,
    dataDir: path.resolve(dataDir),
    controlPlaneDeadlineMs: Math.min(MAX_DEADLINE_MS, raw.control_plane_deadline_ms === undefined ? 2000
      : int('FAILCLOSED_CONTROL_PLANE_DEADLINE_MS', raw.control_plane_deadline_ms, 1, 120000)),
    executionDeadlineMs: Math.min(MAX_DEADLINE_MS, raw.execution_deadline_ms === undefined ? 5000
      : int('FAILCLOSED_EXECUTION_DEADLINE_MS', raw.execution_deadline_ms, 1, 600000)),
  };
}
