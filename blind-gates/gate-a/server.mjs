// Gate A — a fail-closed AI execution gate implementing failclosed-contract/1.
// One process: the Gate (client ingress, audit export, health, optional conformance channel) and
// its Execution Layer on a second port. Start: `node server.mjs` with the FAILCLOSED_* settings.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { loadConfig, ConfigError } from './lib/config.mjs';
import { System } from './lib/system.mjs';
import { readBody, sendJson, sendEmpty } from './lib/http-server-util.mjs';
import { parseStrict, isObject } from './lib/strict-json.mjs';
import { EMPTY_DIGEST, digestBytes } from './lib/canonical.mjs';
import './lib/defects.mjs'; // validates GATE_DEFECT at start

const KEEP_MAX = 1024 * 1024; // the strict reader's limit; larger bodies are hashed, then denied
const BODY_TIMEOUT_MS = 3000;
const CONTROL_BODY_MAX = 64 * 1024;
const ALL_CAPABILITIES = ['reset', 'nonce-store-down', 'nonce-store-unconfirmed', 'audit-down', 'clock-offset', 'crash-restart', 'direct-execution', 'audit-export'];
// GATE_WITHHOLD_CAPABILITIES (comma list): capabilities not to offer on the control channel
// (operator choice, e.g. to run the suite without one fault); default: offer everything.
const WITHHELD = new Set((process.env.GATE_WITHHOLD_CAPABILITIES ?? '').split(',').map((c) => c.trim()).filter(Boolean));
const CAPABILITIES = ALL_CAPABILITIES.filter((c) => !WITHHELD.has(c));
const DECLARED_FAULTS = new Set(['nonce-store-down', 'nonce-store-unconfirmed', 'audit-down'].filter((c) => !WITHHELD.has(c)));
const ALL_FAULTS = new Set([...DECLARED_FAULTS, 'execution-partition', 'execution-tamper', 'execution-unconfirmed']);

const ACCESS_LOG = process.env.GATE_ACCESS_LOG === '1';
const access = (fields) => { if (ACCESS_LOG) log('access', fields); };
const log = (component, fields) => process.stderr.write(`${JSON.stringify({ t: new Date().toISOString(), component, ...fields })}\n`);

let config;
try {
  config = loadConfig();
} catch (e) {
  process.stderr.write(`gate: refusing to start: ${e instanceof ConfigError ? e.message : e.stack}\n`);
  process.exit(1);
}
await mkdir(config.dataDir, { recursive: true });

const urlHost = (h) => (h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h.includes(':') ? `[${h}]` : h);
let elPort = 0;
const directExecutionUrl = () => `http://${urlHost(config.listenHost)}:${elPort}`;
const executionUrl = () => config.executionLayerUrl ?? directExecutionUrl();

// ---- system generations (restart / reset) ----
let system = null;
let ready = null; // promise of the current generation while one is being opened
async function openSystem() {
  system = await System.open(config, { executionUrl, log });
  return system;
}
async function currentSystem() {
  return system ?? (ready ? ready.catch(() => null) : null);
}
const sockets = { gate: new Set(), el: new Set() };

/** Close the generation, optionally wipe durable state, open a new one. */
async function cycle({ wipe, crash, keep }) {
  const old = system;
  system = null;
  let done;
  ready = new Promise((r) => { done = r; });
  try {
    if (old) {
      for (const s of old.inflight) if (s !== keep) s.destroy(); // its requests are abandoned
      await old.close();
    }
    if (crash) for (const set of Object.values(sockets)) for (const s of set) if (s !== keep) s.destroy();
    if (wipe) await System.wipe(config.dataDir);
    done(await openSystem());
  } catch (e) {
    log('lifecycle', { error: `cannot open state: ${e.message}` });
    done(null);
    throw e;
  } finally {
    ready = null;
  }
}

// ---- Gate server ----
async function handleClientRequest(req, res) {
  const traceId = `trace-${randomUUID()}`;
  const arrivedAt = Date.now();
  req.socket.activeRequest = true;
  const body = await readBody(req, { keepMax: KEEP_MAX, timeoutMs: BODY_TIMEOUT_MS });
  const sys = await currentSystem();
  try {
    if (!sys) return sendJson(res, 403, { status: 'denied', code: 'AUDIT_UNAVAILABLE', trace_id: traceId, reason: 'state unavailable' });
    if (body.aborted) {
      await sys.gate.auditAbandoned(traceId, body.requestHash, 'upload aborted').catch(() => {});
      return;
    }
    const readProblem = body.tooLarge ? 'body larger than 1 MiB' : body.timedOut ? 'body not received in time' : null;
    const headers = readProblem ? { connection: 'close' } : {};
    sys.inflight.add(req.socket);
    try {
      const out = await sys.gate.handle({ traceId, arrivedAt, bytes: body.bytes, requestHash: body.requestHash, readProblem, headers: req.headers });
      access({ trace_id: traceId, ms: Date.now() - arrivedAt, status: out.status, code: out.body.code, request_id: out.body.request_id });
      sendJson(res, out.status, out.body, headers);
    } catch (e) {
      if (sys.gate.closed) return res.destroy(); // crashed/reset mid-request: abandoned, like a real crash
      log('gate', { trace_id: traceId, error: String(e?.stack ?? e) });
      sendJson(res, 403, { status: 'denied', code: 'AUDIT_UNAVAILABLE', trace_id: traceId, reason: 'internal error' }, headers);
    } finally {
      sys.inflight.delete(req.socket);
    }
  } finally {
    req.socket.activeRequest = false;
  }
}

async function handleAuditExport(req, res, url) {
  const sys = await currentSystem();
  if (!sys) return sendJson(res, 503, { error: 'state unavailable' });
  const format = url.searchParams.get('format') ?? 'json';
  if (format !== 'json' && format !== 'ndjson') return sendJson(res, 400, { error: 'format must be json or ndjson' });
  let records;
  try {
    records = await sys.audit.export();
  } catch {
    return sendJson(res, 503, { error: 'audit records are waiting to be written; export would be incomplete' });
  }
  if (format === 'json') return sendJson(res, 200, records);
  const text = records.map((r) => `${JSON.stringify(r)}\n`).join('');
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readControlBody(req) {
  const body = await readBody(req, { keepMax: CONTROL_BODY_MAX, timeoutMs: BODY_TIMEOUT_MS });
  if (body.aborted || body.timedOut || body.tooLarge) return { ok: false };
  if (body.bytes.length === 0) return { ok: true, value: undefined };
  try {
    return { ok: true, value: parseStrict(body.bytes) };
  } catch {
    return { ok: false };
  }
}

let controlLane = Promise.resolve(); // control commands run one at a time
function serialControl(fn) {
  const run = controlLane.then(fn);
  controlLane = run.catch(() => {});
  return run;
}

async function handleControl(req, res, url) {
  const route = `${req.method} ${url.pathname}`;
  if (route === 'GET /failclosed/v1/hello') {
    const hello = { protocol: 'failclosed-control/1', capabilities: CAPABILITIES };
    if (CAPABILITIES.includes('direct-execution')) hello.execution_layer_url = directExecutionUrl();
    return sendJson(res, 200, hello);
  }
  const known = ['/failclosed/v1/reset', '/failclosed/v1/fault', '/failclosed/v1/clock', '/failclosed/v1/restart'];
  if (!known.includes(url.pathname)) return sendJson(res, 404, { error: 'not found' });
  if (req.method !== 'POST') return sendJson(res, 405, { error: 'method not allowed' });
  const body = await readControlBody(req);
  const v = body.value;
  if (!body.ok || (v !== undefined && !isObject(v))) return sendJson(res, 400, { error: 'body must be a JSON object' });
  access({ control: url.pathname, body: v });
  await serialControl(async () => {
    switch (url.pathname) {
      case '/failclosed/v1/reset':
      case '/failclosed/v1/restart': {
        const reset = url.pathname.endsWith('reset');
        if (!CAPABILITIES.includes(reset ? 'reset' : 'crash-restart')) return sendJson(res, 404, { error: 'not offered' });
        try {
          await cycle({ wipe: reset, crash: !reset, keep: req.socket });
          log('lifecycle', { [reset ? 'reset' : 'restart']: 'done' });
          return sendEmpty(res, 204);
        } catch (e) {
          return sendJson(res, 500, { error: `could not reopen state: ${e.message}` });
        }
      }
      case '/failclosed/v1/fault': {
        const ok = v && Object.keys(v).length === 2 && ALL_FAULTS.has(v.fault) && typeof v.active === 'boolean';
        if (!ok) return sendJson(res, 400, { error: 'body must be {"fault":…, "active": true|false}' });
        if (!DECLARED_FAULTS.has(v.fault)) return sendJson(res, 400, { error: `fault ${v.fault} is not offered by this gate` });
        const sys = await currentSystem();
        if (!sys) return sendJson(res, 503, { error: 'state unavailable' });
        sys.setFault(v.fault, v.active);
        return sendEmpty(res, 204);
      }
      case '/failclosed/v1/clock': {
        if (!CAPABILITIES.includes('clock-offset')) return sendJson(res, 404, { error: 'not offered' });
        const ok = v && Object.keys(v).length === 1 && Number.isSafeInteger(v.offset_ms);
        if (!ok) return sendJson(res, 400, { error: 'body must be {"offset_ms": integer}' });
        const sys = await currentSystem();
        if (!sys) return sendJson(res, 503, { error: 'state unavailable' });
        sys.clock.offsetMs = v.offset_ms;
        return sendEmpty(res, 204);
      }
    }
  });
}

async function gateRoutes(req, res) {
  const url = new URL(req.url, 'http://gate');
  if (url.pathname === '/v1/requests') {
    if (req.method === 'POST') return handleClientRequest(req, res);
    return sendJson(res, 405, { error: 'POST only' });
  }
  if (req.method === 'GET' && url.pathname === '/healthz') {
    const sys = await currentSystem();
    return sys ? sendJson(res, 200, { status: 'ok', role: 'gate' }) : sendJson(res, 503, { status: 'starting' });
  }
  if (req.method === 'GET' && url.pathname === '/v1/audit') return handleAuditExport(req, res, url);
  if (req.method === 'GET' && url.pathname === '/v1/events') {
    const sys = await currentSystem();
    return sys ? sendJson(res, 200, sys.events.slice()) : sendJson(res, 503, { error: 'state unavailable' });
  }
  if (config.conformanceChannel && (url.pathname === '/failclosed' || url.pathname.startsWith('/failclosed/'))) {
    return handleControl(req, res, url);
  }
  return sendJson(res, 404, { error: 'not found' });
}

// ---- Execution Layer server ----
async function elRoutes(req, res) {
  const url = new URL(req.url, 'http://el');
  if (req.method === 'POST' && url.pathname === '/v1/execute') {
    const body = await readBody(req, { keepMax: KEEP_MAX, timeoutMs: BODY_TIMEOUT_MS });
    if (body.aborted) return;
    const sys = await currentSystem();
    if (!sys) return sendJson(res, 503, { error: 'state unavailable' });
    if (body.tooLarge || body.timedOut) return sendJson(res, 403, { status: 'denied', code: 'REQUEST_MALFORMED', reason: 'body too large or incomplete' }, { connection: 'close' });
    sys.inflight.add(req.socket);
    try {
      const out = await sys.executionLayer.execute(body.bytes);
      access({ execute: out.status, code: out.body.code, effect_id: out.body.effect_id });
      if (sys.executionLayer.closed) return res.destroy();
      return sendJson(res, out.status, out.body);
    } finally {
      sys.inflight.delete(req.socket);
    }
  }
  if (req.method === 'GET' && url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok', role: 'execution-layer' });
  return sendJson(res, 404, { error: 'not found' });
}

function serve(name, routes) {
  const server = http.createServer({ requestTimeout: 15_000, headersTimeout: 10_000 }, (req, res) => {
    routes(req, res).catch((e) => {
      log(name, { error: String(e?.stack ?? e) });
      sendJson(res, 403, { status: 'denied', code: 'REQUEST_MALFORMED', trace_id: `trace-${randomUUID()}`, reason: 'internal error' });
    });
  });
  server.on('connection', (s) => {
    sockets[name].add(s);
    s.on('close', () => sockets[name].delete(s));
  });
  if (name === 'gate') {
    // Unparseable HTTP on the ingress is still answered (403 REQUEST_MALFORMED) and audited.
    server.on('clientError', (err, socket) => {
      if (socket.activeRequest || !socket.writable || !String(err.code).startsWith('HPE_')) return socket.destroy();
      const traceId = `trace-${randomUUID()}`;
      const hash = err.rawPacket?.length ? digestBytes(err.rawPacket) : EMPTY_DIGEST;
      currentSystem().then((sys) => sys?.gate.auditAbandoned(traceId, hash, `unparseable HTTP (${err.code})`)).catch(() => {});
      const text = JSON.stringify({ status: 'denied', code: 'REQUEST_MALFORMED', trace_id: traceId, reason: 'malformed HTTP' });
      socket.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
    });
  }
  return server;
}

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, config.listenHost, () => resolve(server.address().port));
  });
}

try {
  await openSystem();
} catch (e) {
  process.stderr.write(`gate: refusing to start: durable state in ${config.dataDir} is unusable: ${e.message}\n`);
  process.exit(1);
}
const elServer = serve('el', elRoutes);
const gateServer = serve('gate', gateRoutes);
try {
  elPort = await listen(elServer, config.executionLayerListenPort);
  await listen(gateServer, config.listenPort);
} catch (e) {
  process.stderr.write(`gate: cannot listen: ${e.message}\n`);
  process.exit(1);
}
log('lifecycle', {
  ready: true, gate: `http://${urlHost(config.listenHost)}:${config.listenPort}`, execution_layer: directExecutionUrl(),
  execution_layer_via: executionUrl(), data_dir: config.dataDir, conformance_channel: config.conformanceChannel,
  defects: process.env.GATE_DEFECT || undefined,
});
process.stdout.write('ready\n');

async function shutdown() {
  gateServer.close();
  elServer.close();
  for (const set of Object.values(sockets)) for (const s of set) s.destroy();
  await system?.close().catch(() => {});
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
