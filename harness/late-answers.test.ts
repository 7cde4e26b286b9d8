/**
 * Late answers and call counting, piece by piece: the proxy's `late` mode and its record of every
 * call, the Control Plane's late allow over HTTP and in-process, the in-process link's delayed
 * delivery, and the watch before judging that puts a late effect into the history INV-4 judges.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { History } from '../model/history.ts';
import { defaultHistoryKeys } from '../model/history-builder.ts';
import { checkInv4 } from '../model/invariants/inv-4-fail-closed.ts';
import type { JsonValue } from '../model/profile/canonical-json.ts';
import { canonicalBytes, parseStrictJson } from '../model/profile/canonical-json.ts';
import { digestJson } from '../model/profile/digest.ts';
import type { PolicyQuestion } from '../model/profile/messages.ts';
import type { ApprovalEnvelope, ClientRequest } from '../model/profile/messages.ts';
import { Denial, Gate } from '../reference-impl/gate/gate.ts';
import { closeServer, listen } from '../reference-impl/http/http-util.ts';
import { referenceTarget } from '../reference-impl/in-process-target.ts';
import { ConformanceFailure, RunContext } from '../conformance/run-context.ts';
import { createHarness } from '../conformance/runner.ts';
import { judgeHistory } from '../conformance/run-control/judge.ts';
import { RunWindows } from '../conformance/run-control/windows.ts';
import { ScriptedControlPlane } from './control-plane/scripted-control-plane.ts';
import { InProcessDriver } from './drivers/in-process.ts';
import { HistoryRecorder } from './history-recorder.ts';
import { LateRelease } from './late-release.ts';
import type { ProxiedCall } from './services/fault-proxy.ts';
import { startFaultProxy } from './services/fault-proxy.ts';
import { startControlPlaneServer } from './services/control-plane-server.ts';

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** An upstream that counts what it receives and answers 200. */
async function countingUpstream(): Promise<{ url: string; received: string[] }> {
  const received: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"executed","effect_id":"e-1","approval_id":"apr-1"}');
    });
  });
  const url = await listen(server, '127.0.0.1', 0);
  closers.push(() => closeServer(server));
  return { url, received };
}

const call = (approvalId: string) => JSON.stringify({ envelope: { approval_id: approvalId }, request_id: 'req-1', identity: 'alice', action: 'a', parameters: {} });

describe('the fault proxy', () => {
  it('records every call that reaches it — a retry included — with its approval id and how it was delivered', async () => {
    const upstream = await countingUpstream();
    const seen: ProxiedCall[] = [];
    const proxy = await startFaultProxy({ target: upstream.url, onCall: (c) => seen.push(c) });
    closers.push(() => proxy.close());
    for (let i = 0; i < 2; i++) await (await fetch(`${proxy.url}/v1/execute`, { method: 'POST', body: call('apr-1') })).text();
    await proxy.setMode({ kind: 'garble' });
    await (await fetch(`${proxy.url}/v1/execute`, { method: 'POST', body: 'not json' })).text();
    expect(seen).toEqual([
      { approval_id: 'apr-1', request_id: 'req-1', delivery: 'now' },
      { approval_id: 'apr-1', request_id: 'req-1', delivery: 'now' },
      { delivery: 'never' },
    ]);
  });

  it('late: holds a call past the client giving up, delivers it when released, and never answers the client', async () => {
    const upstream = await countingUpstream();
    const late = new LateRelease();
    const seen: ProxiedCall[] = [];
    const proxy = await startFaultProxy({ target: upstream.url, onCall: (c) => seen.push(c) });
    closers.push(() => proxy.close());
    await proxy.setMode({ kind: 'late', release: late });
    const started = Date.now();
    const client = fetch(`${proxy.url}/v1/execute`, { method: 'POST', body: call('apr-late'), signal: AbortSignal.timeout(150) }).then(
      () => 'answered',
      (error: Error) => error.name,
    );
    expect(await client).toBe('TimeoutError');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    // The client has given up; nothing reached the dependency yet.
    expect(upstream.received).toEqual([]);
    expect(late.held).toBe(1);
    await proxy.setMode({ kind: 'pass' });
    expect(await late.release(20)).toEqual({ delivered: 1, reachedGate: 0 });
    expect(upstream.received).toHaveLength(1);
    expect(JSON.parse(upstream.received[0]!).envelope.approval_id).toBe('apr-late');
    expect(seen).toEqual([{ approval_id: 'apr-late', request_id: 'req-1', delivery: 'late' }]);
    expect(late.held).toBe(0);
    expect(late.lastDeliveredAt).toBeGreaterThanOrEqual(started);
  });
});

function question(requestId: string): PolicyQuestion {
  const parameters = { to: 'bob', amount: 1 };
  return { request_id: requestId, identity: 'alice', action: 'payments.transfer', parameters, parameters_digest: digestJson(parameters) };
}

describe('the late allow of the Control Plane the harness plays', () => {
  it('over HTTP: an exchange still open gets a valid allow once released, recorded after; one the Gate hung up on gets nothing', async () => {
    const recorder = new HistoryRecorder({ acceptanceWindowSec: 300, replayWindowSec: 600 }, defaultHistoryKeys());
    const controlPlane = new ScriptedControlPlane(recorder);
    const server = await startControlPlaneServer(controlPlane);
    closers.push(() => server.close());
    controlPlane.answer({ answers: { controlPlane: 'lateAllow' }, approvalId: 'apr-late' });
    const patient = fetch(`${server.url}/v1/decide`, { method: 'POST', body: canonicalBytes(question('req-patient') as unknown as JsonValue), signal: AbortSignal.timeout(5000) });
    const hasty = fetch(`${server.url}/v1/decide`, { method: 'POST', body: canonicalBytes(question('req-hasty') as unknown as JsonValue), signal: AbortSignal.timeout(150) }).catch((e: Error) => e.name);
    expect(await hasty).toBe('TimeoutError');
    while (controlPlane.late.held < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(recorder.events.filter((e) => e.kind === 'policy')).toEqual([]);
    // Released a moment after the hang-up, as the run context does (the server sees the close first).
    expect(await controlPlane.late.release(50)).toEqual({ delivered: 2, reachedGate: 1 });
    const answer = parseStrictJson(new Uint8Array(await (await patient).arrayBuffer())) as unknown as { decision: string; envelope: ApprovalEnvelope };
    expect(answer.decision).toBe('allow');
    expect(answer.envelope).toMatchObject({ approval_id: 'apr-late', request_id: 'req-patient', key_id: 'ed25519/control-plane' });
    const policies = recorder.events.filter((e) => e.kind === 'policy');
    expect(policies.map((p) => p.kind === 'policy' && p.answer.kind).sort()).toEqual(['allow', 'no-answer']);
  });

  it('in-process: a Gate whose deadline fired meets a timeout; one that keeps the exchange open gets the allow', async () => {
    const recorder = new HistoryRecorder({ acceptanceWindowSec: 300, replayWindowSec: 600 }, defaultHistoryKeys());
    const controlPlane = new ScriptedControlPlane(recorder);
    controlPlane.answer({ answers: { controlPlane: 'lateAllow' }, approvalId: 'apr-late' });
    const timedOut = controlPlane.link.ask(question('req-deadline'), AbortSignal.timeout(50)).catch((e: Error) => e.message);
    const kept = controlPlane.link.ask(question('req-kept'), new AbortController().signal);
    expect(await timedOut).toMatch(/no answer before the deadline/);
    await controlPlane.late.release(0);
    expect(await kept).toMatchObject({ decision: 'allow', envelope: { request_id: 'req-kept' } });
  });
});

describe('the in-process link', () => {
  it('records each call the Gate makes, and a delayed call runs after the Gate answered EXECUTION_UNCONFIRMED', async () => {
    const harness = createHarness();
    const driver = new InProcessDriver(referenceTarget(), harness);
    closers.push(() => driver.close());
    const ctx = new RunContext(driver, harness.controlPlane, harness.recorder, 300, 'late');
    await ctx.gateScenario({ label: 'delayed', tag: { threat: 'late-answer', invariants: ['INV-4'] }, answers: { executionLink: 'delayed' }, lateByMs: 10 });
    const events = harness.recorder.events;
    const calls = events.filter((e) => e.kind === 'execution-call');
    expect(calls).toEqual([expect.objectContaining({ delivery: 'late', approval_id: expect.any(String) })]);
    const response = events.find((e) => e.kind === 'response');
    const effect = events.find((e) => e.kind === 'effect');
    expect(response).toMatchObject({ status: 'denied', code: 'EXECUTION_UNCONFIRMED' });
    expect(effect!.at).toBeGreaterThanOrEqual(response!.at);
  });
});

/** Denies by policy, then executes the same envelope-less call a moment later: a queue that drains. */
class DrainsLaterGate extends Gate {
  protected override async askControlPlane(request: ClientRequest): Promise<ApprovalEnvelope> {
    try {
      return await super.askControlPlane(request);
    } catch (error) {
      if (error instanceof Denial && error.code === 'POLICY_DENIED') {
        const envelope = { approval_id: 'never-approved' } as unknown as JsonValue;
        setTimeout(() => void this.deps.executionLayer.execute({ envelope, request_id: request.request_id, identity: request.identity, action: request.action, parameters: request.parameters }, AbortSignal.timeout(500)).catch(() => undefined), 5);
      }
      throw error;
    }
  }
}

/** Executes on its own, 10 ms after answering POLICY_DENIED, bypassing the Execution Layer's checks. */
function drainsLaterTarget() {
  return referenceTarget('drains-later', {
    makeGate: (deps) => new DrainsLaterGate(deps),
    makeExecutionLayer: (options) => {
      const sink = options.sink;
      return {
        execute: async (raw: JsonValue) => {
          const c = raw as { request_id: string; identity: string; action: string; parameters: JsonValue; envelope: { approval_id: string } };
          await sink.report({ effect_id: `effect-${c.request_id}`, at: Date.now(), approval_id: c.envelope.approval_id, request_id: c.request_id, identity: c.identity, action: c.action, parameters: c.parameters });
          return { status: 'executed', effect_id: `effect-${c.request_id}`, approval_id: c.envelope.approval_id };
        },
      } as never;
    },
  });
}

describe('the watch before judging', () => {
  it('puts an effect that comes just after the last step into the history judged, where INV-4 says how late it was', async () => {
    const harness = createHarness();
    const driver = new InProcessDriver(drainsLaterTarget(), harness);
    closers.push(() => driver.close());
    const windows = new RunWindows(driver, harness.recorder);
    await windows.ensureFresh();
    await windows.begin();
    const ctx = new RunContext(driver, harness.controlPlane, harness.recorder, 300, 'watch');
    await ctx.gateScenario({ label: 'denied by policy', tag: { threat: 'control-plane-failure', invariants: ['INV-1', 'INV-4'] }, answers: { controlPlane: 'deny' } });
    let judgedHistory: History | undefined;
    const judged = judgeHistory(ctx, windows, (history) => (judgedHistory = history));
    await expect(judged).rejects.toBeInstanceOf(ConformanceFailure);
    // INV-1 speaks first (no allow stands behind it); INV-4 says how late it came.
    expect(checkInv4(judgedHistory!).violations.map((v) => v.message)).toContainEqual(expect.stringMatching(/executed request op 1 \d+ ms after the Gate answered POLICY_DENIED/));
  });
});
