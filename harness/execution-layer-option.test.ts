/**
 * `run --target URL --execution-layer URL`: a gate without the control channel announces no
 * Execution Layer, so the harness's proxy had nowhere to forward and every execution-* fault — and
 * the call count that catches a retried call — went untested. Told where the Execution Layer
 * listens, the proxy forwards there, is seen on the gate's path, and provides the faults.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { History } from '../model/history.ts';
import { PROFILES } from '../conformance/profiles.ts';
import { createHarness, runSuite } from '../conformance/runner.ts';
import { loadServeConfig } from '../reference-impl/serve-config.ts';
import { startReference } from '../reference-impl/serve.ts';
import { targetSpecOf } from './cli/run-command.ts';
import type { HttpDriver } from './drivers/http.ts';
import { freePort, harnessPorts } from './http-harness.ts';
import { openTarget } from './targets.ts';

describe('--execution-layer', () => {
  it('goes with --target, as an http:// URL', () => {
    expect(targetSpecOf({ target: 'http://127.0.0.1:8700', 'execution-layer': 'http://127.0.0.1:8701' })).toMatchObject({ kind: 'url', executionLayer: 'http://127.0.0.1:8701/' });
    expect(targetSpecOf({ 'execution-layer': 'http://127.0.0.1:8701' })).toBe('--execution-layer goes with --target');
    expect(targetSpecOf({ target: 'http://127.0.0.1:8700', 'execution-layer': 'ftp://x' })).toMatch(/^--execution-layer must be an http:\/\/ URL/);
  });

  it('lets the proxy stand in front of a gate without the control channel: its execution faults and calls are tested at core', { timeout: 180_000 }, async () => {
    const base = await freePort(undefined, 3);
    const ports = harnessPorts(base);
    const executionLayerPort = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'failclosed-no-channel-'));
    const vendorSide = createHarness();
    const gate = await startReference(
      loadServeConfig(undefined, {
        FAILCLOSED_LISTEN_HOST: '127.0.0.1',
        FAILCLOSED_LISTEN_PORT: '0',
        FAILCLOSED_CONTROL_PLANE_URL: `http://127.0.0.1:${ports.controlPlane}`,
        FAILCLOSED_CONTROL_PLANE_KEYS: JSON.stringify(vendorSide.trustedKeys),
        FAILCLOSED_EFFECT_SINK_URL: `http://127.0.0.1:${ports.effectSink}`,
        FAILCLOSED_IDENTITY_KEYS: JSON.stringify({ keys: vendorSide.identityKeys }),
        FAILCLOSED_EXECUTION_LAYER_LISTEN_PORT: String(executionLayerPort),
        FAILCLOSED_EXECUTION_LAYER_URL: `http://127.0.0.1:${ports.executionProxy}`,
        FAILCLOSED_DATA_DIR: dataDir,
        FAILCLOSED_CONTROL_PLANE_DEADLINE_MS: '750',
        FAILCLOSED_EXECUTION_DEADLINE_MS: '1500',
        FAILCLOSED_FSYNC: '0',
      }),
    );
    try {
      const target = await openTarget({ kind: 'url', url: gate.urls.gate, harnessHost: '127.0.0.1', harnessPort: base, executionLayer: `http://127.0.0.1:${executionLayerPort}` });
      try {
        const driver = (await target.makeDriver(target.harness)) as HttpDriver;
        const histories: History[] = [];
        const report = await runSuite(() => driver, { harness: target.harness, profile: PROFILES.quick, level: 'core', seed: 93, runs: 8, onHistory: (h) => histories.push(h) });
        expect(report.failure?.message).toBeUndefined();
        expect(report.verdict, report.reasons.join('; ')).toBe('compliant');
        expect(driver.proxyRoute).toBe('through-proxy');
        const needs = new Set(report.notTested.map((n) => n.needs));
        for (const fault of ['execution-partition', 'execution-tamper', 'execution-unconfirmed', 'execution-delayed']) expect(needs.has(fault), fault).toBe(false);
        expect(histories.flatMap((h) => h.events).filter((e) => e.kind === 'execution-call').length).toBeGreaterThan(0);
      } finally {
        await target.close();
      }
    } finally {
      await gate.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
