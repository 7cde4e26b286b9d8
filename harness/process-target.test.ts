/**
 * `run --command`: a gate the harness starts itself, here the blind gates — written by outsiders
 * from CONTRACT.md alone. Their correct builds are the suite's clean controls: any verdict but
 * compliant is a false alarm of the suite. One planted defect shows the same path can fail.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROFILES } from '../conformance/profiles.ts';
import { BLIND_GATES, runBlindGate } from './blind-gates.ts';
import { cli } from './cli/cli-test-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'failclosed-command-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const gateA = BLIND_GATES.find((g) => g.id === 'gate-a')!;
const gateB = BLIND_GATES.find((g) => g.id === 'gate-b')!;
const gateC = BLIND_GATES.find((g) => g.id === 'gate-c')!;

describe('gates the harness starts from a command line', () => {
  it('blind gate A (with the control channel) is compliant at level full: no false alarm', { timeout: 240_000 }, async () => {
    const report = await runBlindGate(gateA, { profile: PROFILES.quick, seed: 11 });
    expect(report.reasons).toEqual([]);
    expect(report.verdict).toBe('compliant');
    expect(report.level).toMatchObject({ requested: 'full', met: true });
  });

  it('blind gate B (no control channel) is compliant at level core, crashed for real and probed directly by the harness', { timeout: 240_000 }, async () => {
    const report = await runBlindGate(gateB, { profile: PROFILES.quick, seed: 11 });
    expect(report.reasons).toEqual([]);
    expect(report.verdict).toBe('compliant');
    expect(report.level).toMatchObject({ requested: 'core', met: true });
    // What the harness can do to a process it owns, the gate need not offer.
    const needs = new Set(report.notTested.map((n) => n.needs));
    expect(needs.has('crash-restart')).toBe(false);
    expect(needs.has('direct-execution')).toBe(false);
    expect(report.invariants['INV-6']).toBe('held');
    expect(report.campaign.windows).toBe('continuous');
  });

  it('blind gate C (written from contract version 2, no control channel) is compliant at level core', { timeout: 240_000 }, async () => {
    const report = await runBlindGate(gateC, { profile: PROFILES.quick, seed: 12 });
    expect(report.reasons).toEqual([]);
    expect(report.verdict).toBe('compliant');
    expect(report.level).toMatchObject({ requested: 'core', met: true });
    expect(report.counts.contractFindings).toBe(0);
  });

  it('a planted defect of a blind gate is caught the same way (gate A answering replays from a cache)', { timeout: 240_000 }, async () => {
    const report = await runBlindGate(gateA, { profile: PROFILES.quick, seed: 11, defect: 'replay-cache' });
    expect(report.verdict).toBe('non-compliant');
    expect(report.failure?.invariants).toContain('INV-3');
  });

  it('says why when the command does not start a gate, with what it printed', async () => {
    const { status, stderr } = await cli('run', '--command', 'echo "no such gate here" >&2; exit 3', '--report', join(dir, 'broken'));
    expect(status).toBe(2);
    expect(stderr).toMatch(/cannot start the gate `echo .*`: the gate command exited with 3 before it was ready:\n.*no such gate here/);
    expect(stderr).toMatch(/remedy: run the command yourself/);
  });

  it('refuses --command with another target', async () => {
    expect((await cli('run', '--command', 'node x.js', '--target', 'http://127.0.0.1:1')).stderr).toContain('--command takes neither --target');
    expect((await cli('run', '--cwd', '/tmp')).stderr).toContain('--cwd goes with --command');
  });
});
