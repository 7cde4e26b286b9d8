// Settings of failclosed-contract/1 section 2, from FAILCLOSED_* variables and/or the JSON file
// named by FAILCLOSED_CONFIG_FILE. Anything missing or invalid refuses to start: there is no
// default key, no allow-all policy and no unauthenticated mode.
import { readFileSync } from 'node:fs';
import { parseStrict } from './profile/strict-json.js';
import { validate, describeErrors } from './profile/schemas.js';
import { publicKeyFromRaw } from './profile/crypto.js';

export class ConfigError extends Error {}

const INT_SETTINGS = new Set([
  'listen_port', 'execution_layer_listen_port', 'acceptance_window_sec',
  'control_plane_deadline_ms', 'execution_deadline_ms',
]);
const JSON_SETTINGS = new Set(['control_plane_keys', 'identity_keys']);
const SETTINGS = [
  'listen_host', 'listen_port', 'control_plane_url', 'control_plane_keys', 'execution_layer_url',
  'execution_layer_listen_port', 'effect_sink_url', 'identity_keys', 'acceptance_window_sec',
  'conformance_channel', 'data_dir', 'control_plane_deadline_ms', 'execution_deadline_ms',
];

// The contract caps both deadlines at 5 s; the defaults are the reference's (2 s and 5 s).
const MAX_DEADLINE_MS = 5000;

function fromEnv(env) {
  const out = {};
  for (const name of SETTINGS) {
    const raw = env[`FAILCLOSED_${name.toUpperCase()}`];
    if (raw === undefined || raw === '') continue;
    if (INT_SETTINGS.has(name)) {
      if (!/^[0-9]{1,9}$/.test(raw.trim())) throw new ConfigError(`FAILCLOSED_${name.toUpperCase()} must be a decimal integer`);
      out[name] = Number(raw.trim());
    } else if (JSON_SETTINGS.has(name)) {
      try {
        out[name] = parseStrict(raw);
      } catch (err) {
        throw new ConfigError(`FAILCLOSED_${name.toUpperCase()} is not strict JSON: ${err.message}`);
      }
    } else if (name === 'conformance_channel') {
      out[name] = raw === '1';
    } else {
      out[name] = raw;
    }
  }
  return out;
}

function canonicalSetting(v) {
  return JSON.stringify(v);
}

export function loadConfig(env = process.env) {
  const fromVars = fromEnv(env);
  let settings = fromVars;
  if (env.FAILCLOSED_CONFIG_FILE) {
    let fromFile;
    try {
      fromFile = parseStrict(readFileSync(env.FAILCLOSED_CONFIG_FILE));
    } catch (err) {
      throw new ConfigError(`FAILCLOSED_CONFIG_FILE ${env.FAILCLOSED_CONFIG_FILE}: ${err.message}`);
    }
    const v = validate('gate-config', fromFile);
    if (!v.ok) throw new ConfigError(`FAILCLOSED_CONFIG_FILE: ${describeErrors(v.errors)}`);
    // Both forms given: they must agree; a disagreement is a misconfiguration, not a merge.
    for (const [k, val] of Object.entries(fromVars)) {
      if (k in fromFile && canonicalSetting(fromFile[k]) !== canonicalSetting(val)) {
        throw new ConfigError(`FAILCLOSED_${k.toUpperCase()} and the config file's ${k} disagree`);
      }
    }
    settings = { ...fromFile, ...fromVars };
  }
  const plain = JSON.parse(JSON.stringify(settings));
  const v = validate('gate-config', plain);
  if (!v.ok) throw new ConfigError(`invalid settings: ${describeErrors(v.errors)}`);

  // Trusted Control Plane keys: exactly these, unique key ids.
  const trustedKeys = new Map();
  for (const k of plain.control_plane_keys) {
    if (trustedKeys.has(k.key_id)) throw new ConfigError(`FAILCLOSED_CONTROL_PLANE_KEYS lists ${k.key_id} twice`);
    trustedKeys.set(k.key_id, publicKeyFromRaw(k.public_key));
  }

  // Identity registry: key_id -> { identity, state, key }. A key id listed for two identities
  // authenticates neither (it is kept out of the registry, so its requests are KEY_UNKNOWN).
  const registry = new Map();
  const ambiguous = new Set();
  for (const k of plain.identity_keys.keys) {
    const prior = registry.get(k.key_id);
    if (prior && (prior.identity !== k.identity || prior.publicKeyB64 !== k.public_key || prior.state !== k.state)) {
      ambiguous.add(k.key_id);
    }
    registry.set(k.key_id, { identity: k.identity, state: k.state, publicKeyB64: k.public_key, key: publicKeyFromRaw(k.public_key) });
  }
  for (const id of ambiguous) registry.delete(id);

  if (!plain.data_dir) {
    throw new ConfigError('FAILCLOSED_DATA_DIR is required by this gate: nonces, approvals and the audit log must survive restarts');
  }

  const clampDeadline = (ms, dflt) => Math.min(ms ?? dflt, MAX_DEADLINE_MS);
  return {
    listenHost: plain.listen_host ?? '127.0.0.1',
    listenPort: plain.listen_port,
    controlPlaneUrl: plain.control_plane_url.replace(/\/+$/, ''),
    executionLayerUrl: plain.execution_layer_url?.replace(/\/+$/, ''),
    executionLayerListenPort: plain.execution_layer_listen_port,
    effectSinkUrl: plain.effect_sink_url.replace(/\/+$/, ''),
    trustedKeys,
    registry,
    windowSec: plain.acceptance_window_sec ?? 300,
    conformanceChannelRequested: plain.conformance_channel === true,
    dataDir: plain.data_dir,
    controlPlaneDeadlineMs: clampDeadline(plain.control_plane_deadline_ms, 2000),
    executionDeadlineMs: clampDeadline(plain.execution_deadline_ms, 5000),
  };
}
