/**
 * The suite's speed in-process: the quick profile's wall time against the reference, and the
 * same number of requests merely signed and verified in the same process (the cryptographic floor
 * that any run must pay), as a ratio. Target: quick profile ≤ 20 s.
 */
import { PROFILES } from '../conformance/profiles.ts';
import { runSuite } from '../conformance/runner.ts';
import { InProcessDriver } from '../harness/drivers/in-process.ts';
import { TEST_KEYS } from '../model/history-builder.ts';
import { signRequest, verifyRequestSignature } from '../model/profile/messages.ts';
import { referenceTarget } from '../reference-impl/in-process-target.ts';
import type { BenchResult } from './run.ts';

const TARGET_MS = 20_000;

export async function run(): Promise<BenchResult> {
  const report = await runSuite((h) => new InProcessDriver(referenceTarget(), h), { profile: PROFILES.quick, seed: 2026 });
  const steps = report.counts.steps;

  // Per step the harness signs a request and an envelope; the system verifies three signatures.
  const start = performance.now();
  for (let i = 0; i < steps; i++) {
    const request = signRequest(
      { request_id: `r-${i}`, identity: 'alice', action: 'a', parameters: { i }, timestamp: 1, nonce: `nonce-bench-${String(i).padStart(8, '0')}`, key_id: TEST_KEYS.alice.keyId },
      TEST_KEYS.alice,
    );
    signRequest({ ...request, request_id: `e-${i}` }, TEST_KEYS.controlPlane);
    for (let k = 0; k < 3; k++) verifyRequestSignature(request, TEST_KEYS.alice.publicKey);
  }
  const cryptoMs = performance.now() - start;

  const ok = report.verdict === 'compliant' && report.durationMs <= TARGET_MS;
  return {
    name: 'suite',
    ok,
    lines: [
      `suite: quick profile against the reference (in-process): ${(report.durationMs / 1000).toFixed(1)} s for ${steps} steps (${Math.round((steps / report.durationMs) * 1000)} steps/s), verdict ${report.verdict}; target ≤ ${TARGET_MS / 1000} s${report.durationMs <= TARGET_MS ? '' : '  OVER TARGET'}`,
      `suite: the same ${steps} steps' signing and verification alone: ${(cryptoMs / 1000).toFixed(1)} s; ratio suite ÷ crypto floor = ${(report.durationMs / cryptoMs).toFixed(2)}`,
    ],
  };
}
