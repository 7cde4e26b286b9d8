// A fail-closed AI execution gate (failclosed-contract/2, level core): Gate + Execution Layer, one process.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import {
  strictParse, canonicalize, sha256, digestValue, isObject, RE, isStr, isUnixTime, publicKeyFromB64,
  checkEnvelope, EMPTY_HASH, MAX_BYTES,
} from './lib.mjs';

const DEFECT = process.env.GATE_DEFECT || '';
const die = (m) => { console.error('gate: refusing to start: ' + m); process.exit(1); };

// ---------------------------------------------------------------- configuration (section 2)
function loadConfig() {
  let file = {};
  if (process.env.FAILCLOSED_CONFIG_FILE) {
    try { file = strictParse(fs.readFileSync(process.env.FAILCLOSED_CONFIG_FILE)); } catch (e) { die('config file: ' + e.message); }
    if (!isObject(file)) die('config file is not an object');
  }
  const get = (name, json) => {
    const env = process.env['FAILCLOSED_' + name.toUpperCase()];
    if (env !== undefined && env !== '') {
      if (!json) return env;
      try { return strictParse(Buffer.from(env, 'utf8')); } catch (e) { die(`FAILCLOSED_${name.toUpperCase()}: not JSON`); }
    }
    return file[name];
  };
  const port = (v, n, req) => {
    if (v === undefined) { if (req) die(n + ' missing'); return undefined; }
    const p = typeof v === 'number' ? v : (/^[0-9]+$/.test(String(v)) ? Number(v) : NaN);
    if (!Number.isInteger(p) || p < 1 || p > 65535) die(n + ' invalid');
    return p;
  };
  const url = (v, n, req) => {
    if (v === undefined) { if (req) die(n + ' missing'); return undefined; }
    if (typeof v !== 'string' || !/^https?:\/\/[^\s]+$/.test(v)) die(n + ' invalid');
    try { new URL(v); } catch { die(n + ' invalid'); }
    return v.replace(/\/+$/, '');
  };
  const intIn = (v, n, lo, hi, dflt) => {
    if (v === undefined) return dflt;
    const x = typeof v === 'number' ? v : (/^[0-9]+$/.test(String(v)) ? Number(v) : NaN);
    if (!Number.isInteger(x) || x < lo || x > hi) die(n + ' invalid');
    return x;
  };
  const cfg = {};
  cfg.listenHost = get('listen_host') ?? '127.0.0.1';
  if (typeof cfg.listenHost !== 'string' || !cfg.listenHost) die('LISTEN_HOST invalid');
  cfg.listenPort = port(get('listen_port'), 'LISTEN_PORT', true);
  cfg.elListenPort = port(get('execution_layer_listen_port'), 'EXECUTION_LAYER_LISTEN_PORT', false);
  cfg.controlPlaneUrl = url(get('control_plane_url'), 'CONTROL_PLANE_URL', true);
  cfg.executionLayerUrl = url(get('execution_layer_url'), 'EXECUTION_LAYER_URL', false);
  cfg.effectSinkUrl = url(get('effect_sink_url'), 'EFFECT_SINK_URL', true);
  const cpKeys = get('control_plane_keys', true);
  if (cpKeys === undefined) die('CONTROL_PLANE_KEYS missing');
  if (!Array.isArray(cpKeys) || cpKeys.length < 1) die('CONTROL_PLANE_KEYS must be a non-empty array');
  cfg.trusted = new Map();
  for (const k of cpKeys) {
    if (!isObject(k) || Object.keys(k).length !== 2 || !isStr(k.key_id, RE.keyId) || !isStr(k.public_key, RE.publicKey)) die('CONTROL_PLANE_KEYS entry invalid');
    if (cfg.trusted.has(k.key_id)) die('CONTROL_PLANE_KEYS duplicate key_id');
    try { cfg.trusted.set(k.key_id, publicKeyFromB64(k.public_key)); } catch { die('CONTROL_PLANE_KEYS bad public key'); }
  }
  const idk = get('identity_keys', true);
  if (idk === undefined) die('IDENTITY_KEYS missing');
  if (!isObject(idk) || Object.keys(idk).length !== 1 || !Array.isArray(idk.keys)) die('IDENTITY_KEYS invalid');
  const byId = new Map();
  for (const k of idk.keys) {
    if (!isObject(k) || Object.keys(k).length !== 4 || !isStr(k.key_id, RE.keyId) || !isStr(k.identity, RE.name)
      || !isStr(k.public_key, RE.publicKey) || (k.state !== 'active' && k.state !== 'revoked')) die('IDENTITY_KEYS entry invalid');
    let ko; try { ko = publicKeyFromB64(k.public_key); } catch { die('IDENTITY_KEYS bad public key'); }
    if (!byId.has(k.key_id)) byId.set(k.key_id, []);
    byId.get(k.key_id).push({ identity: k.identity, key: ko, state: k.state });
  }
  cfg.identityKeys = byId;
  cfg.windowSec = intIn(get('acceptance_window_sec'), 'ACCEPTANCE_WINDOW_SEC', 1, 86400, 300);
  cfg.cpDeadlineMs = Math.min(intIn(get('control_plane_deadline_ms'), 'CONTROL_PLANE_DEADLINE_MS', 1, 120000, 2000), 5000);
  cfg.execDeadlineMs = Math.min(intIn(get('execution_deadline_ms'), 'EXECUTION_DEADLINE_MS', 1, 600000, 5000), 5000);
  cfg.dataDir = get('data_dir');
  if (cfg.dataDir === undefined) cfg.dataDir = path.join(process.cwd(), 'data');
  if (typeof cfg.dataDir !== 'string' || !cfg.dataDir) die('DATA_DIR invalid');
  // This production build has no conformance control channel, whatever FAILCLOSED_CONFORMANCE_CHANNEL says.
  return cfg;
}
const cfg = loadConfig();
fs.mkdirSync(cfg.dataDir, { recursive: true });

// ---------------------------------------------------------------- clock (section 3, Reading the clock)
const nowMs = () => Date.now();
const nowSec = () => DEFECT === 'ts-round' ? Math.round(nowMs() / 1000) : Math.floor(nowMs() / 1000);

// ---------------------------------------------------------------- durable stores
// Append-only JSON-lines file, every append fsync'ed before it is acknowledged.
class DurableLog {
  constructor(file) {
    this.file = file;
    this.entries = [];
    let text = '';
    try { text = fs.readFileSync(file, 'utf8'); } catch (e) { if (e.code !== 'ENOENT') throw e; }
    let goodLen = 0;
    for (const line of text.split('\n')) {
      if (line === '') { continue; }
      let v; try { v = JSON.parse(line); } catch { break; } // a torn last line from a crash
      this.entries.push(v);
      goodLen += Buffer.byteLength(line) + 1;
    }
    this.fd = fs.openSync(file, 'a+');
    if (goodLen !== Buffer.byteLength(text)) { fs.ftruncateSync(this.fd, goodLen); fs.fsyncSync(this.fd); }
    this.pending = [];
  }
  appendSync(v) {
    fs.writeSync(this.fd, JSON.stringify(v) + '\n');
    fs.fsyncSync(this.fd);
    this.entries.push(v);
  }
}

// Single-use store: (key) -> horizon in seconds. Durable before acknowledged.
class ClaimStore {
  constructor(file) {
    this.log = new DurableLog(file);
    this.map = new Map();
    const t = nowSec();
    for (const e of this.log.entries) if (e.h > t) this.map.set(e.k, e.h); // forgets only past the horizon
    this.log.entries = [];
    this.flushTimer = null;
  }
  // Atomic (single-threaded, synchronous): returns true when newly claimed.
  claim(key, horizon) {
    const h = this.map.get(key);
    if (h !== undefined && h > nowSec()) return false;
    this.map.set(key, horizon);
    if (DEFECT === 'async-nonce' && this === nonces) {
      // "performance": batch claims to disk every 2 s
      this.log.pending.push({ k: key, h: horizon });
      if (!this.flushTimer) this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        const p = this.log.pending; this.log.pending = [];
        for (const e of p) this.log.appendSync(e);
        this.log.entries = [];
      }, 2000);
      return true;
    }
    this.log.appendSync({ k: key, h: horizon });
    this.log.entries = [];
    return true;
  }
}

const nonces = new ClaimStore(path.join(cfg.dataDir, 'nonces.jsonl'));
const approvals = new ClaimStore(path.join(cfg.dataDir, 'approvals.jsonl'));

// Audit log: hash chain, verified on start.
const GENESIS = 'sha256:' + '0'.repeat(64);
const audit = new DurableLog(path.join(cfg.dataDir, 'audit.jsonl'));
{
  let prev = GENESIS; const ids = new Set();
  for (const r of audit.entries) {
    const { record_hash, ...rest } = r;
    if (r.prev_hash !== prev || sha256(canonicalize(rest)) !== record_hash || ids.has(r.record_id)) die('audit chain broken in ' + audit.file);
    ids.add(r.record_id); prev = record_hash;
  }
}
let auditSeq = audit.entries.length;
const bootId = crypto.randomBytes(4).toString('hex');
function appendAudit(fields) {
  const prev = audit.entries.length ? audit.entries[audit.entries.length - 1].record_hash : GENESIS;
  const rec = { record_id: `rec-${auditSeq}-${bootId}`, timestamp_ms: nowMs(), ...fields, prev_hash: prev };
  for (const k of Object.keys(rec)) if (rec[k] === undefined) delete rec[k];
  rec.record_hash = sha256(canonicalize(rec));
  audit.appendSync(rec);
  auditSeq++;
  return rec;
}
function auditLater(fields) {
  if (DEFECT === 'async-audit') { setTimeout(() => appendAudit(fields), 50); return; }
  appendAudit(fields);
}

const events = [];
const event = (request_id, trace_id, ev, code) => events.push({ request_id, trace_id, event: ev, timestamp_ms: nowMs(), ...(code ? { code } : {}) });

// ---------------------------------------------------------------- helpers
const newTrace = () => 'trace-' + crypto.randomUUID();
function send(res, status, obj, ctype = 'application/json') {
  if (res.writableEnded || res.destroyed) return;
  const body = typeof obj === 'string' ? obj : JSON.stringify(obj);
  res.writeHead(status, { 'content-type': ctype, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

// Read a body; hashes every byte, keeps up to maxKeep bytes. cb(err|null, {buf, hash, size, over})
function readBody(req, maxKeep, onDone, onAbort) {
  const h = crypto.createHash('sha256');
  const chunks = []; let size = 0; let kept = 0; let done = false;
  req.on('data', (c) => {
    h.update(c); size += c.length;
    if (kept <= maxKeep) { chunks.push(c); kept += c.length; }
  });
  req.on('end', () => { if (done) return; done = true; onDone({ buf: Buffer.concat(chunks), hash: 'sha256:' + h.digest('hex'), size, over: size > maxKeep }); });
  const abort = () => { if (done) return; done = true; onAbort({ hash: 'sha256:' + h.digest('hex'), size }); };
  req.on('aborted', abort);
  req.on('close', () => { if (!req.complete) abort(); });
  req.on('error', abort);
}

// HTTP POST JSON with a hard deadline; the exchange is ended at the deadline.
// Resolves {kind:'response', status, body:Buffer} | {kind:'refused'} | {kind:'error'} | {kind:'timeout'}
function postJson(urlStr, obj, deadlineMs, onLate) {
  return new Promise((resolve) => {
    const u = new URL(urlStr);
    const body = Buffer.from(canonicalize(obj), 'utf8');
    let settled = false; let connected = false;
    const finish = (r) => { if (settled) { if (onLate && r.kind === 'response') onLate(r); return; } settled = true; clearTimeout(timer); resolve(r); };
    const req = http.request({
      host: u.hostname, port: u.port || 80, path: u.pathname + u.search, method: 'POST', agent: false,
      headers: { 'content-type': 'application/json', 'content-length': body.length, connection: 'close' },
    }, (res) => {
      const chunks = []; let size = 0;
      res.on('data', (c) => { size += c.length; if (size > MAX_BYTES + 1) { req.destroy(); finish({ kind: 'response', status: res.statusCode, body: null }); } else chunks.push(c); });
      res.on('end', () => finish({ kind: 'response', status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on('error', () => finish({ kind: 'error' }));
      res.on('aborted', () => finish({ kind: 'error' }));
    });
    const timer = setTimeout(() => {
      finish({ kind: 'timeout' });
      if (!onLate) req.destroy();
    }, deadlineMs);
    req.on('socket', (s) => s.on('connect', () => { connected = true; }));
    req.on('error', (e) => finish(!connected && (e.code === 'ECONNREFUSED' || e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH' || e.code === 'ENOTFOUND') ? { kind: 'refused' } : { kind: 'error' }));
    req.end(body);
  });
}

// ---------------------------------------------------------------- request validation (section 3 stage 1)
const REQ_FIELDS = ['request_id', 'identity', 'action', 'parameters', 'timestamp', 'nonce', 'key_id', 'signature'];
function checkStructure(v) {
  if (!isObject(v)) return { code: 'REQUEST_MALFORMED' };
  const ks = Object.keys(v);
  if (ks.length !== REQ_FIELDS.length || !REQ_FIELDS.every((k) => Object.hasOwn(v, k))) return { code: 'REQUEST_MALFORMED' };
  if (!isStr(v.request_id, RE.id) || !isStr(v.identity, RE.name) || !isStr(v.action, RE.name) || !isUnixTime(v.timestamp)
    || !isStr(v.key_id, RE.keyId) || !isStr(v.signature, RE.signature) || typeof v.nonce !== 'string') return { code: 'REQUEST_MALFORMED' };
  if (!RE.nonce.test(v.nonce)) return { code: 'NONCE_MALFORMED' };
  return null;
}

function authenticate(r, headers) {
  if (DEFECT === 'trust-header' && headers['x-gate-verified'] === '1') return null; // "already verified by the edge gateway"
  const entries = cfg.identityKeys.get(r.key_id);
  if (!entries) return 'KEY_UNKNOWN';
  const idents = new Set(entries.map((e) => e.identity));
  if (idents.size !== 1 || !idents.has(r.identity)) return 'KEY_UNKNOWN';
  if (entries.some((e) => e.state !== 'active')) return 'KEY_REVOKED';
  if (entries.length !== 1) return 'KEY_UNKNOWN';
  let ok;
  {
    const copy = Object.create(null);
    for (const k of Object.keys(r)) if (k !== 'signature') copy[k] = r[k];
    const sig = Buffer.from(r.signature, 'base64url');
    try { ok = sig.length === 64 && crypto.verify(null, Buffer.from(canonicalize(copy), 'utf8'), entries[0].key, sig); } catch { ok = false; }
  }
  if (!ok) return 'SIGNATURE_INVALID';
  const now = nowSec(); const w = cfg.windowSec;
  if (r.timestamp < now - w) return 'TIMESTAMP_STALE';
  if (r.timestamp > now + w) return 'TIMESTAMP_FUTURE';
  return null;
}

function paramsDigest(params, rawParamsText) {
  if (DEFECT === 'stringify-digest') return sha256(JSON.stringify(params));
  return digestValue(params);
}

// ---------------------------------------------------------------- the Gate
const resultCache = new Map(); // used only by the idempotency-cache defect

async function handleRequest(req, res) {
  const trace_id = newTrace();
  readBody(req, MAX_BYTES, async (body) => {
    try { await decide(req, res, trace_id, body); } catch (e) {
      console.error('gate: internal error', e);
      try { appendAudit({ identity: 'unknown', decision: 'deny', stage: 'final', request_hash: body.hash, trace_id, data_hash: EMPTY_HASH, code: 'REQUEST_MALFORMED' }); } catch {}
      send(res, 403, { status: 'denied', code: 'REQUEST_MALFORMED', trace_id });
    }
  }, (ab) => {
    // aborted upload: audited even though no one is left to answer
    try { appendAudit({ identity: 'unknown', decision: 'deny', stage: 'final', request_hash: ab.hash, trace_id, data_hash: EMPTY_HASH, code: 'REQUEST_MALFORMED' }); } catch (e) { console.error('gate: audit failed', e); }
  });
}

async function decide(req, res, trace_id, body) {
  const request_hash = body.hash;
  const deny = (code, extra = {}) => {
    const { identity = 'unknown', data_hash = EMPTY_HASH, request_id, action, approval_id, outcome } = extra;
    auditLater({ identity, decision: 'deny', stage: 'final', request_hash, trace_id, data_hash, request_id, action, code, approval_id, outcome });
    if (request_id !== undefined) event(request_id, trace_id, 'failed', code);
    send(res, 403, { status: 'denied', code, trace_id, ...(request_id !== undefined ? { request_id } : {}) });
  };
  // 1. structure
  if (body.over) return deny('REQUEST_MALFORMED');
  let r;
  try { r = strictParse(body.buf); } catch { return deny('REQUEST_MALFORMED'); }
  const sc = checkStructure(r);
  if (sc && sc.code === 'REQUEST_MALFORMED') return deny('REQUEST_MALFORMED');
  const data_hash = paramsDigest(r.parameters);
  const attr = { identity: r.identity, data_hash, request_id: r.request_id, action: r.action };
  event(r.request_id, trace_id, 'accepted');
  if (sc) return deny(sc.code, attr);

  if (DEFECT === 'idempotency-cache' && resultCache.has(r.request_id)) {
    // "idempotent retries": the same request_id gets the earlier answer
    const cached = resultCache.get(r.request_id);
    auditLater({ ...attr, decision: 'allow', stage: 'final', request_hash, trace_id, approval_id: cached.approval_id, outcome: 'executed' });
    event(r.request_id, trace_id, 'completed');
    return send(res, 200, { status: 'executed', trace_id, request_id: r.request_id, effect_id: cached.effect_id });
  }

  // 2. authentication
  const ac = authenticate(r, req.headers);
  if (ac) return deny(ac, attr);
  // 3. replay: claim durably before anything else happens
  let horizon = Math.max(r.timestamp, nowSec()) + 2 * cfg.windowSec + 1;
  if (DEFECT === 'nonce-ttl-60') horizon = nowSec() + 60; // "a 60 s TTL is plenty, replays come fast"
  let claimed;
  try { claimed = nonces.claim(canonicalize([r.identity, r.action, r.nonce]), horizon); } catch (e) {
    console.error('gate: nonce store', e); return deny('NONCE_WRITE_UNCONFIRMED', attr);
  }
  if (!claimed) return deny('REPLAY_DETECTED', attr);
  // 4. policy
  const question = { request_id: r.request_id, identity: r.identity, action: r.action, parameters: r.parameters, parameters_digest: data_hash };
  const a = await askControlPlane(question, (env) => {
    // "don't lose approvals that arrive a little late": finish the work in the background
    if (checkEnvelope(env, { request_id: r.request_id, identity: r.identity, action: r.action, parameters_digest: data_hash }, cfg.trusted, nowSec())) return;
    callExecutionLayer({ envelope: env, request_id: r.request_id, identity: r.identity, action: r.action, parameters: r.parameters }).catch(() => {});
  });
  if (a.code) return deny(a.code, attr);
  const env = a.envelope;
  // 5. envelope
  const ec = checkEnvelope(env, { request_id: r.request_id, identity: r.identity, action: r.action, parameters_digest: data_hash }, cfg.trusted, nowSec());
  if (ec) return deny(ec, attr);
  // 6. audit intent, durably, before dispatch
  try { appendAudit({ ...attr, decision: 'allow', stage: 'intent', request_hash, trace_id, approval_id: env.approval_id }); } catch (e) {
    console.error('gate: audit', e); return deny('AUDIT_UNAVAILABLE', { ...attr, approval_id: env.approval_id });
  }
  // 7. dispatch, once
  const call = { envelope: env, request_id: r.request_id, identity: r.identity, action: r.action, parameters: r.parameters };
  const x = await callExecutionLayer(call);
  const withApr = { ...attr, approval_id: env.approval_id };
  if (x.executed) {
    auditLater({ ...withApr, decision: 'allow', stage: 'final', request_hash, trace_id, outcome: 'executed' });
    event(r.request_id, trace_id, 'completed');
    if (DEFECT === 'idempotency-cache') resultCache.set(r.request_id, { effect_id: x.effect_id, approval_id: env.approval_id });
    return send(res, 200, { status: 'executed', trace_id, request_id: r.request_id, effect_id: x.effect_id });
  }
  return deny(x.code, { ...withApr, outcome: x.code === 'EXECUTION_UNCONFIRMED' ? 'unknown' : 'failed' });
}

function mapCpAnswer(out) {
  if (out.kind === 'refused') return { code: 'CONTROL_PLANE_UNAVAILABLE' };
  if (out.kind === 'timeout' || out.kind === 'error') return { code: 'CONTROL_PLANE_TIMEOUT' };
  if (out.status >= 500 && out.status <= 599) return { code: 'CONTROL_PLANE_UNAVAILABLE' };
  if (out.status !== 200 || out.body === null) return { code: 'CONTROL_PLANE_MALFORMED' };
  let v; try { v = strictParse(out.body); } catch { return { code: 'CONTROL_PLANE_MALFORMED' }; }
  if (!isObject(v) || (v.decision !== 'allow' && v.decision !== 'deny')) return { code: 'CONTROL_PLANE_MALFORMED' };
  if (v.decision === 'deny') return { code: 'POLICY_DENIED' };
  if (!Object.hasOwn(v, 'envelope') || v.envelope === null) return { code: 'ENVELOPE_MISSING' };
  return { envelope: v.envelope };
}
async function askControlPlane(question, onLateAllow) {
  let onLate;
  if (DEFECT === 'late-allow') onLate = (out) => { const a = mapCpAnswer(out); if (a.envelope) onLateAllow(a.envelope); };
  return mapCpAnswer(await postJson(cfg.controlPlaneUrl + '/v1/decide', question, cfg.cpDeadlineMs, onLate));
}

const elBase = () => cfg.executionLayerUrl ?? `http://${cfg.listenHost.includes(':') ? '[' + cfg.listenHost + ']' : cfg.listenHost}:${elPort}`;
const CODES = new Set(['REQUEST_MALFORMED', 'NONCE_MALFORMED', 'KEY_UNKNOWN', 'KEY_REVOKED', 'SIGNATURE_INVALID', 'TIMESTAMP_STALE', 'TIMESTAMP_FUTURE', 'REPLAY_DETECTED', 'NONCE_STORE_UNAVAILABLE', 'NONCE_WRITE_UNCONFIRMED', 'CONTROL_PLANE_UNAVAILABLE', 'CONTROL_PLANE_TIMEOUT', 'CONTROL_PLANE_MALFORMED', 'POLICY_DENIED', 'ENVELOPE_MISSING', 'ENVELOPE_SIGNATURE_INVALID', 'ENVELOPE_EXPIRED', 'ENVELOPE_NOT_YET_VALID', 'ENVELOPE_BINDING_MISMATCH', 'ENVELOPE_REPLAYED', 'AUDIT_UNAVAILABLE', 'EXECUTION_UNAVAILABLE', 'EXECUTION_UNCONFIRMED']);

async function callExecutionLayer(call) {
  let out = await postJson(elBase() + '/v1/execute', call, cfg.execDeadlineMs);
  if (DEFECT === 'exec-retry' && (out.kind === 'error' || out.kind === 'timeout')) {
    // "transient network error": try once more
    out = await postJson(elBase() + '/v1/execute', call, cfg.execDeadlineMs);
  }
  if (out.kind === 'refused') return { code: 'EXECUTION_UNAVAILABLE' };
  if (out.kind !== 'response' || out.body === null) return { code: 'EXECUTION_UNCONFIRMED' };
  let v; try { v = strictParse(out.body); } catch { return { code: 'EXECUTION_UNCONFIRMED' }; }
  if (!isObject(v)) return { code: 'EXECUTION_UNCONFIRMED' };
  if (out.status === 200 && v.status === 'executed' && isStr(v.effect_id, RE.id) && isStr(v.approval_id, RE.id)
    && v.approval_id === call.envelope.approval_id) return { executed: true, effect_id: v.effect_id };
  if (out.status === 403 && v.status === 'denied' && CODES.has(v.code) && v.code !== 'EXECUTION_UNCONFIRMED') return { code: v.code };
  return { code: 'EXECUTION_UNCONFIRMED' };
}

// ---------------------------------------------------------------- the Execution Layer (section 5)
function handleExecute(req, res) {
  readBody(req, MAX_BYTES, async (body) => {
    const deny = (code) => send(res, 403, { status: 'denied', code });
    try {
      if (body.over) return deny('REQUEST_MALFORMED');
      let c; try { c = strictParse(body.buf); } catch { return deny('REQUEST_MALFORMED'); }
      if (!isObject(c)) return deny('REQUEST_MALFORMED');
      if (!Object.hasOwn(c, 'envelope') || c.envelope === null) return deny('ENVELOPE_MISSING');
      const allowed = new Set(['envelope', 'request_id', 'identity', 'action', 'parameters']);
      if (Object.keys(c).some((k) => !allowed.has(k)) || !Object.hasOwn(c, 'parameters')
        || !isStr(c.request_id, RE.id) || !isStr(c.identity, RE.name) || !isStr(c.action, RE.name)) return deny('REQUEST_MALFORMED');
      const digest = digestValue(c.parameters);
      const ec = checkEnvelope(c.envelope, { request_id: c.request_id, identity: c.identity, action: c.action, parameters_digest: digest }, cfg.trusted, nowSec());
      if (ec) return deny(ec);
      const env = c.envelope;
      const horizon = Math.max(env.expires_at, nowSec()) + 2 * cfg.windowSec + 1;
      let fresh;
      try { fresh = approvals.claim(env.approval_id, horizon); } catch (e) { console.error('el: approval store', e); return send(res, 503, 'approval store unavailable', 'text/plain'); }
      if (!fresh) return deny('ENVELOPE_REPLAYED');
      const effect_id = 'effect-' + crypto.randomUUID();
      const effect = { effect_id, at: nowMs(), approval_id: env.approval_id, request_id: c.request_id, identity: c.identity, action: c.action, parameters: c.parameters };
      const out = await postJson(cfg.effectSinkUrl + '/v1/effects', effect, 10000);
      if (out.kind !== 'response' || out.status < 200 || out.status > 299) {
        console.error('el: effect sink did not acknowledge', out.kind, out.status);
        return send(res, 502, 'effect not acknowledged', 'text/plain');
      }
      send(res, 200, { status: 'executed', effect_id, approval_id: env.approval_id });
    } catch (e) {
      console.error('el: internal error', e);
      send(res, 500, 'internal error', 'text/plain');
    }
  }, () => {});
}

// ---------------------------------------------------------------- servers
const gate = http.createServer({ requestTimeout: 0, headersTimeout: 30000 }, (req, res) => {
  const u = new URL(req.url, 'http://x');
  if (req.method === 'POST' && u.pathname === '/v1/requests') return handleRequest(req, res);
  req.resume();
  if (req.method === 'GET' && u.pathname === '/healthz') return send(res, 200, { status: 'ok', role: 'gate' });
  if (req.method === 'GET' && u.pathname === '/v1/audit') {
    const recs = audit.entries;
    if (u.searchParams.get('format') === 'ndjson') return send(res, 200, recs.map((r) => JSON.stringify(r) + '\n').join(''), 'application/x-ndjson');
    return send(res, 200, recs);
  }
  if (req.method === 'GET' && u.pathname === '/v1/events') return send(res, 200, events);
  send(res, 404, { error: 'not found' });
});
gate.maxConnections = 1024;
const el = http.createServer({ requestTimeout: 0 }, (req, res) => {
  const u = new URL(req.url, 'http://x');
  if (req.method === 'POST' && u.pathname === '/v1/execute') return handleExecute(req, res);
  req.resume();
  if (req.method === 'GET' && u.pathname === '/healthz') return send(res, 200, { status: 'ok', role: 'execution-layer' });
  send(res, 404, { error: 'not found' });
});

let elPort;
const listen = (srv, port) => new Promise((ok, ko) => { srv.once('error', ko); srv.listen(port, cfg.listenHost, () => ok(srv.address().port)); });
try {
  elPort = await listen(el, cfg.elListenPort ?? 0);
  await listen(gate, cfg.listenPort);
} catch (e) { die('listen: ' + e.message); }
console.log('ready');
