// End-to-end checks of Gate B as a process, with a fake Control Plane, effect sink and a
// fault-injecting proxy in front of the Execution Layer: the paths the live suite cannot reach
// on a gate without a conformance channel (execution faults, bypass probes, late answers).
// Ports 9520-9526 on 127.0.0.1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalize } from '../src/profile/canonical.js';
import { digestValue, publicKeyOfSeed, signBytes, signingInput } from '../src/profile/crypto.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const P = { gate: 9520, el: 9521, cp: 9522, sink: 9523, proxy: 9524, closed: 9525 };
const seed = (name) => createHash('sha256').update(`failclosed test key ${name}`).digest();
const CP = seed('control-plane');
const ROGUE = seed('rogue-control-plane');
const ALICE = seed('alice');
const nowSec = () => Math.floor(Date.now() / 1000);

const state = { cp: 'allow', proxy: 'pass', effects: [], questions: [], proxyCalls: 0 };
const servers = [];
let gate;
let dataDir;

function signEnvelope(env, key = CP) {
  return { ...env, signature: signBytes(key, signingInput(env)) };
}

function envelopeFor(q, over = {}, key = CP) {
  return signEnvelope({
    approval_id: `apr-${Math.random().toString(36).slice(2)}`,
    request_id: q.request_id,
    identity: q.identity,
    action: q.action,
    parameters_digest: q.parameters_digest,
    issued_at: nowSec() - 5,
    expires_at: nowSec() + 60,
    key_id: 'ed25519/control-plane',
    ...over,
  }, key);
}

function readAll(req) {
  return new Promise((resolve) => {
    const c = [];
    req.on('data', (d) => c.push(d));
    req.on('end', () => resolve(Buffer.concat(c)));
  });
}

function serve(port, handler) {
  const s = http.createServer(handler);
  servers.push(s);
  return new Promise((r) => s.listen(port, '127.0.0.1', r));
}

const json = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};

let nonceCounter = 0;
function request(over = {}, params = { amount: 10, to: 'bob', memo: { note: 'rent', tags: ['a', 'b'] } }) {
  const r = {
    request_id: `req-e2e-${++nonceCounter}`,
    identity: 'alice',
    action: 'payments.transfer',
    parameters: params,
    timestamp: nowSec(),
    nonce: `nonce-e2e-${process.pid}-${nonceCounter}-xxxx`,
    key_id: 'ed25519/alice',
    ...over,
  };
  r.signature = signBytes(ALICE, signingInput(r));
  return r;
}

async function send(body) {
  const res = await fetch(`http://127.0.0.1:${P.gate}/v1/requests`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : canonicalize(body),
  });
  return { status: res.status, body: await res.json() };
}

async function direct(body) {
  const res = await fetch(`http://127.0.0.1:${P.el}/v1/execute`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

async function audit() {
  return (await fetch(`http://127.0.0.1:${P.gate}/v1/audit`)).json();
}

const finalOf = async (traceId) => (await audit()).filter((r) => r.trace_id === traceId && r.stage === 'final');

before(async () => {
  assert.equal(publicKeyOfSeed(CP), '19B4zZdzQgnWsd0uRI_s59OV_kh6wHJwc8T_ZWxwxxI');
  await serve(P.cp, async (req, res) => {
    const q = JSON.parse(await readAll(req));
    state.questions.push(q);
    switch (state.cp) {
      case 'allow': return json(res, 200, { decision: 'allow', envelope: envelopeFor(q) });
      case 'deny': return json(res, 200, { decision: 'deny' });
      case 'garbage': return json(res, 200, '{"decision":"allow",');
      case '503': return json(res, 503, '<html>down</html>');
      case 'forged': return json(res, 200, { decision: 'allow', envelope: envelopeFor(q, {}, ROGUE) });
      case 'silent': return undefined; // never answers
      case 'late-allow': {
        setTimeout(() => json(res, 200, { decision: 'allow', envelope: envelopeFor(q) }), 700);
        return undefined;
      }
      default: throw new Error(state.cp);
    }
  });
  await serve(P.sink, async (req, res) => {
    state.effects.push(JSON.parse(await readAll(req)));
    res.writeHead(204).end();
  });
  // Proxy in front of the Execution Layer; like the harness's, it keeps the path and headers.
  await serve(P.proxy, async (req, res) => {
    state.proxyCalls++;
    let body = await readAll(req);
    if (state.proxy === 'tamper') {
      const call = JSON.parse(body);
      call.parameters = { ...call.parameters, amount: 1000000 };
      body = Buffer.from(canonicalize(call));
    }
    const headers = { ...req.headers, 'content-length': body.length };
    const up = http.request({ host: '127.0.0.1', port: P.el, path: req.url, method: 'POST', headers }, async (ur) => {
      const answer = await readAll(ur);
      if (state.proxy === 'unconfirmed') return req.socket.destroy();
      res.writeHead(ur.statusCode, { 'content-type': 'application/json', connection: 'close' });
      return res.end(answer);
    });
    up.end(body);
  });
  dataDir = mkdtempSync(join(tmpdir(), 'gate-b-e2e-'));
  gate = spawn(process.execPath, [join(ROOT, 'src/main.js')], {
    env: {
      ...process.env,
      FAILCLOSED_LISTEN_PORT: String(P.gate),
      FAILCLOSED_EXECUTION_LAYER_LISTEN_PORT: String(P.el),
      FAILCLOSED_EXECUTION_LAYER_URL: `http://127.0.0.1:${P.proxy}`,
      FAILCLOSED_CONTROL_PLANE_URL: `http://127.0.0.1:${P.cp}`,
      FAILCLOSED_CONTROL_PLANE_KEYS: JSON.stringify([{ key_id: 'ed25519/control-plane', public_key: publicKeyOfSeed(CP) }]),
      FAILCLOSED_EFFECT_SINK_URL: `http://127.0.0.1:${P.sink}`,
      FAILCLOSED_IDENTITY_KEYS: JSON.stringify({ keys: [{ key_id: 'ed25519/alice', identity: 'alice', public_key: publicKeyOfSeed(ALICE), state: 'active' }] }),
      FAILCLOSED_DATA_DIR: dataDir,
      FAILCLOSED_CONTROL_PLANE_DEADLINE_MS: '400',
      FAILCLOSED_EXECUTION_DEADLINE_MS: '1500',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    gate.stdout.on('data', (d) => String(d).includes('ready') && resolve());
    gate.on('exit', (c) => reject(new Error(`gate exited ${c}`)));
  });
});

after(async () => {
  gate?.kill('SIGTERM');
  await new Promise((r) => (gate ? gate.on('exit', r) : r()));
  for (const s of servers) s.closeAllConnections?.(), s.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('a valid request executes once, through the proxy, with intent before final', async () => {
  state.cp = 'allow'; state.proxy = 'pass';
  const before = state.effects.length;
  const r = await send(request());
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(state.effects.length, before + 1);
  const recs = (await audit()).filter((x) => x.trace_id === r.body.trace_id);
  assert.deepEqual(recs.map((x) => `${x.stage}:${x.decision}`), ['intent:allow', 'final:allow']);
});

test('parameters sent in another key order execute (signature and digest over canonical form)', async () => {
  state.cp = 'allow'; state.proxy = 'pass';
  const r = request({}, { to: 'bob', amount: 10, b: 1, a: 2, 10: 'x', 9: 'y' });
  const text = `{"signature":"${r.signature}","parameters":{"to":"bob","amount":10,"b":1,"a":2,"9":"y","10":"x"},` +
    `"timestamp":${r.timestamp},"request_id":"${r.request_id}","nonce":"${r.nonce}","key_id":"ed25519/alice","identity":"alice","action":"payments.transfer"}`;
  const a = await send(text);
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.equal(state.questions.at(-1).parameters_digest, digestValue(r.parameters));
});

test('control plane failures deny with their codes and never execute later', async () => {
  state.proxy = 'pass';
  const cases = { deny: 'POLICY_DENIED', garbage: 'CONTROL_PLANE_MALFORMED', 503: 'CONTROL_PLANE_UNAVAILABLE', silent: 'CONTROL_PLANE_TIMEOUT', forged: 'ENVELOPE_SIGNATURE_INVALID', 'late-allow': 'CONTROL_PLANE_TIMEOUT' };
  const before = state.effects.length;
  for (const [mode, code] of Object.entries(cases)) {
    state.cp = mode;
    const r = await send(request());
    assert.equal(r.body.code, code, mode);
  }
  await new Promise((r) => setTimeout(r, 1000)); // the late allow arrives meanwhile
  assert.equal(state.effects.length, before, 'nothing executed');
});

test('a replay is denied whatever its bytes, and never reaches the control plane', async () => {
  state.cp = 'allow'; state.proxy = 'pass';
  const first = request();
  assert.equal((await send(first)).status, 200);
  const asked = state.questions.length;
  await new Promise((r) => setTimeout(r, 700)); // a replay later than a too-short memory
  assert.equal((await send(first)).body.code, 'REPLAY_DETECTED');
  const again = request({ nonce: first.nonce, request_id: 'req-other' });
  assert.equal((await send(again)).body.code, 'REPLAY_DETECTED');
  assert.equal(state.questions.length, asked);
  // concurrent duplicates of a fresh request: exactly one executes, one question asked
  const dup = canonicalize(request());
  const before = state.effects.length;
  const answers = await Promise.all(Array.from({ length: 8 }, () => send(dup)));
  assert.equal(answers.filter((a) => a.status === 200).length, 1);
  assert.equal(state.effects.length, before + 1);
  assert.equal(state.questions.length, asked + 1);
  const traces = new Set(answers.map((a) => a.body.trace_id));
  assert.equal(traces.size, 8, 'a fresh trace id per HTTP request');
  const finals = (await audit()).filter((x) => traces.has(x.trace_id) && x.stage === 'final');
  assert.equal(finals.length, 8, 'one final record per request');
});

test('the acceptance window is inclusive at both edges, on a floor clock', async () => {
  state.cp = 'allow'; state.proxy = 'pass';
  const at = async (lo, hi) => {
    while (!(Date.now() % 1000 >= lo && Date.now() % 1000 < hi)) await new Promise((r) => setTimeout(r, 5));
  };
  await at(0, 400);
  assert.equal((await send(request({ timestamp: nowSec() + 300 }))).status, 200, 'now + window');
  await at(600, 850);
  assert.equal((await send(request({ timestamp: nowSec() - 300 }))).status, 200, 'now - window, late in the second');
});

test('execution link faults: tamper, lost answer, partition', async () => {
  state.cp = 'allow';
  state.proxy = 'tamper';
  let before = state.effects.length;
  let r = await send(request());
  assert.equal(r.body.code, 'ENVELOPE_BINDING_MISMATCH');
  assert.equal(state.effects.length, before);
  assert.equal((await finalOf(r.body.trace_id))[0].outcome, 'failed');

  state.proxy = 'unconfirmed';
  before = state.effects.length;
  const calls = state.proxyCalls;
  r = await send(request());
  assert.equal(state.proxyCalls, calls + 1, 'one call, no retry');
  assert.equal(r.body.code, 'EXECUTION_UNCONFIRMED');
  assert.equal(state.effects.length, before + 1, 'it ran; the answer was lost; no retry');
  assert.equal((await finalOf(r.body.trace_id))[0].outcome, 'unknown');
  state.proxy = 'pass';

  const proxy = servers[2];
  await new Promise((res) => proxy.close(res));
  before = state.effects.length;
  r = await send(request());
  assert.equal(r.body.code, 'EXECUTION_UNAVAILABLE');
  assert.equal((await finalOf(r.body.trace_id))[0].outcome, 'failed');
  await new Promise((res) => proxy.listen(P.proxy, '127.0.0.1', res));
  assert.equal(state.effects.length, before, 'nothing ran, nothing queued');
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(state.effects.length, before, 'nothing ran after the link healed');
});

test('the execution layer denies bypass calls with a code and no effect', async () => {
  const q = { request_id: 'req-bypass', identity: 'alice', action: 'payments.transfer', parameters: { amount: 1 } };
  q.parameters_digest = digestValue(q.parameters);
  const good = envelopeFor(q);
  const call = (envelope, over = {}) => ({ envelope, request_id: q.request_id, identity: q.identity, action: q.action, parameters: q.parameters, ...over });
  const before = state.effects.length;
  const expect = [
    [call(undefined), 'ENVELOPE_MISSING'],
    [call(null), 'ENVELOPE_MISSING'],
    [call(envelopeFor(q, {}, ROGUE)), 'ENVELOPE_SIGNATURE_INVALID'],
    [call(envelopeFor(q, { expires_at: nowSec() })), 'ENVELOPE_EXPIRED'],
    [call(envelopeFor(q, { issued_at: nowSec() + 30 })), 'ENVELOPE_NOT_YET_VALID'],
    [call(good, { parameters: { amount: 1000000 } }), 'ENVELOPE_BINDING_MISMATCH'],
    ['{"envelope":', 'REQUEST_MALFORMED'],
    [[1, 2], 'REQUEST_MALFORMED'],
  ];
  for (const [body, code] of expect) {
    const r = await direct(body);
    assert.equal(r.status, 403);
    assert.equal(r.body.code, code, JSON.stringify(body).slice(0, 80));
  }
  assert.equal(state.effects.length, before);
  assert.equal((await direct(call(good))).status, 200);
  assert.equal((await direct(call(good))).body.code, 'ENVELOPE_REPLAYED');
  assert.equal(state.effects.length, before + 1);
});

test('unknown routes, the control channel included, answer 404', async () => {
  for (const path of ['/failclosed/v1/hello', '/failclosed/v1/reset', '/nope']) {
    assert.equal((await fetch(`http://127.0.0.1:${P.gate}${path}`)).status, 404);
  }
});
