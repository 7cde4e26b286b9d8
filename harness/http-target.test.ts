/**
 * The suite over HTTP: the reference as its own `failclosed serve` process, configured only
 * through the contract's environment variables — started by the harness (--over http) and started
 * beforehand at a URL (--target) — and planted-bug variants caught over HTTP too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runKillMatrix } from '../conformance/mutants/kill-matrix.ts';
import { MUTANTS } from '../conformance/mutants/index.ts';
import { PROFILES } from '../conformance/profiles.ts';
import { createHarness, runSuite } from '../conformance/runner.ts';
import { freePort, harnessPorts } from './http-harness.ts';
import { startServeProcess } from './serve-process.ts';
import { openTarget } from './targets.ts';
import { dirname } from 'node:path';
import type { History } from '../model/history.ts';
import { writeKit } from './evidence/kit.ts';
import { formatKitVerification, verifyKit } from './evidence/verify.ts';
import { referenceOverHttp } from './reference-over-http.ts';
import { targetSpecOf } from './cli/run-command.ts';
import { postgresAvailability } from './postgres-cluster.ts';
import type { TargetSpec } from './targets.ts';


const postgres = postgresAvailability();
if (!postgres.ok) console.log(`http-target.test.ts: replicas over PostgreSQL WILL FAIL (the tool is missing; .ci/run installs it) — ${postgres.reason}`);

describe('the suite over HTTP', () => {
  it('finds the reference compliant as a separate process behind the harness (--over http)', { timeout: 120_000 }, async () => {
    const target = await openTarget({ kind: 'http' });
    try {
      const report = await runSuite(target.makeDriver, { harness: target.harness, profile: PROFILES.quick, seed: 21, runs: 10 });
      expect(report.reasons).toEqual([]);
      expect(report.verdict).toBe('compliant');
      expect(report.coverage.percent).toBe(100);
      expect(report.notTested).toEqual([]);
    } finally {
      await target.close();
    }
  });

  it('tests a gate started beforehand with the printed configuration (--target URL)', { timeout: 120_000 }, async () => {
    // The vendor's side: a gate configured with fixed harness ports before the harness exists.
    const base = await freePort(undefined, 3);
    const ports = harnessPorts(base);
    const elPort = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'failclosed-target-'));
    const harness = createHarness();
    const gate = await startServeProcess({
      env: {
        FAILCLOSED_LISTEN_HOST: '127.0.0.1',
        FAILCLOSED_LISTEN_PORT: '0',
        FAILCLOSED_CONTROL_PLANE_URL: `http://127.0.0.1:${ports.controlPlane}`,
        FAILCLOSED_CONTROL_PLANE_KEYS: JSON.stringify(harness.trustedKeys),
        FAILCLOSED_EXECUTION_LAYER_URL: `http://127.0.0.1:${ports.executionProxy}`,
        FAILCLOSED_EXECUTION_LAYER_LISTEN_PORT: String(elPort),
        FAILCLOSED_EFFECT_SINK_URL: `http://127.0.0.1:${ports.effectSink}`,
        FAILCLOSED_IDENTITY_KEYS: JSON.stringify({ keys: harness.identityKeys }),
        FAILCLOSED_CONFORMANCE_CHANNEL: '1',
        FAILCLOSED_DATA_DIR: dataDir,
        FAILCLOSED_CONTROL_PLANE_DEADLINE_MS: '750',
        FAILCLOSED_EXECUTION_DEADLINE_MS: '1500',
        FAILCLOSED_FSYNC: '0',
      },
    });
    try {
      const target = await openTarget({ kind: 'url', url: gate.gate, harnessHost: '127.0.0.1', harnessPort: base });
      try {
        const report = await runSuite(target.makeDriver, { harness: target.harness, profile: PROFILES.quick, seed: 22, runs: 5 });
        expect(report.reasons).toEqual([]);
        expect(report.verdict).toBe('compliant');
        expect(report.target).toContain(gate.gate);
      } finally {
        await target.close();
      }
    } finally {
      await gate.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('3 replicas over PostgreSQL (run --over http --replicas 3 --store postgres) are compliant; replicas each on their own files are caught replaying', { timeout: 180_000 }, async () => {
    const spec = targetSpecOf({ over: 'http', replicas: '3', store: 'postgres' });
    expect(spec).toEqual({ kind: 'http', replicas: 3, store: 'postgres' });
    const shared = await openTarget(spec as TargetSpec);
    const histories: History[] = [];
    try {
      const report = await runSuite(shared.makeDriver, { harness: shared.harness, profile: PROFILES.quick, seed: 23, runs: 5, onHistory: (h) => histories.push(h) });
      expect(report.reasons).toEqual([]);
      expect(report.verdict).toBe('compliant');
      expect(report.target).toContain('2 replica(s), on PostgreSQL');
    } finally {
      await shared.close();
    }
    // One audit chain per replica, kept apart in the evidence kit, and verified as such.
    expect(histories[0]?.auditChainStarts).toHaveLength(2);
    const kitDir = join(mkdtempSync(join(tmpdir(), 'failclosed-replica-kit-')), 'kit');
    await writeKit(kitDir, histories, { target: 'replicas', seed: 23, profile: 'quick', verdict: 'compliant' });
    const verification = await verifyKit(kitDir);
    expect(verification.exitCode, formatKitVerification(verification)).toBe(0);
    rmSync(dirname(kitDir), { recursive: true, force: true });
    const harness = createHarness();
    const unshared = await referenceOverHttp(harness, undefined, 2, 'file');
    try {
      const report = await runSuite(unshared.makeDriver, { harness, profile: PROFILES.quick, seed: 23, runs: 5 });
      expect(report.verdict).toBe('non-compliant');
      expect(report.failure?.invariants).toContain('INV-3');
      expect(report.failure?.threat).toBe('replay');
    } finally {
      await unshared.close();
    }
  });

  it('catches planted bugs over HTTP too, including one only the proxy in front of the Execution Layer reveals', { timeout: 180_000 }, async () => {
    const ids = ['queued-during-partition', 'execution-layer-skips-validation', 'nonce-store-memory-only', 'execution-answer-trusted'];
    const matrix = await runKillMatrix({ profile: PROFILES.quick, seed: 42, over: 'http', mutants: MUTANTS.filter((m) => ids.includes(m.id)) });
    expect(matrix.reference.verdict).toBe('compliant');
    const rows = Object.fromEntries(matrix.rows.map((r) => [r.id, r]));
    expect(rows['queued-during-partition']?.verdict).toBe('non-compliant');
    expect(rows['execution-layer-skips-validation']?.verdict).toBe('non-compliant');
    expect(rows['nonce-store-memory-only']?.applicable).toBe(false);
    // A 502 carrying a real result, an error page, a result without effect_id: only the proxy plays them over HTTP.
    expect(rows['execution-answer-trusted']?.verdict).toBe('non-compliant');
    expect(matrix.ok).toBe(true);
  });
});
