/**
 * A timeout the harness did not provoke (a loaded machine, a gate's short deadline) is not a
 * broken gate: the run is inconclusive, with the step named — never non-compliant, never compliant.
 * A gate that acts on an answer after such a timeout is still caught.
 */
import { describe, expect, it } from 'vitest';
import { PROFILES } from './profiles.ts';
import type { DriverFactory } from './runner.ts';
import { runSuite } from './runner.ts';
import { InProcessDriver } from '../harness/drivers/in-process.ts';
import { referenceTarget } from '../reference-impl/in-process-target.ts';
import type { InProcessTarget } from './in-process-target.ts';
import type { ControlPlaneLink, ExecutionLink } from '../reference-impl/gate/links.ts';
import { LinkError } from '../reference-impl/gate/links.ts';
import { MUTANTS } from './mutants/index.ts';
import { explainingRun, unprovokedTimeoutRuns } from './run-context.ts';
import type { Answers } from '../model/concrete-scenario.ts';
import type { Answer } from './driver.ts';
import { EMPTY_MEMORY } from '../model/system-memory.ts';

/** The target with every `every`-th answer of one dependency coming back after the Gate's deadline, as on a loaded machine. */
function slowedEnvironment(inner: InProcessTarget, dependency: 'controlPlane' | 'executionLayer', every: number): InProcessTarget {
  let calls = 0;
  // The answer is on its way back but takes longer than the deadline; the link gives up as a real one does.
  const late = (deadlineMs: number, signal: AbortSignal) => {
    calls += 1;
    if (calls % every !== 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, deadlineMs + 60);
      signal.addEventListener('abort', () => (clearTimeout(timer), reject(new LinkError('timeout', 'no answer before the deadline'))), { once: true });
    });
  };
  return {
    name: `${inner.name} (slowed ${dependency})`,
    start(env) {
      if (dependency === 'controlPlane') {
        const link: ControlPlaneLink = { ask: async (q, signal) => {
          const answer = await env.controlPlane.ask(q, signal);
          await late(env.settings.controlPlaneDeadlineMs, signal);
          return answer;
        } };
        return inner.start({ ...env, controlPlane: link });
      }
      return inner.start({
        ...env,
        interceptExecution: (link) => {
          const intercepted = env.interceptExecution(link);
          const slowed: ExecutionLink = { execute: async (call, signal, headers) => {
            const answer = await intercepted.execute(call, signal, headers);
            await late(env.settings.executionDeadlineMs, signal);
            return answer;
          } };
          return slowed;
        },
      });
    },
  };
}

const slowed = (target: InProcessTarget, dependency: 'controlPlane' | 'executionLayer', every: number): DriverFactory => (h) => new InProcessDriver(slowedEnvironment(target, dependency, every), h);

describe('timeouts the harness did not provoke', () => {
  it('a correct gate whose Control Plane answers come back late is inconclusive, with the step named, not non-compliant', { timeout: 60_000 }, async () => {
    const report = await runSuite(slowed(referenceTarget(), 'controlPlane', 7), { profile: PROFILES.quick, seed: 31, runs: 5 });
    expect(report.failure?.message).toBeUndefined();
    expect(report.counts.contractFindings).toBe(0);
    expect(report.counts.unprovokedTimeouts).toBeGreaterThan(0);
    expect(report.unprovokedTimeouts[0]).toMatch(/CONTROL_PLANE_TIMEOUT, 0 effect\(s\) — a timeout the harness did not provoke/);
    expect(report.verdict).toBe('inconclusive');
    expect(report.exitCode).toBe(2);
    expect(report.reasons.join('\n')).toMatch(/answered with a timeout the harness did not provoke .*longer deadlines/s);
  });

  it('a correct gate whose Execution Layer confirmations come back late is inconclusive, not non-compliant', { timeout: 60_000 }, async () => {
    const report = await runSuite(slowed(referenceTarget(), 'executionLayer', 7), { profile: PROFILES.quick, seed: 32, runs: 5 });
    expect(report.failure?.message).toBeUndefined();
    expect(report.counts.unprovokedTimeouts).toBeGreaterThan(0);
    expect(report.unprovokedTimeouts.join('\n')).toMatch(/EXECUTION_UNCONFIRMED, 1 effect\(s\) — a timeout the harness did not provoke/);
    expect(report.verdict).toBe('inconclusive');
  });

  it('a gate that acts on the allow arriving after such a timeout is still non-compliant', { timeout: 60_000 }, async () => {
    const lateAllow = MUTANTS.find((m) => m.id === 'late-allow-executed');
    expect(lateAllow, 'the planted bug late-allow-executed').toBeDefined();
    const report = await runSuite(slowed(lateAllow!.target, 'controlPlane', 3), { profile: PROFILES.quick, seed: 33, runs: 5 });
    expect(report.verdict).toBe('non-compliant');
    // Judged as always: an effect behind a Control Plane timeout is no slow machine.
    expect(report.failure?.message).toMatch(/observed denied with CONTROL_PLANE_TIMEOUT, 1 effect/);
  });

  it('the model explains only the timeout that was observed, and only where the step did not provoke one', () => {
    const request = { requestId: 'r', identity: 'alice', action: 'a', nonce: 'n', approvalId: 'ap' };
    const runs = (answers: Answers, observed: Answer, memory = EMPTY_MEMORY) => unprovokedTimeoutRuns(answers, memory, request, observed);
    const cp = runs({}, { status: 'denied', code: 'CONTROL_PLANE_TIMEOUT' });
    expect(cp.map((r) => r.outcome.effects.length)).toEqual([0]);
    expect(explainingRun(cp, { status: 'denied', code: 'CONTROL_PLANE_TIMEOUT' }, 1), 'an effect after a Control Plane timeout').toBeUndefined();
    const el = runs({}, { status: 'denied', code: 'EXECUTION_UNCONFIRMED' });
    expect(el.map((r) => r.outcome.effects.length)).toEqual([1, 1]);
    expect(explainingRun(el, { status: 'denied', code: 'EXECUTION_UNCONFIRMED' }, 2), 'two effects of one call').toBeUndefined();
    // The Execution Layer's refusal of a used approval, late: unconfirmed, and nothing ran.
    const used = runs({}, { status: 'denied', code: 'EXECUTION_UNCONFIRMED' }, { ...EMPTY_MEMORY, consumedApprovals: ['ap'] });
    expect(explainingRun(used, { status: 'denied', code: 'EXECUTION_UNCONFIRMED' }, 0)?.outcome.effects).toHaveLength(0);
    // Provoked already, or another code, or a step denied before the Control Plane: nothing to explain.
    expect(runs({ controlPlane: 'lateAllow' }, { status: 'denied', code: 'CONTROL_PLANE_TIMEOUT' })).toEqual([]);
    expect(runs({ executionLink: 'partitioned' }, { status: 'denied', code: 'EXECUTION_UNCONFIRMED' })).toEqual([]);
    // The Execution Layer's refusal of a tampered call, late: unconfirmed, and nothing may have run.
    const tampered = runs({ executionLink: 'tampered' }, { status: 'denied', code: 'EXECUTION_UNCONFIRMED' });
    expect(explainingRun(tampered, { status: 'denied', code: 'EXECUTION_UNCONFIRMED' }, 0)).toBeDefined();
    expect(explainingRun(tampered, { status: 'denied', code: 'EXECUTION_UNCONFIRMED' }, 1), 'a tampered call that ran').toBeUndefined();
    expect(runs({}, { status: 'denied', code: 'CONTROL_PLANE_UNAVAILABLE' })).toEqual([]);
    expect(runs({ signature: 'invalid' }, { status: 'denied', code: 'CONTROL_PLANE_TIMEOUT' })).toEqual([]);
    expect(runs({}, { status: 'executed' })).toEqual([]);
    // The gate's own stores are the system under test: their outages are judged as always (restart-state.test.ts).
    expect(runs({}, { status: 'denied', code: 'NONCE_STORE_UNAVAILABLE' })).toEqual([]);
    expect(runs({}, { status: 'denied', code: 'AUDIT_UNAVAILABLE' })).toEqual([]);
  });
});
