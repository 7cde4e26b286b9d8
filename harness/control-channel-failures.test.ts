/**
 * A control-channel call that fails — the gate resets the connection, answers 500, stays silent,
 * or is gone — leaves the harness unable to observe the system: the run is inconclusive (exit 2)
 * with one line of cause and one of remedy. Never a crash, never "non-compliant".
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createHarness } from '../conformance/runner.ts';
import type { Driver } from '../conformance/driver.ts';
import { executeRun } from './cli/run-command.ts';
import type { CommandIO } from './cli/command.ts';
import { HarnessError, HttpDriver, fetchHello } from './drivers/http.ts';
import type { ControlBehaviour } from './fake-gate-test-support.ts';
import { startFakeGate } from './fake-gate-test-support.ts';
import { freePort, harnessPorts, startHttpHarness } from './http-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'failclosed-control-failures-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function captureIo(): CommandIO & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out: (t: string) => void (io.stdout += t),
    err: (t: string) => void (io.stderr += t),
    usageError: (m: string) => (io.err(m), 2),
    fail: (cause: string, remedy: string, status = 2) => (io.err(`failclosed: ${cause}\nremedy: ${remedy}\n`), status),
  };
  return io;
}

/** A fake gate whose /failclosed/v1/fault misbehaves, and an HttpDriver to it. */
async function driverTo(fault: ControlBehaviour): Promise<{ driver: HttpDriver; close(): Promise<void> }> {
  const harness = createHarness();
  const services = await startHttpHarness(harness);
  const gate = await startFakeGate({ capabilities: ['nonce-store-down', 'reset'], controlPlaneUrl: services.controlPlaneUrl, effectSinkUrl: services.effectSinkUrl, control: { fault } });
  const driver = new HttpDriver({ gateUrl: gate.url, recorder: harness.recorder, hello: await fetchHello(gate.url), controlTimeoutMs: 500 });
  return { driver, close: async () => (await gate.close(), await services.close()) };
}

async function harnessErrorOf(promise: Promise<unknown>): Promise<HarnessError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HarnessError);
  return error as HarnessError;
}

describe('a failing control-channel call is a HarnessError with a cause and a remedy', () => {
  for (const [behaviour, cause] of [
    ['reset', /POST \/failclosed\/v1\/fault to http:\/\/127\.0\.0\.1:\d+\/? failed: the connection was (reset|closed)/],
    ['error', /POST \/failclosed\/v1\/fault to http:\/\/127\.0\.0\.1:\d+\/? answered HTTP 500: \{"error":"the fault switch blew up"\}/],
    ['silent', /POST \/failclosed\/v1\/fault to http:\/\/127\.0\.0\.1:\d+\/? failed: no answer in time/],
  ] as const) {
    it(`the gate ${behaviour === 'reset' ? 'resets the connection' : behaviour === 'error' ? 'answers 500' : 'never answers'}`, async () => {
      const { driver, close } = await driverTo(behaviour);
      try {
        await driver.reset();
        const error = await harnessErrorOf(driver.setFault('nonce-store-down', true));
        expect(error.message).toMatch(cause);
        expect(error.message).not.toContain('\n');
        expect(error.remedy).toContain('CONTRACT.md section 9');
        // The harness lost its hold on the gate: everything after fails the same way, at once.
        const started = Date.now();
        expect(await harnessErrorOf(driver.reset())).toBe(error);
        expect(await harnessErrorOf(driver.submit(new Uint8Array([123, 125])))).toBe(error);
        expect(Date.now() - started).toBeLessThan(100);
      } finally {
        await close();
      }
    });
  }

  it('a gate that is gone, and an audit export that is not an array', async () => {
    const harness = createHarness();
    const gone = new HttpDriver({ gateUrl: `http://127.0.0.1:${await freePort()}`, recorder: harness.recorder, hello: { protocol: 'failclosed-control/1', capabilities: ['reset'] } });
    expect((await harnessErrorOf(gone.reset())).message).toContain('the connection was refused (ECONNREFUSED)');
    const services = await startHttpHarness(harness);
    const gate = await startFakeGate({ capabilities: [], controlPlaneUrl: services.controlPlaneUrl, effectSinkUrl: services.effectSinkUrl, audit: '{"records":[]}' });
    try {
      const driver = new HttpDriver({ gateUrl: gate.url, recorder: harness.recorder, hello: await fetchHello(gate.url) });
      const error = await harnessErrorOf(driver.auditExport());
      expect(error.message).toMatch(/GET \/v1\/audit of .* did not answer a JSON array/);
      expect(error.remedy).toContain('CONTRACT.md section 7');
    } finally {
      await gate.close();
      await services.close();
    }
  });
});

describe('failclosed run against a gate that drops a control-channel call', () => {
  it('ends inconclusive (exit 2) with one line of cause and one of remedy, and no stack trace', { timeout: 60_000 }, async () => {
    const base = await freePort(undefined, 3);
    const ports = harnessPorts(base);
    // The gate declares its own lost-confirmation fault, and resets the connection when asked for it.
    const gate = await startFakeGate({
      capabilities: ['execution-unconfirmed', 'reset'],
      controlPlaneUrl: `http://127.0.0.1:${ports.controlPlane}`,
      effectSinkUrl: `http://127.0.0.1:${ports.effectSink}`,
      control: { fault: 'reset' },
    });
    try {
      const io = captureIo();
      const status = await executeRun(io, { kind: 'url', url: gate.url, harnessHost: '127.0.0.1', harnessPort: base }, { profile: 'quick', seed: 3, runs: 1, report: join(dir, 'reset') });
      expect(gate.calls.some((c) => c.startsWith('fault {"active":true,"fault":"execution-unconfirmed"}'))).toBe(true);
      expect({ status, stderr: io.stderr }).toMatchObject({ status: 2 });
      const lines = io.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^failclosed: inconclusive — the run could not observe the system: POST \/failclosed\/v1\/fault to .* failed: the connection was (reset|closed)/);
      expect(lines[1]).toMatch(/^remedy: the gate must answer every control-channel call/);
      expect(io.stderr + io.stdout).not.toMatch(/\n\s+at /);
    } finally {
      await gate.close();
    }
  });

  it('a failure while closing the target after a HarnessError is a warning, not a crash', async () => {
    const io = captureIo();
    const failing: Driver = {
      target: 'a gate whose reset fails',
      capabilities: new Set(['reset', 'audit-export']),
      reset: async () => {
        throw new HarnessError('POST /failclosed/v1/reset to http://gate/ failed: the connection was reset (ECONNRESET)', 'fix the gate');
      },
      submit: async () => ({ status: 'indeterminate' }),
      callExecutionLayer: async () => ({ status: 'indeterminate' }),
      setFault: async () => undefined,
      setClockOffset: async () => undefined,
      crashAndRestart: async () => undefined,
      settle: async () => undefined,
      auditExport: async () => [],
      close: async () => undefined,
    };
    const status = await executeRun(io, { kind: 'in-process' }, {
      profile: 'quick',
      seed: 1,
      report: join(dir, 'close'),
      open: async () => ({
        harness: createHarness(),
        makeDriver: () => failing,
        close: async () => {
          throw new TypeError('socket hang up');
        },
      }),
    });
    expect(status).toBe(2);
    expect(io.stderr).toContain('failclosed: inconclusive — the run could not observe the system: POST /failclosed/v1/reset');
    expect(io.stderr).toContain('remedy: fix the gate');
    expect(io.stderr).toContain('failclosed: warning — the harness could not close the target cleanly: socket hang up');
  });
});
