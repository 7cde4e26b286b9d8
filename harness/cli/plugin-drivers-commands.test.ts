/**
 * Plug-in drivers and commands through the CLI, as a user runs them: `run --driver FILE` tests a
 * gate that does not speak HTTP through an adapter module; `run --commands FILE` adds a fast-check
 * command. The faulty gate (drivers/plugin-driver-test-support.ts) is caught only by the example
 * command — the same run without it passes — so the command is what can fail.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openTarget } from '../targets.ts';
import { cli } from './cli-test-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'failclosed-plugin-drivers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const path = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));
const LIBRARY_GATE = path('../../examples/drivers/library-gate.ts');
const RETRY = path('../../examples/commands/retry-after-outage.ts');
const FAULTY_GATE = path('../drivers/plugin-driver-test-support.ts');
const quick = (report: string, ...more: string[]) => ['run', '--seed', '7', '--runs', '3', '--parallel', '1', '--report', join(dir, report), ...more];
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

describe('failclosed run --driver / --commands', () => {
  it('runs the suite through the example library adapter, with the example command, and passes', async () => {
    const run = await cli(...quick('library', '--driver', LIBRARY_GATE, '--commands', RETRY));
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('testing the gate behind the driver');
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('COMPLIANT at level full — library gate (plug-in driver), profile quick, seed 7 (exit 0)');
    expect(readJson(join(dir, 'library', 'result.json')).target).toBe('library gate (plug-in driver)');
  });

  it('the example command catches a gate the built-in commands do not; replay runs it again', async () => {
    const without = await cli(...quick('faulty-without', '--driver', FAULTY_GATE));
    expect(without.status).toBe(0);
    const run = await cli(...quick('faulty', '--driver', FAULTY_GATE, '--commands', RETRY));
    expect(run.status).toBe(1);
    const result = readJson(join(dir, 'faulty', 'result.json'));
    expect(result.failure.commands).toEqual(['RetryAfterOutage({"outage":"unreachable","amount":42})']);
    expect(result.failure.invariants.some((i: string) => i === 'INV-1' || i === 'INV-4')).toBe(true);
    const counterexample = readJson(join(dir, 'faulty', 'counterexample.json'));
    expect(counterexample.target).toEqual({ kind: 'driver', module: FAULTY_GATE });
    expect(counterexample.commandFiles).toEqual([RETRY]);
    const replayed = await cli('replay', join(dir, 'faulty', 'counterexample.json'));
    expect(replayed.status).toBe(1);
    expect(replayed.stdout).toContain('1. RetryAfterOutage({"outage":"unreachable","amount":42})');
  });

  it('a driver claims only what its gate can do: the rest is not tested', async () => {
    const partial = join(dir, 'partial-driver.ts');
    writeFileSync(partial, `import gate from ${JSON.stringify(LIBRARY_GATE)};\nexport default { ...gate, name: 'no-crash gate', capabilities: ['audit-export', 'reset', 'direct-execution'] };\n`);
    const target = await openTarget({ kind: 'driver', module: partial });
    const driver = await target.makeDriver(target.harness);
    expect([...driver.capabilities].sort()).toEqual(['audit-export', 'direct-execution', 'reset']);
    expect(driver.target).toBe('no-crash gate (plug-in driver)');
    await driver.close();
    await target.close();
  });

  it('refuses what is not a driver or a command before anything runs (exit 2)', async () => {
    const notADriver = join(dir, 'not-a-driver.ts');
    writeFileSync(notADriver, 'export default { name: "x" };\n');
    const driver = await cli(...quick('never-1', '--driver', notADriver));
    expect(driver.status).toBe(2);
    expect(driver.stderr).toMatch(/the driver x has no start function/);
    const badCommand = join(dir, 'bad-command.ts');
    writeFileSync(badCommand, "export default [{ name: 'Bad', threat: 'no-such-threat', parameters: null, run: async () => {} }];\n");
    const command = await cli(...quick('never-2', '--commands', badCommand));
    expect(command.status).toBe(2);
    expect(command.stderr).toMatch(/Bad: threat must be one of happy-path/);
    expect((await cli(...quick('never-3', '--driver-options', '{}'))).status).toBe(2);
    expect((await cli(...quick('never-4', '--driver', LIBRARY_GATE, '--driver-options', '[1]'))).stderr).toMatch(/--driver-options must be a JSON object/);
  });
});
