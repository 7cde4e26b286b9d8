// End-to-end checks of the running service against a fake Control Plane and effect sink
// (signing with the published test seeds). Covers what the vectors cannot: limits, aborted
// uploads, restart durability, the audit outbox, refusal to start.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { canonicalize, digestValue, digestBytes } from '../lib/canonical.mjs';
import { publicKeyFromSeed, sign, signingInput } from '../lib/ed25519.mjs';
import { verifyChain } from '../lib/audit-log.mjs';

const seed = (name) => createHash('sha256').update(`failclosed test key ${name}`).digest();
const pub = (name) => Buffer.from(publicKeyFromSeed(seed(name))).toString('base64url');
const PORT = 9440, EL_PORT = 9441, CP_PORT = 9442, SINK_PORT = 9443;
const GATE = `http://127.0.0.1:${PORT}`;

let cpMode = 'allow';
const effects = [];
const servers = [];
let gate, dataDir;

function listen(port, handler) {
  const s = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => handler(JSON.parse(Buffer.concat(chunks).toString() || 'null'), res));
  });
  servers.push(s);
  return new Promise((r) => s.listen(port, '127.0.0.1', r));
}

function startGate(extraEnv = {}) {
  const env = {
    ...process.env,
    FAILCLOSED_LISTEN_PORT: String(PORT),
    FAILCLOSED_EXECUTION_LAYER_LISTEN_PORT: String(EL_PORT),
    FAILCLOSED_CONTROL_PLANE_URL: `http://127.0.0.1:${CP_PORT}`,
    FAILCLOSED_CONTROL_PLANE_KEYS: JSON.stringify([{ key_id: 'ed25519/control-plane', public_key: pub('control-plane') }]),
    FAILCLOSED_EFFECT_SINK_URL: `http://127.0.0.1:${SINK_PORT}`,
    FAILCLOSED_IDENTITY_KEYS: JSON.stringify({ keys: [{ key_id: 'ed25519/alice', identity: 'alice', public_key: pub('alice'), state: 'active' }] }),
    FAILCLOSED_CONFORMANCE_CHANNEL: '1',
    FAILCLOSED_DATA_DIR: dataDir,
    FAILCLOSED_CONTROL_PLANE_DEADLINE_MS: '300',
    ...extraEnv,
  };
  const child = spawn(process.execPath, ['server.mjs'], { cwd: path.resolve(import.meta.dirname, '..'), env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    child.stdout.on('data', (d) => { if (String(d).includes('ready')) resolve(child); });
    child.on('exit', (code) => reject(Object.assign(new Error(`exited ${code}: ${err}`), { code })));
  });
}

async function call(method, p, body, headers = {}) {
  const res = await fetch(`${GATE}${p}`, { method, body, headers: { 'content-type': 'application/json', ...headers } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

let n = 0;
function request(overrides = {}) {
  n++;
  const r = {
    request_id: `req-${n}`, identity: 'alice', action: 'payments.transfer', parameters: { amount: 10, n },
    timestamp: Math.floor(Date.now() / 1000), nonce: `nonce-service-test-${String(n).padStart(4, '0')}-${process.pid}`, key_id: 'ed25519/alice',
    ...overrides,
  };
  r.signature = sign(signingInput(r), seed('alice'));
  return r;
}
const send = (r) => call('POST', '/v1/requests', canonicalize(r));
const audit = async () => (await call('GET', '/v1/audit')).body;

before(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'gate-a-test-'));
  await listen(CP_PORT, (q, res) => {
    if (cpMode === 'silent') return; // never answers
    if (cpMode === 'deny') return res.end(JSON.stringify({ decision: 'deny' }));
    const now = Math.floor(Date.now() / 1000);
    const env = { approval_id: `apr-${q.request_id}-${Math.random().toString(36).slice(2)}`, request_id: q.request_id, identity: q.identity, action: q.action, parameters_digest: q.parameters_digest, issued_at: now - 1, expires_at: now + 60, key_id: 'ed25519/control-plane' };
    env.signature = sign(signingInput(env), seed('control-plane'));
    res.end(JSON.stringify({ decision: 'allow', envelope: env }));
  });
  await listen(SINK_PORT, (e, res) => { effects.push(e); res.statusCode = 204; res.end(); });
  gate = await startGate();
});

after(() => {
  gate?.kill('SIGKILL');
  for (const s of servers) { s.closeAllConnections(); s.close(); }
  rmSync(dataDir, { recursive: true, force: true });
});

test('a valid request executes once; the effect carries the exact parameters; replay denied', async () => {
  const r = request();
  const a = await send(r);
  assert.equal(a.status, 200);
  assert.equal(a.body.status, 'executed');
  const e = effects.find((x) => x.request_id === r.request_id);
  assert.deepEqual(e.parameters, r.parameters);
  const b = await send(r);
  assert.equal(b.body.code, 'REPLAY_DETECTED');
  assert.notEqual(a.body.trace_id, b.body.trace_id);
});

test('concurrent duplicates: exactly one executes', async () => {
  const r = request();
  const answers = await Promise.all(Array.from({ length: 8 }, () => send(r)));
  assert.equal(answers.filter((a) => a.status === 200).length, 1);
  assert.equal(effects.filter((x) => x.request_id === r.request_id).length, 1);
});

test('oversized body: denied, audited with the hash of every byte', async () => {
  const big = Buffer.alloc(2 * 1024 * 1024 + 7, 0x20);
  const a = await call('POST', '/v1/requests', big);
  assert.equal(a.status, 403);
  assert.equal(a.body.code, 'REQUEST_MALFORMED');
  const rec = (await audit()).find((x) => x.trace_id === a.body.trace_id);
  assert.equal(rec.request_hash, digestBytes(big));
  assert.equal(rec.identity, 'unknown');
});

test('an aborted upload is audited although nobody is left to answer', async () => {
  const before = (await audit()).length;
  await new Promise((resolve) => {
    const s = net.connect(PORT, '127.0.0.1', () => {
      s.write('POST /v1/requests HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"request_id":');
      setTimeout(() => { s.destroy(); resolve(); }, 100);
    });
  });
  await new Promise((r) => setTimeout(r, 200));
  const recs = await audit();
  assert.equal(recs.length, before + 1);
  assert.equal(recs.at(-1).code, 'REQUEST_MALFORMED');
  assert.equal(recs.at(-1).request_hash, digestBytes(Buffer.from('{"request_id":')));
});

test('Control Plane silence -> CONTROL_PLANE_TIMEOUT within the deadline', async () => {
  cpMode = 'silent';
  const t = Date.now();
  const a = await send(request());
  cpMode = 'allow';
  assert.equal(a.body.code, 'CONTROL_PLANE_TIMEOUT');
  assert.ok(Date.now() - t < 2000);
});

test('audit down: intent refused, final waits durably, survives a restart, chain intact', async () => {
  assert.equal((await call('POST', '/failclosed/v1/fault', JSON.stringify({ fault: 'audit-down', active: true }))).status, 204);
  const a = await send(request());
  assert.equal(a.body.code, 'AUDIT_UNAVAILABLE');
  assert.equal((await call('GET', '/v1/audit')).status, 503); // records wait: no incomplete export
  assert.equal((await call('POST', '/failclosed/v1/restart')).status, 204); // faults are memory: gone
  const recs = await audit();
  verifyChain(recs);
  assert.ok(recs.some((x) => x.trace_id === a.body.trace_id && x.code === 'AUDIT_UNAVAILABLE'));
});

test('restart keeps nonces and approvals; reset forgets everything', async () => {
  const r = request();
  assert.equal((await send(r)).status, 200);
  assert.equal((await call('POST', '/failclosed/v1/restart')).status, 204);
  assert.equal((await send(r)).body.code, 'REPLAY_DETECTED');
  verifyChain(await audit());
  assert.equal((await call('POST', '/failclosed/v1/reset', '{}')).status, 204);
  assert.deepEqual(await audit(), []);
  assert.equal((await send(r)).status, 200); // forgotten (a reset defeats the guarantees on purpose)
  assert.equal((await audit())[0].prev_hash, `sha256:${'0'.repeat(64)}`);
});

test('real crash (SIGKILL) keeps the chain and the nonces', async () => {
  const r = request();
  assert.equal((await send(r)).status, 200);
  gate.kill('SIGKILL');
  await new Promise((res) => gate.once('exit', res));
  gate = await startGate();
  assert.equal((await send(r)).body.code, 'REPLAY_DETECTED');
  verifyChain(await audit());
});

test('execution layer refuses a bypass without envelope and a replayed approval', async () => {
  const el = `http://127.0.0.1:${EL_PORT}/v1/execute`;
  const post = async (b) => { const res = await fetch(el, { method: 'POST', body: b }); return { status: res.status, body: await res.json() }; };
  assert.equal((await post(JSON.stringify({ request_id: 'x', identity: 'alice', action: 'a', parameters: {} }))).body.code, 'ENVELOPE_MISSING');
  assert.equal((await post('garbage')).body.code, 'REQUEST_MALFORMED');
  const count = effects.length;
  assert.equal(effects.length, count);
});

test('control channel: undeclared fault 400, bad clock 400, unknown path 404', async () => {
  assert.equal((await call('POST', '/failclosed/v1/fault', JSON.stringify({ fault: 'execution-partition', active: true }))).status, 400);
  assert.equal((await call('POST', '/failclosed/v1/clock', JSON.stringify({ offset_ms: 1.5 }))).status, 400);
  assert.equal((await call('POST', '/failclosed/v1/nope', '{}')).status, 404);
});

test('refuses to start without required settings or with a bad key', async () => {
  await assert.rejects(startGate({ FAILCLOSED_CONTROL_PLANE_KEYS: '' }), (e) => e.code === 1);
  await assert.rejects(startGate({ FAILCLOSED_CONTROL_PLANE_KEYS: '[{"key_id":"ed25519/x","public_key":"AAAA"}]' }), (e) => e.code === 1);
  await assert.rejects(startGate({ FAILCLOSED_IDENTITY_KEYS: '{"keys":[],"keys":[]}' }), (e) => e.code === 1);
});

test('parameters digest: policy question and envelope use the canonical form', () => {
  assert.equal(digestValue({ b: 1, a: [1.0, 2.5e2] }), digestValue({ a: [1, 250], b: 1 }));
});
