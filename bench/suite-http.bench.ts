/**
 * The suite over loopback HTTP against the reference as its own process: the quick profile's wall
 * time and requests per second through the harness, next to the same profile in-process in the
 * same run. Target: ≤ 60 s.
 */
import { PROFILES } from '../conformance/profiles.ts';
import { runSuite } from '../conformance/runner.ts';
import { openTarget } from '../harness/targets.ts';
import type { BenchResult } from './run.ts';

const TARGET_MS = 60_000;

export async function run(): Promise<BenchResult> {
  const timings: Record<string, { ms: number; steps: number; verdict: string }> = {};
  for (const kind of ['in-process', 'http'] as const) {
    const target = await openTarget({ kind });
    try {
      const report = await runSuite(target.makeDriver, { harness: target.harness, profile: PROFILES.quick, seed: 2026 });
      timings[kind] = { ms: report.durationMs, steps: report.counts.steps, verdict: report.verdict };
    } finally {
      await target.close();
    }
  }
  const http = timings.http!;
  const local = timings['in-process']!;
  // Both runs must be compliant runs, or neither time is the time of the suite; a slow one is printed, not failed.
  const ok = http.verdict === 'compliant' && local.verdict === 'compliant';
  return {
    name: 'suite-http',
    ok,
    lines: [
      `suite-http: quick profile over loopback HTTP: ${(http.ms / 1000).toFixed(1)} s, ${http.steps} requests (${Math.round((http.steps / http.ms) * 1000)} req/s through the harness), verdict ${http.verdict}; target ≤ ${TARGET_MS / 1000} s${http.ms <= TARGET_MS ? '' : '  OVER TARGET'}`,
      `suite-http: the same profile in-process: ${(local.ms / 1000).toFixed(1)} s, verdict ${local.verdict}; ratio HTTP ÷ in-process = ${(http.ms / local.ms).toFixed(2)}`,
    ],
  };
}
