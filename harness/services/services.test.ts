/**
 * The harness's network services, over real loopback sockets: the fault proxy in every mode, the
 * Control Plane the harness plays, the effect sink, and the reference gate wired to them.
 */
import { createServer, request as httpRequest } from 'node:http';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { concreteRequest } from '../../model/concrete-scenario.ts';
import { TEST_KEYS, defaultHistoryKeys, trustedKey } from '../../model/history-builder.ts';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { canonicalBytes, canonicalize } from '../../model/profile/canonical-json.ts';
import { digestJson } from '../../model/profile/digest.ts';
import type { ApprovalEnvelope, PolicyQuestion } from '../../model/profile/messages.ts';
import { verifyEnvelopeSignature } from '../../model/profile/messages.ts';
import type { EffectRecord } from '../../reference-impl/execution-layer/effect-sink.ts';
import { closeServer, listen } from '../../reference-impl/http/http-util.ts';
import { startReference } from '../../reference-impl/serve.ts';
import type { RunningReference } from '../../reference-impl/serve.ts';
import { parseServeConfig } from '../../reference-impl/serve-config.ts';
import { GARBAGE_ANSWER, ScriptedControlPlane } from '../control-plane/scripted-control-plane.ts';
import { HistoryRecorder } from '../history-recorder.ts';
import { RecordingSink } from '../recording-sink.ts';
import type { ControlPlaneServer } from './control-plane-server.ts';
import { UNAVAILABLE_PAGE, startControlPlaneServer } from './control-plane-server.ts';
import type { EffectSinkServer } from './effect-sink-server.ts';
import { startEffectSinkServer } from './effect-sink-server.ts';
import type { FaultProxy } from './fault-proxy.ts';
import { GARBLED_BODY, startFaultProxy } from './fault-proxy.ts';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Fails instead of hanging when `promise` does not settle in time. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
const causeCode = (error: unknown) => (error as { cause?: { code?: string } }).cause?.code;

async function post(url: string, body: string | Uint8Array, timeoutMs = 5000, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers }, signal: AbortSignal.timeout(timeoutMs) });
}

/** What a fetch ended in: an answer, or the error it threw. */
async function outcome(request: Promise<Response>): Promise<{ status: number; body: string } | { error: unknown }> {
  try {
    const response = await request;
    return { status: response.status, body: await response.text() };
  } catch (error) {
    return { error };
  }
}

/** A raw request with no connection pool at all, to see what the network itself says. */
function rawRequest(url: string): Promise<{ status: number } | { code: string | undefined }> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { method: 'GET', agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.once('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.once('error', (error: NodeJS.ErrnoException) => resolve({ code: error.code }));
    req.end();
  });
}

interface Seen {
  method: string;
  url: string;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** The dependency behind the proxy: records what arrived and echoes it. */
async function startEcho(): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', body, headers: req.headers });
      const answer = JSON.stringify({ echo: body, url: req.url });
      res.writeHead(201, { 'content-type': 'application/json', 'x-upstream': 'echo', 'content-length': Buffer.byteLength(answer) });
      res.end(answer);
    });
  });
  const url = await listen(server, '127.0.0.1', 0);
  return { url, seen, server };
}

describe('fault proxy', () => {
  let echo: Awaited<ReturnType<typeof startEcho>>;
  let proxy: FaultProxy;

  beforeAll(async () => {
    echo = await startEcho();
  });
  afterAll(async () => {
    await closeServer(echo.server);
  });
  beforeEach(async () => {
    echo.seen.length = 0;
    proxy = await startFaultProxy({ target: echo.url });
  });
  afterEach(async () => {
    await proxy.close();
  });

  it('pass forwards method, path, headers and body, and streams the answer back', async () => {
    const response = await post(`${proxy.url}/v1/execute?x=1`, '{"a":1}', 5000, { 'x-trace': 't-1' });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-upstream')).toBe('echo');
    // never kept alive: a client must not carry a pooled connection into a partition
    expect(response.headers.get('connection')).toBe('close');
    expect(await response.json()).toEqual({ echo: '{"a":1}', url: '/v1/execute?x=1' });
    expect(echo.seen).toHaveLength(1);
    expect(echo.seen[0]).toMatchObject({ method: 'POST', url: '/v1/execute?x=1', body: '{"a":1}' });
    expect(echo.seen[0]!.headers['x-trace']).toBe('t-1');
    expect(echo.seen[0]!.headers['content-length']).toBe('7');
    expect(proxy.forwarded).toBe(1);
    expect(await rawRequest(`${proxy.url}/healthz`)).toEqual({ status: 201 });
    expect(echo.seen[1]).toMatchObject({ method: 'GET', url: '/healthz', body: '' });
  });

  it('partition refuses connections (ECONNREFUSED), cuts open ones, and heals on the same port', async () => {
    expect((await post(`${proxy.url}/before`, '{}')).status).toBe(201);
    const idle = connect(proxy.port, '127.0.0.1');
    await within(new Promise((resolve) => idle.once('connect', resolve)), 2000, 'connect');
    const idleClosed = new Promise((resolve) => idle.once('close', resolve));
    idle.on('error', () => undefined);

    await proxy.setMode({ kind: 'partition' });
    expect(proxy.mode.kind).toBe('partition');
    await within(idleClosed, 2000, 'the idle connection closing'); // an open connection does not outlive the partition
    const refused = await outcome(post(`${proxy.url}/during`, '{}'));
    expect('error' in refused && causeCode(refused.error)).toBe('ECONNREFUSED');
    expect(await rawRequest(`${proxy.url}/during`)).toEqual({ code: 'ECONNREFUSED' });

    await proxy.setMode({ kind: 'pass' });
    expect(proxy.url).toBe(`http://127.0.0.1:${proxy.port}`);
    expect((await post(`${proxy.url}/after`, '{}')).status).toBe(201);
    expect(echo.seen.map((s) => s.url)).toEqual(['/before', '/after']);
  });

  it('a partition cuts a request waiting in the proxy, and nothing of it is forwarded after the heal', async () => {
    await proxy.setMode({ kind: 'delay', ms: 300 });
    const waiting = outcome(post(`${proxy.url}/delayed`, '{"n":1}'));
    await pause(50);
    await proxy.setMode({ kind: 'partition' });
    const cut = await waiting;
    expect('error' in cut).toBe(true);
    expect((cut as { error: Error }).error.name).not.toBe('TimeoutError');
    await proxy.setMode({ kind: 'pass' });
    await pause(500); // well past the delay the request was waiting out
    expect(echo.seen).toEqual([]);
    expect(proxy.forwarded).toBe(0);
    expect((await post(`${proxy.url}/fresh`, '{}')).status).toBe(201);
    expect(echo.seen.map((s) => s.url)).toEqual(['/fresh']);
  });

  it('a partition also cuts a connection the proxy holds silently', async () => {
    await proxy.setMode({ kind: 'blackhole' });
    const started = Date.now();
    const held = outcome(post(`${proxy.url}/held`, '{}', 5000));
    await pause(50);
    await proxy.setMode({ kind: 'partition' });
    const result = await held;
    expect('error' in result && (result.error as Error).name).not.toBe('TimeoutError');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('delay forwards after the delay, and refuses an unbounded one', async () => {
    await proxy.setMode({ kind: 'delay', ms: 200 });
    const started = Date.now();
    expect((await post(`${proxy.url}/slow`, '{}')).status).toBe(201);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(echo.seen).toHaveLength(1);
    expect(() => proxy.setMode({ kind: 'delay', ms: 10 * 60_000 })).toThrow(RangeError);
    expect(() => proxy.setMode({ kind: 'delay', ms: Number.NaN })).toThrow(RangeError);
  });

  it('blackhole accepts and never answers: the client times out, nothing is forwarded', async () => {
    await proxy.setMode({ kind: 'blackhole' });
    const result = await outcome(post(`${proxy.url}/v1/execute`, '{}', 300));
    expect('error' in result && (result.error as Error).name).toBe('TimeoutError');
    expect(echo.seen).toEqual([]);
    expect(proxy.forwarded).toBe(0);
  });

  it('reset-after-forward: the dependency got the request, the client got a socket error', async () => {
    await proxy.setMode({ kind: 'reset-after-forward' });
    const result = await outcome(post(`${proxy.url}/v1/execute`, '{"pay":5}'));
    expect('error' in result).toBe(true);
    const error = (result as { error: Error }).error;
    expect(error.name).toBe('TypeError'); // fetch failed on the socket, not by the client's deadline
    expect(['ECONNRESET', 'UND_ERR_SOCKET']).toContain(causeCode(error));
    expect(echo.seen).toHaveLength(1);
    expect(echo.seen[0]!.body).toBe('{"pay":5}');
    expect(proxy.forwarded).toBe(1);
  });

  it('garble answers 200 with garbage and forwards nothing', async () => {
    await proxy.setMode({ kind: 'garble' });
    const response = await post(`${proxy.url}/v1/execute`, '{}');
    expect(response.status).toBe(200);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(GARBLED_BODY);
    expect(echo.seen).toEqual([]);
  });

  it('tamper forwards the rewritten body; a body that is not JSON goes on unchanged', async () => {
    const rewrite = (body: JsonValue): JsonValue => ({ ...(body as { [k: string]: JsonValue }), parameters: { amount: 1_000_000 } });
    await proxy.setMode({ kind: 'tamper', rewrite });
    const sent = { request_id: 'r-1', parameters: { amount: 5 } };
    expect((await post(`${proxy.url}/v1/execute`, JSON.stringify(sent))).status).toBe(201);
    const rewritten = canonicalize({ request_id: 'r-1', parameters: { amount: 1_000_000 } });
    expect(echo.seen[0]!.body).toBe(rewritten);
    expect(echo.seen[0]!.headers['content-length']).toBe(String(Buffer.byteLength(rewritten)));
    expect((await post(`${proxy.url}/v1/execute`, 'not json')).status).toBe(201);
    expect(echo.seen[1]!.body).toBe('not json');
  });

  it('says so when the dependency itself refuses, and closes cleanly while partitioned', async () => {
    const gone = await startFaultProxy({ target: 'http://127.0.0.1:1' });
    try {
      const response = await post(`${gone.url}/x`, '{}');
      expect(response.status).toBe(502);
      expect(gone.forwarded).toBe(0);
      await gone.setMode({ kind: 'partition' });
    } finally {
      await gone.close();
    }
    await expect(gone.setMode({ kind: 'pass' })).rejects.toThrow(/closed/);
    expect(await rawRequest(`${gone.url}/x`)).toEqual({ code: 'ECONNREFUSED' });
  });
});

const historyConfig = { acceptanceWindowSec: 300, replayWindowSec: 600 };

function question(requestId: string, parameters: JsonValue = { amount: 5, to: 'bob' }): PolicyQuestion {
  return { request_id: requestId, identity: 'alice', action: 'payments.send', parameters, parameters_digest: digestJson(parameters) };
}

describe('control plane server', () => {
  let recorder: HistoryRecorder;
  let controlPlane: ScriptedControlPlane;
  let server: ControlPlaneServer;
  const decide = (body: string | Uint8Array, timeoutMs = 5000) => post(`${server.url}/v1/decide`, body, timeoutMs);

  beforeEach(async () => {
    recorder = new HistoryRecorder(historyConfig, defaultHistoryKeys());
    controlPlane = new ScriptedControlPlane(recorder);
    server = await startControlPlaneServer(controlPlane, { trustedKeys: [trustedKey(TEST_KEYS.controlPlane)] });
  });
  afterEach(async () => {
    await server.close();
  });

  it('allow: an envelope signed with the harness key, bound to the question, and recorded', async () => {
    controlPlane.answer({ answers: { controlPlane: 'allow' }, approvalId: 'a-1' });
    const response = await decide(canonicalBytes(question('r-1')));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const answer = (await response.json()) as { decision: string; envelope: ApprovalEnvelope };
    expect(answer.decision).toBe('allow');
    expect(answer.envelope).toMatchObject({ approval_id: 'a-1', request_id: 'r-1', parameters_digest: digestJson({ amount: 5, to: 'bob' }) });
    expect(verifyEnvelopeSignature(answer.envelope, TEST_KEYS.controlPlane.publicKey)).toBe(true);
    expect(verifyEnvelopeSignature(answer.envelope, TEST_KEYS.untrusted.publicKey)).toBe(false);
    expect(recorder.events).toHaveLength(1);
    expect(recorder.events[0]).toMatchObject({ kind: 'policy', question: question('r-1'), answer: { kind: 'allow', envelope: answer.envelope } });
  });

  it('deny is a deny, recorded', async () => {
    controlPlane.answer({ answers: { controlPlane: 'deny' }, approvalId: 'a-1' });
    const response = await decide(canonicalBytes(question('r-2')));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ decision: 'deny' });
    expect(recorder.events).toMatchObject([{ kind: 'policy', answer: { kind: 'deny' } }]);
  });

  it('unreachable is a 503 error page, not a decision', async () => {
    controlPlane.answer({ answers: { controlPlane: 'unreachable' }, approvalId: 'a-1' });
    const response = await decide(canonicalBytes(question('r-3')));
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toBe('text/html');
    expect(await response.text()).toBe(UNAVAILABLE_PAGE);
    expect(recorder.events).toMatchObject([{ kind: 'policy', answer: { kind: 'no-answer', reason: 'outage' } }]);
  });

  it('timeout: no answer before the client gives up', async () => {
    controlPlane.answer({ answers: { controlPlane: 'timeout' }, approvalId: 'a-1' });
    const started = Date.now();
    const result = await outcome(decide(canonicalBytes(question('r-4')), 300));
    expect('error' in result && (result.error as Error).name).toBe('TimeoutError');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(recorder.events).toMatchObject([{ kind: 'policy', answer: { kind: 'no-answer', reason: 'timeout' } }]);
    // the server let go when the client left: the next question is answered at once
    controlPlane.answer({ answers: { controlPlane: 'deny' }, approvalId: 'a-1' });
    expect((await decide(canonicalBytes(question('r-5')), 1000)).status).toBe(200);
  });

  it('malformed: the garbage bytes, with status 200, recorded as garbage', async () => {
    controlPlane.answer({ answers: { controlPlane: 'malformed' }, approvalId: 'a-1' });
    const response = await decide(canonicalBytes(question('r-6')));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(GARBAGE_ANSWER);
    expect(recorder.events).toMatchObject([{ kind: 'policy', answer: { kind: 'garbage', body: GARBAGE_ANSWER } }]);
  });

  it('garbage from the gate is answered 400 and recorded nowhere', async () => {
    controlPlane.answer({ answers: { controlPlane: 'allow' }, approvalId: 'a-1' });
    expect((await decide('{"request_id":')).status).toBe(400);
    expect((await decide('{"a":1,"a":2}')).status).toBe(400);
    expect((await decide('[1,2]')).status).toBe(400);
    expect(recorder.events).toEqual([]);
  });

  it('serves its keys and its health', async () => {
    const keys = await fetch(`${server.url}/v1/keys`, { signal: AbortSignal.timeout(5000) });
    expect(await keys.json()).toEqual({ keys: [trustedKey(TEST_KEYS.controlPlane)] });
    expect((await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(5000) })).status).toBe(200);
    expect((await fetch(`${server.url}/nope`, { signal: AbortSignal.timeout(5000) })).status).toBe(404);
  });
});

describe('effect sink server', () => {
  let recorder: HistoryRecorder;
  let sink: RecordingSink;
  let server: EffectSinkServer;
  const effect: EffectRecord = {
    effect_id: 'effect-1',
    at: 1_767_225_600_000,
    approval_id: 'a-1',
    request_id: 'r-1',
    identity: 'alice',
    action: 'payments.send',
    parameters: { amount: 5 },
  };

  beforeEach(async () => {
    recorder = new HistoryRecorder(historyConfig, defaultHistoryKeys());
    sink = new RecordingSink(recorder);
    server = await startEffectSinkServer(sink, {});
  });
  afterEach(async () => {
    await server.close();
  });

  it('a valid report is recorded before it is answered 204', async () => {
    const response = await post(server.effectsUrl, canonicalBytes(effect));
    expect(response.status).toBe(204);
    expect(sink.effects).toEqual([effect]);
    expect(recorder.events).toMatchObject([{ kind: 'effect', effect_id: 'effect-1', request_id: 'r-1', parameters: { amount: 5 } }]);
    expect(server.received).toBe(1);
    expect(server.rejected).toBe(0);
  });

  it.each([
    ['not JSON', '{"effect_id":'],
    ['a duplicate key', '{"effect_id":"e","effect_id":"f"}'],
    ['an array', '[]'],
    ['a missing field', JSON.stringify({ ...effect, approval_id: undefined })],
    ['a wrong type', canonicalize({ ...effect, at: '1767225600000' })],
    ['no parameters', JSON.stringify({ ...effect, parameters: undefined })],
  ])('%s is refused with 400 and not recorded', async (_name, body) => {
    const response = await post(server.effectsUrl, body);
    expect(response.status).toBe(400);
    expect(sink.effects).toEqual([]);
    expect(recorder.events).toEqual([]);
    expect(server.rejected).toBe(1);
    expect(server.received).toBe(0);
  });
});

describe('the reference gate against the harness services', () => {
  const dir = mkdtempSync(join(tmpdir(), 'failclosed-services-'));
  let recorder: HistoryRecorder;
  let controlPlane: ScriptedControlPlane;
  let cpServer: ControlPlaneServer;
  let cpProxy: FaultProxy;
  let sinkServer: EffectSinkServer;
  let sink: RecordingSink;
  let reference: RunningReference;

  beforeAll(async () => {
    recorder = new HistoryRecorder(historyConfig, defaultHistoryKeys());
    controlPlane = new ScriptedControlPlane(recorder);
    cpServer = await startControlPlaneServer(controlPlane, { trustedKeys: [trustedKey(TEST_KEYS.controlPlane)] });
    cpProxy = await startFaultProxy({ target: cpServer.url });
    sink = new RecordingSink(recorder);
    sinkServer = await startEffectSinkServer(sink, {});
    const identityKeysFile = join(dir, 'identity-keys.json');
    writeFileSync(identityKeysFile, JSON.stringify({ keys: defaultHistoryKeys().identityKeys }));
    const config = parseServeConfig(
      JSON.stringify({
        ports: { gate: 0, controlPlane: 0, executionLayer: 0 },
        dataDir: join(dir, 'data'),
        fsync: false,
        controlPlaneDeadlineMs: 1000,
        identityKeysFile,
        controlPlane: { url: cpProxy.url, trustedKeys: [trustedKey(TEST_KEYS.controlPlane)] },
        effects: { url: sinkServer.url },
      }),
      dir,
    );
    reference = await startReference(config);
  });
  afterAll(async () => {
    await reference?.close();
    await cpProxy?.close();
    await cpServer?.close();
    await sinkServer?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    recorder.reset();
    sink.effects.length = 0;
  });

  let sequence = 0;
  async function submit(): Promise<{ status: number; json: { status: string; code?: string; request_id?: string } }> {
    sequence += 1;
    const fields = { request_id: `r-e2e-${sequence}`, action: 'payments.send', parameters: { amount: 5, to: 'bob' }, nonce: `nonce-e2e-${String(sequence).padStart(8, '0')}` };
    const request = concreteRequest({}, fields, Math.floor(Date.now() / 1000), 300);
    const response = await post(`${reference.urls.gate}/v1/requests`, canonicalBytes(request), 10_000);
    return { status: response.status, json: (await response.json()) as { status: string; code?: string } };
  }

  it('an allowed request executes: one policy exchange and one effect, recorded by the harness', async () => {
    controlPlane.answer({ answers: { controlPlane: 'allow' }, approvalId: 'a-e2e-1' });
    const answer = await submit();
    expect(answer.status).toBe(200);
    expect(answer.json.status).toBe('executed');
    expect(sink.effects).toHaveLength(1);
    expect(sink.effects[0]).toMatchObject({ approval_id: 'a-e2e-1', request_id: answer.json.request_id, identity: 'alice', action: 'payments.send', parameters: { amount: 5, to: 'bob' } });
    expect(recorder.events.filter((e) => e.kind === 'policy')).toHaveLength(1);
    expect(recorder.events.filter((e) => e.kind === 'effect')).toHaveLength(1);
    expect(controlPlane.takeDigestMismatches()).toEqual([]);
  });

  it('a partitioned Control Plane is unavailable to the gate (refused, not a timeout), and healing restores it', async () => {
    controlPlane.answer({ answers: { controlPlane: 'allow' }, approvalId: 'a-e2e-2', approvalPerQuestion: true });
    expect((await submit()).json.status).toBe('executed'); // the gate has talked to the proxy before
    await cpProxy.setMode({ kind: 'partition' });
    try {
      const cut = await submit();
      expect(cut.json).toMatchObject({ status: 'denied', code: 'CONTROL_PLANE_UNAVAILABLE' });
    } finally {
      await cpProxy.setMode({ kind: 'pass' });
    }
    expect((await submit()).json.status).toBe('executed');
    expect(sink.effects).toHaveLength(2);
    expect(recorder.events.filter((e) => e.kind === 'policy')).toHaveLength(2);
  });

  it('a blackholed Control Plane is a timeout to the gate', async () => {
    controlPlane.answer({ answers: { controlPlane: 'allow' }, approvalId: 'a-e2e-3' });
    await cpProxy.setMode({ kind: 'blackhole' });
    try {
      const answer = await submit();
      expect(answer.json).toMatchObject({ status: 'denied', code: 'CONTROL_PLANE_TIMEOUT' });
    } finally {
      await cpProxy.setMode({ kind: 'pass' });
    }
    expect(sink.effects).toEqual([]);
    expect(recorder.events.filter((e) => e.kind === 'policy')).toHaveLength(0);
  });
});
