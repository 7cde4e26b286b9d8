/**
 * Who provides the execution-* faults (CONTRACT.md sections 5 and 9): the gate, when it declares
 * one itself; else the harness's proxy, but only once a healthy request's Execution Layer call was
 * seen to pass it; else nobody, and the scenarios are reported as not tested.
 *
 * The gate here is the reference started without FAILCLOSED_EXECUTION_LAYER_URL: it reaches the
 * Execution Layer it hosts directly and, with the control channel on, declares the three faults
 * and implements them on that link. The harness used to play them on a proxy the gate never used
 * and judged it NON-COMPLIANT on INV-4.
 */
import { describe, expect, it } from 'vitest';
import { PROFILES } from '../conformance/profiles.ts';
import type { Harness } from '../conformance/runner.ts';
import { createHarness, runSuite } from '../conformance/runner.ts';
import { HttpDriver, fetchHello } from './drivers/http.ts';
import type { HttpHarness } from './http-harness.ts';
import { freePort, harnessPorts, startHttpHarness } from './http-harness.ts';
import { openTarget } from './targets.ts';
import { referenceGate } from './reference-gate-test-support.ts';

const EXECUTION_FAULTS = ['execution-partition', 'execution-tamper', 'execution-unconfirmed'] as const;

/** A driver to the gate as `failclosed run --target` builds it, the proxy in front of the announced Execution Layer. */
async function driverFor(harness: Harness, services: HttpHarness, gateUrl: string, declare: (capabilities: string[]) => string[] = (c) => c): Promise<HttpDriver> {
  const hello = await fetchHello(gateUrl);
  if (!hello?.execution_layer_url) throw new Error('the reference announces its Execution Layer');
  await services.proxyExecutionLayer(hello.execution_layer_url);
  return new HttpDriver({ gateUrl, recorder: harness.recorder, controlPlane: harness.controlPlane, hello: { ...hello, capabilities: declare(hello.capabilities) }, executionProxy: services.executionProxy! });
}

describe('the execution-* faults come from whoever really is on the link', () => {
  it('a gate without FAILCLOSED_EXECUTION_LAYER_URL that declares its own execution faults is tested with them, and found compliant (--target)', { timeout: 120_000 }, async () => {
    const base = await freePort(undefined, 3);
    const ports = harnessPorts(base);
    const vendorSide = createHarness();
    const gate = await referenceGate(vendorSide, { controlPlane: `http://127.0.0.1:${ports.controlPlane}`, effectSink: `http://127.0.0.1:${ports.effectSink}` });
    try {
      const hello = await fetchHello(gate.urls.gate);
      expect(hello?.capabilities).toEqual(expect.arrayContaining([...EXECUTION_FAULTS]));
      const target = await openTarget({ kind: 'url', url: gate.urls.gate, harnessHost: '127.0.0.1', harnessPort: base });
      try {
        const driver = (await target.makeDriver(target.harness)) as HttpDriver;
        const report = await runSuite(() => driver, { harness: target.harness, profile: PROFILES.quick, seed: 91, runs: 4 });
        expect(report.failure?.message).toBeUndefined();
        expect(report.verdict).toBe('compliant');
        expect(report.notTested).toEqual([]);
        // All three faults are the gate's own: the proxy had nothing to add, and nothing to check.
        expect(driver.proxyRoute).toBe('unchecked');
      } finally {
        await target.close();
      }
    } finally {
      await gate.dispose();
    }
  });

  it('a gate that neither routes through the proxy nor declares the faults has them reported as not tested', { timeout: 120_000 }, async () => {
    const harness = createHarness();
    const services = await startHttpHarness(harness);
    const gate = await referenceGate(harness, { controlPlane: services.controlPlaneUrl, effectSink: services.effectSinkUrl });
    try {
      const driver = await driverFor(harness, services, gate.urls.gate, (c) => c.filter((x) => !x.startsWith('execution-')));
      const report = await runSuite(() => driver, { harness, profile: PROFILES.quick, seed: 92, runs: 2 });
      expect(driver.proxyRoute).toBe('bypasses-proxy');
      expect(report.failure?.message).toBeUndefined();
      expect(report.verdict).not.toBe('non-compliant');
      const needs = new Set(report.notTested.map((n) => n.needs));
      for (const fault of EXECUTION_FAULTS) expect(needs.has(fault), fault).toBe(true);
      expect(services.executionProxy?.mode.kind).toBe('pass');
    } finally {
      await gate.dispose();
      await services.close();
    }
  });

  it('a gate that routes through the proxy gets the proxy faults; one it declares itself stays its own', { timeout: 60_000 }, async () => {
    const harness = createHarness();
    const services = await startHttpHarness(harness);
    const executionLayerPort = await freePort();
    await services.proxyExecutionLayer(`http://127.0.0.1:${executionLayerPort}`);
    const gate = await referenceGate(harness, { controlPlane: services.controlPlaneUrl, effectSink: services.effectSinkUrl, executionLayer: services.executionProxyUrl, executionLayerPort });
    try {
      const hello = await fetchHello(gate.urls.gate);
      expect(hello?.capabilities.filter((c) => c.startsWith('execution-'))).toEqual([]);
      const proxy = services.executionProxy!;
      // As if the gate declared a partition of its own as well.
      const driver = new HttpDriver({ gateUrl: gate.urls.gate, recorder: harness.recorder, controlPlane: harness.controlPlane, hello: { ...hello!, capabilities: [...hello!.capabilities, 'execution-partition'] }, executionProxy: proxy });
      expect(driver.capabilities.has('execution-unconfirmed')).toBe(false);
      await driver.reset();
      expect(driver.proxyRoute).toBe('through-proxy');
      for (const fault of EXECUTION_FAULTS) expect(driver.capabilities.has(fault), fault).toBe(true);
      await driver.setFault('execution-unconfirmed', true);
      expect(proxy.mode.kind).toBe('reset-after-forward');
      await driver.setFault('execution-unconfirmed', false);
      // The gate's own partition: asked of the gate (which, being the reference behind a proxy, refuses it).
      await expect(driver.setFault('execution-partition', true)).rejects.toThrow(/POST \/failclosed\/v1\/fault .* answered HTTP 400/);
      expect(proxy.mode.kind).toBe('pass');
    } finally {
      await gate.dispose();
      await services.close();
    }
  });
});
