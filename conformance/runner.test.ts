import { describe, expect, it } from 'vitest';
import type { DenialCode } from '../model/profile/denial-codes.ts';
import type { ClientRequest } from '../model/profile/messages.ts';
import { Denial, Gate } from '../reference-impl/gate/gate.ts';
import { referenceTarget } from '../reference-impl/in-process-target.ts';
import { InProcessDriver } from '../harness/drivers/in-process.ts';
import type { Capability } from './driver.ts';
import { PROFILES } from './profiles.ts';
import type { DriverFactory } from './runner.ts';
import { runSuite } from './runner.ts';

const reference: DriverFactory = (h) => new InProcessDriver(referenceTarget(), h);

/** Accepts revoked keys: a one-line planted bug, to show the suite can fail. */
class RevocationIgnored extends Gate {
  protected override authenticationFailures(request: ClientRequest): DenialCode[] {
    return super.authenticationFailures(request).filter((c) => c !== 'KEY_REVOKED');
  }
}
const revocationIgnored: DriverFactory = (h) => new InProcessDriver(referenceTarget('revocation-ignored', { makeGate: (deps) => new RevocationIgnored(deps) }), h);

/** Remembers the nonces it claimed (a positive cache): a replay is REPLAY_DETECTED even while the store is failing. */
class ClaimCachingGate extends Gate {
  private readonly claimed = new Set<string>();
  protected override async claimNonce(request: ClientRequest): Promise<void> {
    const key = JSON.stringify([request.identity, request.action, request.nonce]);
    if (this.claimed.has(key)) throw new Denial('REPLAY_DETECTED', 'claimed before (cache)');
    try {
      await super.claimNonce(request);
    } catch (error) {
      // An unconfirmed claim may have landed: burnt for good, like a confirmed one.
      if (error instanceof Denial && error.code === 'NONCE_WRITE_UNCONFIRMED') this.claimed.add(key);
      throw error;
    }
    this.claimed.add(key);
  }
}
const claimCaching: DriverFactory = (h) => new InProcessDriver(referenceTarget('claim-caching', { makeGate: (deps) => new ClaimCachingGate(deps) }), h);

/** Denies a Control Plane timeout with the code of an outage (answer and audit alike): safe, but not the contract's code. */
class TimeoutCalledOutage extends Gate {
  protected override async askControlPlane(request: ClientRequest) {
    try {
      return await super.askControlPlane(request);
    } catch (error) {
      if (error instanceof Denial && error.code === 'CONTROL_PLANE_TIMEOUT') throw new Denial('CONTROL_PLANE_UNAVAILABLE', error.message);
      throw error;
    }
  }
}
const timeoutCalledOutage: DriverFactory = (h) => new InProcessDriver(referenceTarget('timeout-called-outage', { makeGate: (deps) => new TimeoutCalledOutage(deps) }), h);

describe('the suite', () => {
  it('accepts any code of a failing check: a replay while the nonce store fails may be REPLAY_DETECTED', async () => {
    const report = await runSuite(claimCaching, { profile: PROFILES.quick, seed: 7 });
    expect(report.reasons).toEqual([]);
    expect(report.verdict).toBe('compliant');
  });

  it('calls a safe denial with the wrong code a contract finding, not a broken invariant, and goes on', async () => {
    const report = await runSuite(timeoutCalledOutage, { profile: PROFILES.quick, seed: 7 });
    expect(report.verdict).toBe('non-compliant');
    expect(report.exitCode).toBe(1);
    expect(report.failure).toBeUndefined();
    expect(report.contractFindings[0]?.message).toMatch(/^wrong denial code: controlPlane\.timeout: expected denied with CONTROL_PLANE_TIMEOUT, 0 effect\(s\); observed denied with CONTROL_PLANE_UNAVAILABLE/);
    expect(report.counts.contractFindings).toBeGreaterThanOrEqual(report.contractFindings.length);
    expect(Object.values(report.invariants)).toEqual(['held', 'held', 'held', 'held', 'held', 'held']);
    expect(report.reasons[0]).toMatch(/contract finding\(s\), no invariant broken/);
    expect(report.level.met).toBe(false);
    // The whole campaign ran: a wrong code does not hide what comes after it.
    expect(report.counts.randomRuns).toBeGreaterThan(0);
  });

  it('finds the reference compliant, with full model coverage and every invariant held', async () => {
    const report = await runSuite(reference, { profile: PROFILES.quick, seed: 7 });
    expect(report.reasons).toEqual([]);
    expect(report.verdict).toBe('compliant');
    expect(report.exitCode).toBe(0);
    expect(report.coverage.percent).toBe(100);
    expect(report.counts.steps).toBeGreaterThanOrEqual(PROFILES.quick.minSteps);
    expect(report.counts.effects).toBeGreaterThan(0);
    expect(Object.values(report.invariants)).toEqual(['held', 'held', 'held', 'held', 'held', 'held']);
  });

  it('catches a planted bug in the prelude, naming the invariant and the threat', async () => {
    const report = await runSuite(revocationIgnored, { profile: PROFILES.quick, seed: 7 });
    expect(report.verdict).toBe('non-compliant');
    expect(report.exitCode).toBe(1);
    expect(report.failure?.invariants).toContain('INV-3');
    expect(report.failure?.threat).toBe('forged-request');
    expect(report.invariants['INV-3']).toBe('broken');
  });

  it('shrinks a random-phase counterexample to a few steps, and replays it exactly', async () => {
    // Seed 12: with the current command list its counterexample's replay needs no further shrink step (seed 11's does, one run more).
    const first = await runSuite(revocationIgnored, { profile: PROFILES.quick, seed: 12, skipPrelude: true });
    const f = first.failure;
    expect(f?.phase).toBe('random');
    expect(f?.commands.length).toBeGreaterThan(0);
    expect(f?.commands.length).toBeLessThanOrEqual(6);
    expect(f?.commands.join(' ')).toMatch(/RevokedKey|identityKey\.revoked/);
    const again = await runSuite(revocationIgnored, { profile: PROFILES.quick, replay: { seed: f!.seed, path: f!.path!, ...(f!.replayPath ? { replayPath: f!.replayPath } : {}) } });
    expect(again.verdict).toBe('non-compliant');
    expect(again.failure?.commands).toEqual(f?.commands);
    expect(again.counts.runs).toBe(1);
  });

  it('is inconclusive, never compliant, when it executed fewer steps than the profile demands', async () => {
    const report = await runSuite(reference, { profile: { ...PROFILES.quick, minSteps: 1_000_000 }, seed: 3, runs: 2 });
    expect(report.verdict).toBe('inconclusive');
    expect(report.exitCode).toBe(2);
    expect(report.reasons.join(' ')).toMatch(/only \d+ steps executed/);
  });

  it('reports what a system cannot be tested for, and is inconclusive below full coverage', async () => {
    const without: Capability[] = ['execution-partition', 'direct-execution'];
    const limited: DriverFactory = (h) => {
      const driver = new InProcessDriver(referenceTarget(), h);
      Object.defineProperty(driver, 'capabilities', { value: new Set([...driver.capabilities].filter((c) => !without.includes(c))) });
      return driver;
    };
    const report = await runSuite(limited, { profile: PROFILES.quick, seed: 5, runs: 5 });
    expect(report.verdict).toBe('inconclusive');
    expect(report.notTested.map((n) => n.needs)).toEqual(expect.arrayContaining(['execution-partition', 'direct-execution']));
    expect(report.coverage.percent).toBeLessThan(100);
    expect(report.coverage.missing.some((m) => m.includes('executionLink.partitioned'))).toBe(true);
  });
});
