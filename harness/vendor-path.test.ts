/**
 * The README's vendor path, walked end to end against a gate started as a separate process:
 * print the configuration → start the gate on an empty data directory → doctor → run the command
 * doctor suggests. Once with the conformance control channel (→ compliant at level full), once
 * without it (→ doctor says to restart; a run on the used gate is inconclusive, never
 * non-compliant; on a fresh gate → compliant at level core, with the untested listed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './cli/cli-test-support.ts';
import { freePort } from './http-harness.ts';
import type { ServeProcess } from './serve-process.ts';
import { startServeProcess } from './serve-process.ts';

const root = mkdtempSync(join(tmpdir(), 'failclosed-vendor-path-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Step 1: the configuration as `--format env` prints it, plus the vendor's own ports and data dir. */
async function printedConfiguration(harnessPort: number, channel: boolean, dataDir: string): Promise<Record<string, string>> {
  const { status, stdout } = await cli(
    'doctor', '--print-config', '--format', 'env', '--harness-port', String(harnessPort),
    '--listen-port', String(await freePort()), '--execution-layer-listen-port', String(await freePort()), '--data-dir', dataDir,
    ...(channel ? [] : ['--no-control-channel']),
  );
  expect(status).toBe(0);
  const lines = stdout.trimEnd().split('\n').filter((l) => l.startsWith('FAILCLOSED_'));
  return Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** Step 2: the gate, as a vendor starts it (the reference's `serve`, configured only by that environment). */
function startGate(env: Record<string, string>, dataDir: string): Promise<ServeProcess> {
  return startServeProcess({ env: { ...env, FAILCLOSED_DATA_DIR: dataDir, FAILCLOSED_FSYNC: '0' } });
}

/** The command doctor's last line suggests, as arguments for the CLI, with a report folder of our own. */
function suggestedRun(doctorOut: string, reportDir: string): string[] {
  const last = doctorOut.trimEnd().split('\n').at(-1)!;
  const command = /npx failclosed (run .*)$/.exec(last)?.[1];
  expect(command, `doctor's last line suggests a run: ${last}`).toBeDefined();
  return [...command!.split(' '), '--report', reportDir];
}

const lastLine = (text: string) => text.trimEnd().split('\n').at(-1)!;

describe('the vendor path of the README', () => {
  it('with the control channel: doctor resets after itself, and the suggested run is compliant at level full', { timeout: 300_000 }, async () => {
    const harnessPort = await freePort(undefined, 3);
    const dataDir = mkdtempSync(join(root, 'data-'));
    const env = await printedConfiguration(harnessPort, true, dataDir);
    expect(env.FAILCLOSED_CONFORMANCE_CHANNEL).toBe('1');
    const gate = await startGate(env, dataDir);
    try {
      const doctor = await cli('doctor', '--target', gate.gate, '--harness-port', String(harnessPort));
      expect(doctor.status, doctor.stdout + doctor.stderr).toBe(0);
      expect(lastLine(doctor.stdout)).toMatch(/^ready to test: npx failclosed run --target \S+ --harness-port \d+/);
      const run = await cli(...suggestedRun(doctor.stdout, join(root, 'full')));
      expect(run.status, run.stdout + run.stderr).toBe(0);
      expect(lastLine(run.stdout)).toMatch(/^COMPLIANT at level full — gate at /);
      expect(run.stdout).not.toMatch(/^Not tested/m);
    } finally {
      await gate.stop();
    }
  });

  it('without it: doctor says to restart, a used gate is inconclusive, a fresh one compliant at level core', { timeout: 300_000 }, async () => {
    const harnessPort = await freePort(undefined, 3);
    const firstDir = mkdtempSync(join(root, 'data-'));
    const env = await printedConfiguration(harnessPort, false, firstDir);
    expect(env.FAILCLOSED_CONFORMANCE_CHANNEL).toBeUndefined();
    let gate = await startGate(env, firstDir);
    let args: string[];
    try {
      const doctor = await cli('doctor', '--target', gate.gate, '--harness-port', String(harnessPort));
      expect(doctor.status, doctor.stdout + doctor.stderr).toBe(0);
      expect(doctor.stdout).toContain("The gate now holds doctor's requests");
      expect(lastLine(doctor.stdout)).toMatch(/^ready to test once the gate is restarted on an empty data directory: npx failclosed run /);
      args = suggestedRun(doctor.stdout, join(root, 'used'));
      expect(args).toContain('--level');
      // Not restarted: the run must refuse to judge doctor's records, never call them violations.
      const used = await cli(...args);
      expect(used.status, used.stdout + used.stderr).toBe(2);
      expect(used.stdout).toContain('inconclusive: the gate is not fresh');
      expect(used.stdout).toContain('restart the gate on an empty data directory');
      expect(lastLine(used.stdout)).toMatch(/^INCONCLUSIVE at level core/);
    } finally {
      await gate.stop();
    }
    const freshDir = mkdtempSync(join(root, 'data-'));
    gate = await startGate({ ...env }, freshDir);
    try {
      const run = await cli(...args.map((a) => (a.endsWith('used') ? join(root, 'core') : a)));
      expect(run.status, run.stdout + run.stderr).toBe(0);
      expect(lastLine(run.stdout)).toMatch(/^COMPLIANT at level core — gate at /);
      expect(run.stdout).toMatch(/Not tested \(\d+ scenarios, by what they need\):/);
      expect(run.stdout).toContain('needs direct-execution');
      expect(run.stdout).toContain('INV-6  not tested');
      expect(run.stdout).toContain('Runs were judged one after another on a system that was never reset');
    } finally {
      await gate.stop();
    }
  });
});
