/**
 * Control Plane answers beyond the usual ones (CONTRACT.md section 4): only an HTTP 200 carries a
 * decision, a redirect is never followed, a decision is spelt exactly. The harness hides a valid
 * allow in each such answer; a gate that executes on it is caught, the reference denies
 * CONTROL_PLANE_MALFORMED.
 */
import { describe, expect, it } from 'vitest';
import { checkInvariants } from '../model/invariants/index.ts';
import { MalformedControlPlaneAnswer } from '../conformance/commands/control-plane-commands.ts';
import type { Harness } from '../conformance/runner.ts';
import { ACCEPTANCE_WINDOW_SEC, createHarness } from '../conformance/runner.ts';
import { ConformanceFailure, RunContext } from '../conformance/run-context.ts';
import { canonicalBytes } from '../model/profile/canonical-json.ts';
import { HttpDriver, fetchHello } from './drivers/http.ts';
import { startFakeGate } from './fake-gate-test-support.ts';
import type { HttpHarness } from './http-harness.ts';
import { startHttpHarness } from './http-harness.ts';
import { referenceGate } from './reference-gate-test-support.ts';

const FORMS = ['wrong-case', 'redirect', 'status-4xx'] as const;

async function contextFor(harness: Harness, gateUrl: string): Promise<{ ctx: RunContext; driver: HttpDriver }> {
  const driver = new HttpDriver({ gateUrl, recorder: harness.recorder, controlPlane: harness.controlPlane, hello: await fetchHello(gateUrl) });
  await driver.reset();
  harness.recorder.reset();
  return { ctx: new RunContext(driver, harness.controlPlane, harness.recorder, ACCEPTANCE_WINDOW_SEC, 'cp-answers'), driver };
}

async function withServices<T>(run: (harness: Harness, services: HttpHarness) => Promise<T>): Promise<T> {
  const harness = createHarness();
  const services = await startHttpHarness(harness);
  try {
    return await run(harness, services);
  } finally {
    await services.close();
  }
}

describe('the harness plays Control Plane answers that carry no decision', () => {
  it('sends a 307 to a valid allow, a 403 with a valid allow in it, and an "ALLOW"', async () => {
    await withServices(async (harness, services) => {
      const question = { request_id: 'req-1', identity: 'alice', action: 'payments.transfer', parameters: { amount: 1 }, parameters_digest: 'sha256:' };
      const ask = async (form: (typeof FORMS)[number]) => {
        harness.controlPlane.answer({ answers: { controlPlane: 'malformed' }, malformed: form, approvalId: `apr-${form}` });
        return fetch(new URL('/v1/decide', services.controlPlaneUrl), { method: 'POST', body: canonicalBytes(question), redirect: 'manual' });
      };
      const redirect = await ask('redirect');
      expect(redirect.status).toBe(307);
      const behind = await fetch(new URL(redirect.headers.get('location')!, services.controlPlaneUrl), { method: 'POST', body: canonicalBytes(question) });
      expect(((await behind.json()) as { decision: string; envelope: { approval_id: string } }).envelope.approval_id).toBe('apr-redirect');
      const forbidden = await ask('status-4xx');
      expect(forbidden.status).toBe(403);
      expect(((await forbidden.json()) as { decision: string }).decision).toBe('allow');
      const spelt = await ask('wrong-case');
      expect(spelt.status).toBe(200);
      expect(((await spelt.json()) as { decision: string }).decision).toBe('ALLOW');
      // Recorded as what they are: no decision.
      expect(harness.recorder.events.filter((e) => e.kind === 'policy').map((e) => (e.kind === 'policy' ? e.answer.kind : ''))).toEqual(['garbage', 'garbage', 'garbage']);
    });
  });

  it('the reference denies each CONTROL_PLANE_MALFORMED and executes nothing', { timeout: 60_000 }, async () => {
    await withServices(async (harness, services) => {
      const gate = await referenceGate(harness, { controlPlane: services.controlPlaneUrl, effectSink: services.effectSinkUrl });
      try {
        const { ctx, driver } = await contextFor(harness, gate.urls.gate);
        for (const form of FORMS) await new MalformedControlPlaneAnswer(form).run({}, ctx);
        expect(ctx.trail).toEqual(FORMS.map((f) => `MalformedControlPlaneAnswer(${f}): expected denied with CONTROL_PLANE_MALFORMED, 0 effect(s); observed denied with CONTROL_PLANE_MALFORMED, 0 effect(s)`));
        const history = harness.recorder.build(await driver.auditExport(), true);
        expect(checkInvariants(history).flatMap((v) => v.violations)).toEqual([]);
      } finally {
        await gate.dispose();
      }
    });
  });

  it('catches a gate that follows the redirect, or reads an allow from a 403', { timeout: 60_000 }, async () => {
    await withServices(async (harness, services) => {
      // The fake gate trusts any body that says allow, wherever it came from: a lax HTTP client.
      const gate = await startFakeGate({ capabilities: ['reset'], controlPlaneUrl: services.controlPlaneUrl, effectSinkUrl: services.effectSinkUrl });
      try {
        for (const form of ['redirect', 'status-4xx'] as const) {
          const { ctx } = await contextFor(harness, gate.url);
          const error = await new MalformedControlPlaneAnswer(form).run({}, ctx).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error, form).toBeInstanceOf(ConformanceFailure);
          expect((error as ConformanceFailure).message).toBe(`MalformedControlPlaneAnswer(${form}): expected denied with CONTROL_PLANE_MALFORMED, 0 effect(s); observed executed, 1 effect(s)`);
          expect((error as ConformanceFailure).invariants).toEqual(['INV-1', 'INV-4']);
        }
      } finally {
        await gate.close();
      }
    });
  });
});
