/**
 * Concurrent duplicates over HTTP, against the reference system started for real on loopback
 * with its durable stores (fsync on, as deployed). INV-3: of N copies of one signed request
 * exactly one executes, the rest are denied as replays; of N calls carrying one approval envelope
 * exactly one executes, the rest are denied as replayed envelopes. INV-5: every request closes
 * with exactly one final audit record, and the chain verifies.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { canonicalBytes } from '../../model/profile/canonical-json.ts';
import { digestJson, sha256Digest } from '../../model/profile/digest.ts';
import { fromHex } from '../../model/profile/encoding.ts';
import type { AuditRecord } from '../../model/profile/messages.ts';
import { signRequest } from '../../model/profile/messages.ts';
import type { KeyId, KeyPair } from '../../model/profile/signing.ts';
import { keyPairFromSeed } from '../../model/profile/signing.ts';
import { verifyChain } from '../audit/audit-log.ts';
import type { RunningReference } from '../serve.ts';
import { startReference } from '../serve.ts';
import { parseServeConfig } from '../serve-config.ts';

const REQUEST_TIMEOUT_MS = 15_000;

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

function post(agent: Agent, url: string, body: Uint8Array): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
        } catch (error) {
          reject(error as Error);
        }
      });
      res.on('error', reject);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`POST ${url}: no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function getAudit(gateUrl: string): Promise<AuditRecord[]> {
  const response = await fetch(`${gateUrl}/v1/audit`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  expect(response.status).toBe(200);
  return JSON.parse(await response.text()) as AuditRecord[];
}

interface System {
  ref: RunningReference;
  dir: string;
  /** no socket limit: all copies are in flight at once */
  agent: Agent;
  demoKey: KeyPair;
}

async function startSystem(): Promise<System> {
  const dir = mkdtempSync(join(tmpdir(), 'failclosed-concurrency-'));
  const ref = await startReference(parseServeConfig(JSON.stringify({ ports: { gate: 0, controlPlane: 0, executionLayer: 0 }, dataDir: join(dir, 'data') })));
  const stored = JSON.parse(readFileSync(ref.paths.demoClientKey!, 'utf8')) as { key_id: KeyId; seed_hex: string };
  return { ref, dir, agent: new Agent({ keepAlive: true }), demoKey: keyPairFromSeed(stored.key_id, fromHex(stored.seed_hex)!) };
}

async function stopSystem(system: System | undefined): Promise<void> {
  if (!system) return;
  system.agent.destroy();
  await system.ref.close();
  rmSync(system.dir, { recursive: true, force: true });
}

function effects(system: System): { request_id: string; approval_id: string }[] {
  return readFileSync(system.ref.paths.effects!, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { request_id: string; approval_id: string });
}

function signedRequest(system: System, parameters: JsonValue): { requestId: string; bytes: Uint8Array } {
  const requestId = `req-${randomUUID()}`;
  const signed = signRequest(
    { request_id: requestId, identity: 'demo', action: 'demo.echo', parameters, timestamp: Math.floor(Date.now() / 1000), nonce: `n${randomUUID().replaceAll('-', '')}`, key_id: system.demoKey.keyId },
    system.demoKey,
  );
  return { requestId, bytes: canonicalBytes(signed) };
}

/** Each answer's trace has exactly one final record, with the answer's outcome. */
function expectOneFinalPerAnswer(records: readonly AuditRecord[], replies: readonly Reply[]): void {
  for (const reply of replies) {
    const finals = records.filter((r) => r.trace_id === reply.body.trace_id && r.stage === 'final');
    expect(finals, `final records of ${String(reply.body.trace_id)}`).toHaveLength(1);
    const final = finals[0]!;
    if (reply.body.status === 'executed') expect(final).toMatchObject({ decision: 'allow', outcome: 'executed' });
    else expect(final).toMatchObject({ decision: 'deny', code: reply.body.code });
  }
}

describe('concurrent copies of one signed request through the Gate', () => {
  let system: System | undefined;
  beforeAll(async () => {
    system = await startSystem();
  });
  afterAll(() => stopSystem(system));

  it('executes exactly one of 50 identical requests and denies the others as replays', async () => {
    const s = system!;
    const N = 50;
    const { requestId, bytes } = signedRequest(s, { message: 'once only' });
    const replies = await Promise.all(Array.from({ length: N }, () => post(s.agent, `${s.ref.urls.gate}/v1/requests`, bytes)));

    const executed = replies.filter((r) => r.body.status === 'executed');
    const denied = replies.filter((r) => r.body.status === 'denied');
    expect(executed).toHaveLength(1);
    expect(executed[0]!.status).toBe(200);
    expect(denied).toHaveLength(N - 1);
    for (const reply of denied) expect(reply).toMatchObject({ status: 403, body: { code: 'REPLAY_DETECTED' } });

    expect(effects(s).map((e) => e.request_id)).toEqual([requestId]);

    const records = await getAudit(s.ref.urls.gate);
    expect(verifyChain(records)).toEqual({ ok: true });
    const hash = sha256Digest(bytes);
    expect(records.every((r) => r.request_hash === hash)).toBe(true);
    expect(records.filter((r) => r.stage === 'final')).toHaveLength(N);
    expect(records.filter((r) => r.stage === 'intent')).toHaveLength(1);
    expectOneFinalPerAnswer(records, replies);
  });

  it('executes each of 30 distinct concurrent requests once, with one final record each', async () => {
    const s = system!;
    const N = 30;
    const before = (await getAudit(s.ref.urls.gate)).length;
    const effectsBefore = effects(s).length;
    const requests = Array.from({ length: N }, (_, i) => signedRequest(s, { message: 'many', i }));
    const replies = await Promise.all(requests.map((r) => post(s.agent, `${s.ref.urls.gate}/v1/requests`, r.bytes)));

    expect(replies.map((r) => r.body.status)).toEqual(Array(N).fill('executed'));
    expect(effects(s).slice(effectsBefore).map((e) => e.request_id).sort()).toEqual(requests.map((r) => r.requestId).sort());

    const records = await getAudit(s.ref.urls.gate);
    expect(verifyChain(records)).toEqual({ ok: true });
    const added = records.slice(before);
    expect(added.filter((r) => r.stage === 'intent')).toHaveLength(N);
    expect(added.filter((r) => r.stage === 'final')).toHaveLength(N);
    expectOneFinalPerAnswer(added, replies);
  });
});

describe('concurrent calls carrying one approval envelope, straight to the Execution Layer', () => {
  let system: System | undefined;
  beforeAll(async () => {
    system = await startSystem();
  });
  afterAll(() => stopSystem(system));

  it('executes exactly one of 20 calls and denies the others as replayed envelopes', async () => {
    const s = system!;
    const N = 20;
    const parameters: JsonValue = { message: 'one approval', amount: 7 };
    const requestId = `req-${randomUUID()}`;
    const question = { request_id: requestId, identity: 'demo', action: 'demo.echo', parameters, parameters_digest: digestJson(parameters) };
    const decision = await post(s.agent, `${s.ref.urls.controlPlane}/v1/decide`, canonicalBytes(question));
    expect(decision.status).toBe(200);
    expect(decision.body.decision).toBe('allow');
    const envelope = decision.body.envelope as { approval_id: string };

    const call = canonicalBytes({ envelope: envelope as unknown as JsonValue, request_id: requestId, identity: 'demo', action: 'demo.echo', parameters });
    const replies = await Promise.all(Array.from({ length: N }, () => post(s.agent, `${s.ref.urls.executionLayer}/v1/execute`, call)));

    const executed = replies.filter((r) => r.body.status === 'executed');
    expect(executed).toHaveLength(1);
    expect(executed[0]).toMatchObject({ status: 200, body: { approval_id: envelope.approval_id } });
    const denied = replies.filter((r) => r.body.status === 'denied');
    expect(denied).toHaveLength(N - 1);
    for (const reply of denied) expect(reply).toMatchObject({ status: 403, body: { code: 'ENVELOPE_REPLAYED' } });

    expect(effects(s)).toEqual([expect.objectContaining({ request_id: requestId, approval_id: envelope.approval_id })]);
  });
});
