/**
 * The second judge of `npm run mutation` (`stryker.http.config.mjs`): the same conformance suite,
 * but over HTTP — the harness's HTTP driver and services against the reference as `failclosed serve`
 * runs it (its HTTP servers, durable file stores, fsync on, the conformance channel for crashes and
 * restarts), configured only through the contract's variables. The reference listens in this
 * process, on loopback, so that StrykerJS can switch its mutants and see per-test coverage; the
 * bytes still cross real sockets, exactly as for an external gate. What this judge kills stands for
 * what the suite detects in any gate reached over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROFILES } from '../profiles.ts';
import { runSuite } from '../runner.ts';
import { createHarness } from '../runner.ts';
import { freePort, harnessPorts } from '../../harness/http-harness.ts';
import { referenceGate } from '../../harness/reference-gate-test-support.ts';
import type { OpenTarget } from '../../harness/targets.ts';
import { openTarget } from '../../harness/targets.ts';
import { MUTATION_SEEDS } from './seeds.ts';

/** Over HTTP a run costs seconds: the prelude and one seed's runs judge each mutant (about 45 s for one that survives). */
const RUNS_PER_SEED = 5;
const HTTP_SEEDS = MUTATION_SEEDS.slice(0, 1);

let gate: Awaited<ReturnType<typeof referenceGate>>;
let target: OpenTarget;

beforeAll(async () => {
  const base = await freePort('127.0.0.1', 3);
  const ports = harnessPorts(base);
  const executionLayerPort = await freePort();
  gate = await referenceGate(createHarness(), {
    controlPlane: `http://127.0.0.1:${ports.controlPlane}`,
    effectSink: `http://127.0.0.1:${ports.effectSink}`,
    executionLayer: `http://127.0.0.1:${ports.executionProxy}`,
    executionLayerPort,
    fsync: true,
    // The deadlines the harness gives the gates it starts (CONTRACT.md section 2), room for a loaded
    // machine: with the in-process 100/200 ms, two mutants judged at once under fsync made healthy
    // calls miss their deadline, and a mutant killed by the machine's load is not a detection.
  });
  target = await openTarget({ kind: 'url', url: gate.urls.gate, harnessHost: '127.0.0.1', harnessPort: base });
}, 60_000);

afterAll(async () => {
  await target?.close();
  await gate?.dispose();
});

describe('the conformance suite against the reference over HTTP (the judge of each mutant reachable that way)', () => {
  it('the prelude (every model scenario and threat once) is compliant', { timeout: 120_000 }, async () => {
    const report = await runSuite(target.makeDriver, { harness: target.harness, profile: PROFILES.quick, seed: 100, runs: 0 });
    expect(report.failure?.message).toBeUndefined();
    expect(report.counts.contractFindings).toBe(0);
    expect(report.verdict).toBe('compliant');
  });

  for (const seed of HTTP_SEEDS) {
    it(`random runs on seed ${seed} find nothing`, { timeout: 120_000 }, async () => {
      const report = await runSuite(target.makeDriver, { harness: target.harness, profile: PROFILES.quick, seed, runs: RUNS_PER_SEED, skipPrelude: true });
      expect(report.failure?.message).toBeUndefined();
      expect(report.counts.contractFindings).toBe(0);
      expect(report.verdict).not.toBe('non-compliant');
      // A gate that gives up on a healthy dependency is not judged non-compliant (CONTRACT §4), but a mutant that makes it do so is found.
      expect(report.counts.unprovokedTimeouts).toBe(0);
    });
  }
});
