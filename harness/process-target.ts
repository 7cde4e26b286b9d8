/**
 * A gate the harness starts itself from a command line (`failclosed run --command "…"`): the
 * vendor's own process, configured only through the contract's environment, on free loopback
 * ports, on a fresh data directory for the run.
 *
 * Because the harness owns the process, it can do some things a gate's control channel would
 * otherwise have to: crash it for real (SIGKILL to its whole process group, then the same command
 * on the same data directory), and probe its Execution Layer directly where it told it to listen
 * (FAILCLOSED_EXECUTION_LAYER_LISTEN_PORT) — so a gate without the channel is tested for
 * crash-restart and bypass too. Faults inside it, its clock and reset still need the channel.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DriverFactory, Harness } from '../conformance/runner.ts';
import { HarnessError, HttpDriver, fetchHello } from './drivers/http.ts';
import type { GateProcess } from './gate-process.ts';
import { startGateProcess } from './gate-process.ts';
import { freePort, startHttpHarness } from './http-harness.ts';
import { HARNESS_CONTROL_PLANE_DEADLINE_MS, contractEnvironment } from './reference-over-http.ts';

export const PROCESS_STARTUP_TIMEOUT_MS = 60_000;

export interface ProcessTargetOptions {
  /** a shell command line, run with `sh -c` in the working directory */
  command: string;
  cwd?: string;
  /** more environment for the gate (e.g. its own settings) */
  env?: Record<string, string>;
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(1_000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

async function waitHealthy(gateUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(new URL('/healthz', gateUrl), { signal: AbortSignal.timeout(1_000) });
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new HarnessError(`the gate at ${gateUrl} printed "ready" but GET /healthz did not answer 200 within ${timeoutMs} ms`, 'make GET /healthz answer 200 once the gate can serve (CONTRACT.md section 8)');
}

export interface ProcessTarget {
  makeDriver: DriverFactory;
  /** what the gate printed (kept for reports) */
  logs(): string;
  close(): Promise<void>;
}

export async function processTarget(harness: Harness, options: ProcessTargetOptions): Promise<ProcessTarget> {
  const services = await startHttpHarness(harness);
  const dataDir = mkdtempSync(join(tmpdir(), 'failclosed-gate-data-'));
  let gate: GateProcess | undefined;
  let printed = '';
  const stopAll = async () => {
    if (gate) printed += gate.output();
    await gate?.stop();
    gate = undefined;
    await services.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const gatePort = await freePort();
    const executionLayerPort = await freePort();
    await services.proxyExecutionLayer(`http://127.0.0.1:${executionLayerPort}`);
    const env = contractEnvironment(harness, services, {
      FAILCLOSED_LISTEN_HOST: '127.0.0.1',
      FAILCLOSED_LISTEN_PORT: String(gatePort),
      FAILCLOSED_EXECUTION_LAYER_LISTEN_PORT: String(executionLayerPort),
      FAILCLOSED_DATA_DIR: dataDir,
      FAILCLOSED_CONTROL_PLANE_DEADLINE_MS: String(HARNESS_CONTROL_PLANE_DEADLINE_MS),
      ...options.env,
    });
    const gateUrl = `http://127.0.0.1:${gatePort}`;
    const start = async () => {
      try {
        gate = await startGateProcess({ command: options.command, shell: true, env, ...(options.cwd ? { cwd: options.cwd } : {}), readyTimeoutMs: PROCESS_STARTUP_TIMEOUT_MS, name: 'the gate command' });
      } catch (error) {
        throw new HarnessError(`cannot start the gate \`${options.command}\`: ${(error as Error).message}`, 'run the command yourself with the configuration `failclosed doctor --print-config` prints, and make it print a line "ready" once it serves');
      }
      await waitHealthy(gateUrl, PROCESS_STARTUP_TIMEOUT_MS);
    };
    await start();
    const makeDriver: DriverFactory = async () => {
      const hello = await fetchHello(gateUrl);
      // The harness told the gate where to run its Execution Layer: bypass probes go there, if it listens.
      const directUrl = hello?.execution_layer_url ?? ((await listening(executionLayerPort)) ? `http://127.0.0.1:${executionLayerPort}` : undefined);
      return new HttpDriver({
        gateUrl,
        recorder: harness.recorder,
        controlPlane: harness.controlPlane,
        hello,
        ...(directUrl ? { directExecutionUrl: directUrl } : {}),
        ...(services.executionProxy ? { executionProxy: services.executionProxy } : {}),
        target: `gate command \`${options.command}\` (at ${gateUrl})`,
        // A real crash: SIGKILL to the gate and all it started, then the same command on the same data.
        crash: async () => {
          if (gate) printed += gate.output();
          await gate?.kill();
          await start();
        },
      });
    };
    return { makeDriver, logs: () => `${printed}${gate?.output() ?? ''}`.slice(-100_000), close: stopAll };
  } catch (error) {
    const output = `${printed}${gate?.output() ?? ''}`.slice(-2000);
    await stopAll();
    throw error instanceof HarnessError ? error : new HarnessError(`cannot start the gate \`${options.command}\`: ${(error as Error).message}${output ? `\n${output}` : ''}`);
  }
}
