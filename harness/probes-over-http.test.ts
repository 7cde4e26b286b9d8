/**
 * The scenarios of issue 10 (classes 5–7) over real sockets: aborted uploads, headers at the Gate,
 * the Gate's own Execution Layer calls as the harness's proxy saw them, bursts at the contract's
 * limit, and replicas under controlled interleavings — against the reference as `failclosed serve`
 * processes (no false alarm), and against the planted bugs that only show over HTTP or between
 * replicas.
 */
import { describe, expect, it } from 'vitest';
import { checkInvariants } from '../model/invariants/index.ts';
import type { Command } from '../conformance/commands/command.ts';
import { createServer } from 'node:http';
import { AbortedUpload, HealthDuringOutage, SameBytesTwice } from '../conformance/commands/obligation-commands.ts';
import { Burst, GateShapedProbe, TrustHeaders } from '../conformance/commands/probe-commands.ts';
import { ConcurrentDuplicates, CrashRestartThenReplay, ReplayEarlier } from '../conformance/commands/replay-commands.ts';
import { CrashMidClaim, ReplayThroughOtherReplica, SpreadDuplicates } from '../conformance/commands/replica-commands.ts';
import { ValidRequest } from '../conformance/commands/request-commands.ts';
import { ACCEPTANCE_WINDOW_SEC, createHarness } from '../conformance/runner.ts';
import { ConformanceFailure, RunContext } from '../conformance/run-context.ts';
import type { BurstMember } from '../conformance/scenarios/bursts.ts';
import { BURST_LIMIT } from '../conformance/scenarios/bursts.ts';
import { PROBE_KINDS } from '../conformance/scenarios/probes.ts';
import { referenceOverHttp } from './reference-over-http.ts';
import { HttpDriver } from './drivers/http.ts';
import { listen } from '../reference-impl/http/http-util.ts';
import { postgresAvailability } from './postgres-cluster.ts';


// Replicas of the reference share their state through PostgreSQL.
const postgres = postgresAvailability();
if (!postgres.ok) console.log(`probes-over-http.test.ts: the replica scenarios WILL FAIL (the tool is missing; .ci/run installs it) — ${postgres.reason}`);

interface Outcome {
  failure?: ConformanceFailure;
  broken: string[];
  trail: string;
  findings: string[];
}

/** Each list of commands on a fresh reset of one `failclosed serve` deployment (variant, replicas). */
async function overHttp(variant: string | undefined, replicas: number, runs: readonly (readonly Command[])[]): Promise<Outcome[]> {
  const harness = createHarness();
  const target = await referenceOverHttp(harness, variant, replicas);
  const outcomes: Outcome[] = [];
  try {
    const driver = await target.makeDriver(harness);
    for (const [i, commands] of runs.entries()) {
      await driver.reset();
      harness.recorder.reset();
      const ctx = new RunContext(driver, harness.controlPlane, harness.recorder, ACCEPTANCE_WINDOW_SEC, `http${i}`);
      let failure: ConformanceFailure | undefined;
      try {
        for (const command of commands) await command.run({}, ctx);
      } catch (error) {
        if (!(error instanceof ConformanceFailure)) throw error;
        failure = error;
      }
      const verdicts = checkInvariants(harness.recorder.build(await driver.auditExport(), true));
      outcomes.push({
        ...(failure ? { failure } : {}),
        broken: verdicts.filter((v) => !v.holds).map((v) => `${v.invariant}: ${v.violations[0]?.message}`),
        trail: ctx.trail.join('\n'),
        findings: ctx.contractFindings.map((f) => f.message),
      });
    }
    await driver.close();
  } finally {
    await target.close();
  }
  return outcomes;
}

const mixed = (n: number): BurstMember[] => Array.from({ length: n }, (_, i) => (['valid', 'bad-signature', 'valid', 'copy', 'stale', 'unknown-key', 'malformed'] as const)[i % 7]!);

describe('issue 10 scenarios over HTTP', () => {
  it('find no fault with the reference: two replicas over PostgreSQL, aborted uploads, trust headers, the Gate-shaped probes, a burst of 64, interleaved replicas', { timeout: 120_000 }, async () => {
    const [outcome] = await overHttp(undefined, 2, [
      [
        new ValidRequest(),
        new AbortedUpload({ fraction: 0.5, size: 'small' }),
        new AbortedUpload({ fraction: 0.05, size: 'large' }),
        new TrustHeaders('bad-signature'),
        new TrustHeaders('stale'),
        new GateShapedProbe(PROBE_KINDS),
        new SameBytesTwice('bad-signature'),
        new HealthDuringOutage(),
        new Burst(mixed(BURST_LIMIT)),
        new SpreadDuplicates(4, 0),
        new SpreadDuplicates(4, 3),
        new ReplayThroughOtherReplica(30),
        new CrashMidClaim(0),
        new CrashMidClaim(3),
        new ValidRequest(),
      ],
    ]);
    expect(outcome?.failure?.message).toBeUndefined();
    expect(outcome?.broken).toEqual([]);
    expect(outcome?.findings).toEqual([]);
    // The probes replayed what the proxy saw of the Gate's call, not a shape the harness made up.
    expect(outcome?.trail).not.toContain('was not seen by the harness');
  });

  it('catch a per-replica claim cache between two replicas, which one replica never shows', { timeout: 120_000 }, async () => {
    const [alone] = await overHttp('replica-claim-cache', 1, [[new ValidRequest(), new ReplayEarlier(0), new CrashRestartThenReplay(0), new ConcurrentDuplicates(8), new SpreadDuplicates(4, 3)]]);
    expect(alone?.failure?.message).toBeUndefined();
    expect(alone?.broken).toEqual([]);
    const [spread, later] = await overHttp('replica-claim-cache', 2, [[new SpreadDuplicates(2, 3)], [new ReplayThroughOtherReplica(30)]]);
    expect(spread?.failure?.invariants).toEqual(['INV-3']);
    expect(spread?.failure?.message).toMatch(/2 copies of one request over 2 replica\(s\), 3 ms apart: .*observed 2 executed/);
    expect(later?.failure?.message).toMatch(/replay through another replica, 30 s later \(replica 1\): expected denied with REPLAY_DETECTED.*observed executed, 1 effect/);
  });

  it('catch header trust on the wire: at the Gate, and at the Execution Layer through the shape the proxy captured', { timeout: 120_000 }, async () => {
    const [gate] = await overHttp('gate-trusts-internal-header', 1, [[new TrustHeaders('bad-signature', ['x-gateway-authenticated'])]]);
    expect(gate?.failure?.message).toMatch(/expected denied with SIGNATURE_INVALID.*observed executed, 1 effect/);
    const [el] = await overHttp('execution-layer-trusts-gate-header', 1, [[new GateShapedProbe(['expired'])]]);
    expect(el?.failure?.invariants).toEqual(['INV-6']);
    expect(el?.failure?.message).toMatch(/with the Gate's headers x-gate-verified, with an expired envelope: expected denied with ENVELOPE_EXPIRED.*observed executed, 1 effect/);
  });

  it('catch a Gate whose health follows its dependencies', async () => {
    // A gate that reports itself unhealthy whenever it cannot reach its Control Plane: here, always.
    const server = createServer((req, res) => {
      res.writeHead(req.url === '/healthz' ? 503 : 404, { 'content-type': 'application/json' });
      res.end('{"status":"degraded","control_plane":"unreachable"}');
    });
    const url = await listen(server, '127.0.0.1', 0);
    try {
      const harness = createHarness();
      const driver = new HttpDriver({ gateUrl: url, recorder: harness.recorder, hello: undefined });
      const ctx = new RunContext(driver, harness.controlPlane, harness.recorder, ACCEPTANCE_WINDOW_SEC, 'health');
      const error = await new HealthDuringOutage().run({}, ctx).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(ConformanceFailure);
      expect((error as ConformanceFailure).message).toBe('GET /healthz with the Control Plane unreachable: expected 200 from every replica; observed 503');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('read an audit export larger than 1 MiB: a gate without reset keeps its whole log, and bursts fill it fast', async () => {
    const records = Array.from({ length: 6000 }, (_, i) => ({ record_id: `rec-${i}`, note: 'x'.repeat(200) }));
    const body = JSON.stringify(records);
    expect(body.length).toBeGreaterThan(1024 * 1024);
    const server = createServer((req, res) => {
      if (req.url === '/v1/audit') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(body);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    const url = await listen(server, '127.0.0.1', 0);
    try {
      const harness = createHarness();
      const driver = new HttpDriver({ gateUrl: url, recorder: harness.recorder, hello: undefined });
      const [exported] = await driver.auditExport();
      expect(exported).toHaveLength(6000);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
