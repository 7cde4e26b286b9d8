/**
 * The scenarios of issue 10 (classes 5–7), in-process: each passes the reference, catches the
 * planted bug it was written for, and — shown with the commands that existed before — that bug
 * got through without it.
 */
import { describe, expect, it } from 'vitest';
import { checkInvariants } from '../../model/invariants/index.ts';
import type { InvariantVerdict } from '../../model/history.ts';
import { InProcessDriver } from '../../harness/drivers/in-process.ts';
import { Gate } from '../../reference-impl/gate/gate.ts';
import type { GateAnswer } from '../../reference-impl/gate/gate.ts';
import type { Digest } from '../../model/profile/digest.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { InProcessTarget } from '../in-process-target.ts';
import type { Command } from '../commands/command.ts';
import { DirectCall } from '../commands/bypass-commands.ts';
import { TamperInFlight } from '../commands/fault-commands.ts';
import { AbortedUpload, ApprovalReplayAfterRestart, KeyOfAnotherIdentity, SameBytesTwice } from '../commands/obligation-commands.ts';
import { Burst, GateShapedProbe, TrustHeaders } from '../commands/probe-commands.ts';
import { ConcurrentDuplicates, CrashRestartThenReplay, ReplayEarlier, ReplayedApproval } from '../commands/replay-commands.ts';
import { CrashAwaitingApproval, CrashMidClaim, ReplayThroughOtherReplica, SpreadDuplicates } from '../commands/replica-commands.ts';
import { TamperedSignature, UnknownKey, ValidRequest } from '../commands/request-commands.ts';
import { approvalsForgottenOnRestart } from '../mutants/approvals-forgotten-on-restart.ts';
import { auditDropsWhenBusy } from '../mutants/audit-drops-when-busy.ts';
import { executionLayerTrustsGateHeader } from '../mutants/execution-layer-trusts-gate-header.ts';
import { gateTrustsInternalHeader } from '../mutants/gate-trusts-internal-header.ts';
import { keyAcceptedForAnotherIdentity } from '../mutants/key-accepted-for-another-identity.ts';
import { replayAnsweredFromCache } from '../mutants/replay-answered-from-cache.ts';
import { restartLeavesRequestsRunning } from '../mutants/restart-leaves-requests-running.ts';
import { nonceStoreMemoryOnly } from '../mutants/nonce-store-memory-only.ts';
import { traceIdReusedForIdenticalBytes } from '../mutants/trace-id-reused-for-identical-bytes.ts';
import { ACCEPTANCE_WINDOW_SEC, createHarness } from '../runner.ts';
import { ConformanceFailure, RunContext } from '../run-context.ts';
import type { BurstMember } from './bursts.ts';
import { BURST_LIMIT } from './bursts.ts';
import { PROBE_KINDS } from './probes.ts';
import { REPLICA_ADVANCES_SEC } from './replicas.ts';

/** Runs commands against a fresh in-process system; returns the first failure (if any) and the verdicts over its history. */
async function drive(target: InProcessTarget, commands: readonly Command[]): Promise<{ failure?: ConformanceFailure; verdicts: InvariantVerdict[]; ctx: RunContext }> {
  const harness = createHarness();
  const driver = new InProcessDriver(target, harness);
  const ctx = new RunContext(driver, harness.controlPlane, harness.recorder, ACCEPTANCE_WINDOW_SEC, 'scn');
  let failure: ConformanceFailure | undefined;
  try {
    for (const command of commands) await command.run({}, ctx);
  } catch (error) {
    if (!(error instanceof ConformanceFailure)) throw error;
    failure = error;
  }
  await driver.settle();
  const verdicts = checkInvariants(harness.recorder.build(await driver.auditExport(), true));
  await driver.close();
  return { ...(failure ? { failure } : {}), verdicts, ctx };
}

const broken = (verdicts: InvariantVerdict[]) => verdicts.filter((v) => !v.holds).map((v) => `${v.invariant}: ${v.violations[0]?.message}`);

async function expectPasses(target: InProcessTarget, commands: readonly Command[]): Promise<RunContext> {
  const { failure, verdicts, ctx } = await drive(target, commands);
  expect(failure?.message).toBeUndefined();
  expect(broken(verdicts)).toEqual([]);
  expect(ctx.contractFindings).toEqual([]);
  return ctx;
}

const reference = referenceTarget();
const mixed = (n: number): BurstMember[] => Array.from({ length: n }, (_, i) => (['valid', 'bad-signature', 'valid', 'copy', 'stale', 'unknown-key', 'malformed'] as const)[i % 7]!);

describe('a key registered and active, but for another identity (class 6)', () => {
  it('the reference denies it KEY_UNKNOWN, either way round', async () => {
    await expectPasses(reference, [new KeyOfAnotherIdentity('alice-with-bob-key'), new KeyOfAnotherIdentity('bob-with-alice-key'), new ValidRequest()]);
  });

  it('catches a Gate that looks keys up by key_id alone — which an unregistered key never showed', async () => {
    await expectPasses(keyAcceptedForAnotherIdentity.target, [new UnknownKey(), new TamperedSignature(), new ValidRequest()]);
    const { failure } = await drive(keyAcceptedForAnotherIdentity.target, [new KeyOfAnotherIdentity('alice-with-bob-key')]);
    expect(failure?.invariants).toEqual(['INV-3']);
    expect(failure?.message).toMatch(/signed with ed25519\/bob.*expected denied with KEY_UNKNOWN.*observed executed, 1 effect/);
  });
});

describe("an approval's single use across a crash-restart (class 6)", () => {
  it('the reference refuses it ENVELOPE_REPLAYED, through the Gate and straight to the Execution Layer', async () => {
    await expectPasses(reference, [new ApprovalReplayAfterRestart('gate'), new ApprovalReplayAfterRestart('direct')]);
  });

  it('catches an Execution Layer that keeps consumed approvals in memory — which replays without a crash never showed', async () => {
    await expectPasses(approvalsForgottenOnRestart.target, [new ReplayedApproval(), new ValidRequest(), new CrashRestartThenReplay(0), new DirectCall('replayed')]);
    for (const via of ['gate', 'direct'] as const) {
      const { failure } = await drive(approvalsForgottenOnRestart.target, [new ApprovalReplayAfterRestart(via)]);
      expect(failure?.invariants).toEqual(['INV-3', 'INV-6']);
      expect(failure?.message).toMatch(/after a crash-restart: expected denied with ENVELOPE_REPLAYED, 0 effect\(s\); observed executed, 1 effect/);
    }
  });
});

describe('an aborted upload (class 6)', () => {
  it('the reference denies and audits it by the bytes that arrived', async () => {
    await expectPasses(reference, [new AbortedUpload({ fraction: 0.5, size: 'small' }), new AbortedUpload({ fraction: 0.05, size: 'large' }), new ValidRequest()]);
  });

  it('catches a Gate that forgets a body no one is left to answer', async () => {
    class ForgetsAbortedUploads extends Gate {
      override async refuseUnread(_requestHash: Digest): Promise<GateAnswer> {
        return { status: 'denied', code: 'REQUEST_MALFORMED', trace_id: 'trace-nobody-listens' };
      }
    }
    const { failure, verdicts } = await drive(referenceTarget('forgets-aborted-uploads', { makeGate: (deps) => new ForgetsAbortedUploads(deps) }), [new AbortedUpload({ fraction: 0.5, size: 'small' })]);
    expect(failure).toBeUndefined();
    expect(broken(verdicts)).toEqual([expect.stringMatching(/^INV-5: Request op 1 has no final audit record\.$/)]);
  });
});

describe('trace_id: fresh for every HTTP request, identical bytes included (class 6)', () => {
  it('the reference gives the same bytes sent twice two traces', async () => {
    await expectPasses(reference, [new SameBytesTwice('bad-signature'), new SameBytesTwice('stale'), new SameBytesTwice('malformed-nonce')]);
  });

  it('catches a trace derived from the bytes, even when both copies are denied and audited', async () => {
    // Gateway events are a SHOULD: without them, every other INV-5 rule holds — the trace rule alone tells.
    const withoutEvents: InProcessTarget = {
      name: 'trace-from-bytes, no events',
      start: (env) => ({ ...traceIdReusedForIdenticalBytes.target.start(env), gatewayEvents: undefined }),
    };
    const { failure, verdicts } = await drive(withoutEvents, [new SameBytesTwice('bad-signature')]);
    expect(failure).toBeUndefined();
    const inv5 = verdicts.find((v) => v.invariant === 'INV-5')!;
    expect(inv5.violations.map((v) => v.message)).toEqual([expect.stringMatching(/^The Gate answered 2 requests \(ops 1, 2\) with the same trace_id trace-[0-9a-f]+: .*identical bytes sent twice included\.$/)]);
  });

  it('a replay answered from a cache of earlier results is caught (blind gates A replay-cache, B result-cache)', async () => {
    const { failure } = await drive(replayAnsweredFromCache.target, [new ValidRequest(), new ReplayEarlier(0)]);
    expect(failure?.message).toMatch(/replay of earlier request .*expected denied with REPLAY_DETECTED.*observed executed, 0 effect/);
  });
});

describe('headers a gate might trust, at the Gate (class 5)', () => {
  it('the reference decides on the bytes alone', async () => {
    const forms = ['bad-signature', 'stale', 'future', 'unknown-key', 'revoked-key'] as const;
    await expectPasses(reference, [...forms.map((f) => new TrustHeaders(f)), new TrustHeaders('bad-signature', ['x-gateway-authenticated'])]);
  });

  it('catches a Gate that takes x-gateway-authenticated for proof — which requests without headers never showed', async () => {
    await expectPasses(gateTrustsInternalHeader.target, [new TamperedSignature(), new UnknownKey(), new ValidRequest()]);
    const { failure } = await drive(gateTrustsInternalHeader.target, [new TrustHeaders('bad-signature')]);
    expect(failure?.invariants).toEqual(['INV-3']);
    expect(failure?.message).toMatch(/expected denied with SIGNATURE_INVALID.*observed executed, 1 effect/);
  });
});

describe("the Gate's own Execution Layer call, replayed with a bad envelope (class 5)", () => {
  it('the reference Execution Layer refuses every probe in the shape it captured', async () => {
    const ctx = await expectPasses(reference, [new GateShapedProbe(PROBE_KINDS)]);
    expect(ctx.trail.join('\n')).not.toContain('was not seen by the harness');
  });

  it('catches an Execution Layer that trusts the header on the Gate\'s calls — which the bypass probes and tampering never showed', async () => {
    const before = [new DirectCall('forged'), new DirectCall('expired'), new DirectCall('no-envelope'), new DirectCall('mismatched'), new TamperInFlight(), new ValidRequest()];
    await expectPasses(executionLayerTrustsGateHeader.target, before);
    const { failure, ctx } = await drive(executionLayerTrustsGateHeader.target, [new GateShapedProbe(['forged'])]);
    expect(failure?.invariants).toEqual(['INV-6']);
    expect(failure?.message).toMatch(/with the Gate's headers x-gate-verified, with a forged envelope: expected denied with ENVELOPE_SIGNATURE_INVALID.*observed executed, 1 effect/);
    expect(ctx.trail.join('\n')).toContain('/v1/execute');
  });
});

describe("bursts up to the contract's limit (class 5)", () => {
  it(`the reference answers and audits ${BURST_LIMIT} requests in flight at once`, async () => {
    await expectPasses(reference, [new Burst(mixed(BURST_LIMIT)), new ConcurrentDuplicates(BURST_LIMIT), new ReplayEarlier(3)]);
  });

  it('catches an audit pipeline that sheds records past 16 in flight — which bursts of 12 never showed', async () => {
    await expectPasses(auditDropsWhenBusy.target, [new ConcurrentDuplicates(12), new Burst(mixed(12)), new Burst(mixed(16))]);
    const { failure, verdicts } = await drive(auditDropsWhenBusy.target, [new Burst(mixed(BURST_LIMIT))]);
    expect(failure).toBeUndefined();
    expect(broken(verdicts)).toEqual([expect.stringMatching(/^INV-5: Request ops? [\d, ]+ (has no final audit record|sent the same bytes \d+ times, but the audit holds only \d+ final records)/)]);
  });
});

describe('replica scenarios on one system (class 7)', () => {
  it('the reference passes spread, staggered and crashed-mid-claim duplicates', async () => {
    await expectPasses(reference, [
      new SpreadDuplicates(4, 0),
      new SpreadDuplicates(5, 3),
      new ReplayThroughOtherReplica(0),
      new ReplayThroughOtherReplica(REPLICA_ADVANCES_SEC.at(-1)!),
      ...[0, 1, 3, 8].map((ms) => new CrashMidClaim(ms)),
      new CrashAwaitingApproval(),
      new ValidRequest(),
    ]);
  });

  it("catches a restart that leaves the crashed generation's requests running — which a crash timed in milliseconds never showed", async () => {
    await expectPasses(restartLeavesRequestsRunning.target, [...[0, 1, 3, 8].map((ms) => new CrashMidClaim(ms)), new CrashRestartThenReplay(0), new ValidRequest()]);
    const { failure } = await drive(restartLeavesRequestsRunning.target, [new CrashAwaitingApproval()]);
    expect(failure?.invariants).toEqual(['INV-3']);
    expect(failure?.message).toMatch(/asked before the crash\): first executed, replay denied REPLAY_DETECTED, 1 effect/);
  });

  it('catches a claim lost in the crash while the Control Plane held its answer', async () => {
    const { failure } = await drive(nonceStoreMemoryOnly.target, [new CrashAwaitingApproval()]);
    expect(failure?.invariants).toEqual(['INV-3']);
    expect(failure?.message).toMatch(/asked before the crash\): first denied [A-Z_]+, replay executed, 1 effect/);
  });
});
