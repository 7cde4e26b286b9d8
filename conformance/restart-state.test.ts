/**
 * What a restart keeps (CONTRACT.md section 9, restart):
 *  - the harness's faults and clock offset are its settings: a gate may keep or drop them across a
 *    restart, so the harness re-asserts what it left on; a gate must never come back with a fault
 *    the harness did not leave on;
 *  - a final audit record that waits for the log when the system crashes was promised by an
 *    answer: it must survive the crash and be written when the log is back.
 */
import { describe, expect, it } from 'vitest';
import { checkInvariants } from '../model/invariants/index.ts';
import { Gate } from '../reference-impl/gate/gate.ts';
import { MemoryAuditSpool } from '../reference-impl/audit/audit-spool.ts';
import type { FaultyClaimStore } from '../reference-impl/stores/faulty-claim-store.ts';
import type { InProcessTarget } from './in-process-target.ts';
import { referenceTarget } from '../reference-impl/in-process-target.ts';
import { InProcessDriver } from '../harness/drivers/in-process.ts';
import { HttpDriver, fetchHello } from '../harness/drivers/http.ts';
import { startFakeGate } from '../harness/fake-gate-test-support.ts';
import { startHttpHarness } from '../harness/http-harness.ts';
import { CrashDuringAuditOutage } from './commands/fault-commands.ts';
import { CrashRestartThenReplay } from './commands/replay-commands.ts';
import { ACCEPTANCE_WINDOW_SEC, createHarness } from './runner.ts';
import { ConformanceFailure, RunContext } from './run-context.ts';

const happy = { threat: 'happy-path', invariants: [] } as const;

async function contextFor(target: InProcessTarget) {
  const harness = createHarness();
  // A new driver starts its system fresh: the first start is the one the run begins with.
  const driver = new InProcessDriver(target, harness);
  const ctx = new RunContext(driver, harness.controlPlane, harness.recorder, ACCEPTANCE_WINDOW_SEC, 'restart');
  const verdicts = async () => {
    await driver.settle();
    return checkInvariants(harness.recorder.build(await driver.auditExport(), true));
  };
  return { ctx, driver, verdicts };
}

describe('faults and the clock offset across a restart', () => {
  it('the HTTP driver says again, right after a restart, every fault it left on and its clock offset', async () => {
    const harness = createHarness();
    const services = await startHttpHarness(harness);
    const gate = await startFakeGate({ capabilities: ['audit-down', 'nonce-store-down', 'clock-offset', 'crash-restart', 'reset'], controlPlaneUrl: services.controlPlaneUrl, effectSinkUrl: services.effectSinkUrl });
    try {
      const driver = new HttpDriver({ gateUrl: gate.url, recorder: harness.recorder, hello: await fetchHello(gate.url) });
      await driver.reset();
      await driver.setFault('audit-down', true);
      await driver.setFault('nonce-store-down', true);
      await driver.setFault('nonce-store-down', false);
      await driver.setClockOffset(-5000);
      gate.calls.length = 0;
      await driver.crashAndRestart();
      expect(gate.calls).toEqual(['restart {}', 'fault {"active":true,"fault":"audit-down"}', 'clock {"offset_ms":-5000}']);
      // Nothing left on: nothing to say again.
      await driver.setFault('audit-down', false);
      await driver.setClockOffset(0);
      gate.calls.length = 0;
      await driver.crashAndRestart();
      expect(gate.calls).toEqual(['restart {}']);
    } finally {
      await gate.close();
      await services.close();
    }
  });

  it('a gate that comes back from a restart with a fault the harness did not leave on is caught', async () => {
    // The reference, except that every restart leaves its nonce store switched "down".
    const reference = referenceTarget();
    let starts = 0;
    const faultOnRestart: InProcessTarget = {
      name: 'restart-switches-a-fault-on',
      start(env) {
        starts += 1;
        if (starts > 1) (env.nonces as FaultyClaimStore).mode = 'unavailable';
        return reference.start(env);
      },
    };
    const { ctx } = await contextFor(faultOnRestart);
    await ctx.gateScenario({ label: 'a valid request', tag: happy, answers: {} });
    // The harness left the store healthy: the replay's NONCE_STORE_UNAVAILABLE is the code of a
    // check that did not fail — a contract finding — and the next valid request is refused.
    await new CrashRestartThenReplay(0).run({}, ctx);
    expect(ctx.contractFindings.map((f) => f.message)).toEqual([expect.stringMatching(/expected denied with REPLAY_DETECTED.*observed denied with NONCE_STORE_UNAVAILABLE/)]);
    const error = await ctx.gateScenario({ label: 'a valid request after the restart', tag: happy, answers: {} }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConformanceFailure);
    expect((error as ConformanceFailure).message).toContain('expected executed');
    expect((error as ConformanceFailure).message).toContain('observed denied with NONCE_STORE_UNAVAILABLE');
  });
});

describe('a final record waiting for the audit log when the system crashes', () => {
  it('survives the crash in the reference, and is written once the log is back', async () => {
    const { ctx, verdicts } = await contextFor(referenceTarget());
    await ctx.gateScenario({ label: 'a valid request', tag: happy, answers: {} });
    await new CrashDuringAuditOutage().run({}, ctx);
    await ctx.gateScenario({ label: 'a valid request after the outage', tag: happy, answers: {} });
    const inv5 = (await verdicts()).find((v) => v.invariant === 'INV-5');
    expect(inv5?.violations).toEqual([]);
  });

  it('is caught when a gate keeps it only in memory (lost in the crash)', async () => {
    const volatileSpool = referenceTarget('volatile-spool', { makeGate: (deps) => new Gate({ ...deps, spool: new MemoryAuditSpool() }) });
    const { ctx, verdicts } = await contextFor(volatileSpool);
    await ctx.gateScenario({ label: 'a valid request', tag: happy, answers: {} });
    await new CrashDuringAuditOutage().run({}, ctx);
    await ctx.gateScenario({ label: 'a valid request after the outage', tag: happy, answers: {} });
    const inv5 = (await verdicts()).find((v) => v.invariant === 'INV-5');
    expect(inv5?.violations.map((v) => v.message)).toContainEqual(expect.stringMatching(/^Request op 2 has no final audit record\.$/));
  });
});
