/**
 * The reference as an HTTP target: `failclosed serve` in its own process, configured only through
 * the contract's environment variables to use the harness's Control Plane, effect sink and the
 * proxy in front of its Execution Layer, with the conformance control channel on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DriverFactory, Harness } from '../conformance/runner.ts';
import { HttpDriver, fetchHello } from './drivers/http.ts';
import type { HttpHarness } from './http-harness.ts';
import { freePort, startHttpHarness } from './http-harness.ts';
import type { ServeProcess } from './serve-process.ts';
import { startServeProcess } from './serve-process.ts';

/** The contract's configuration for a gate that the harness surrounds. */
export function contractEnvironment(harness: Harness, services: HttpHarness, extra: Record<string, string> = {}): Record<string, string> {
  return {
    FAILCLOSED_CONTROL_PLANE_URL: services.controlPlaneUrl,
    FAILCLOSED_CONTROL_PLANE_KEYS: JSON.stringify(harness.trustedKeys),
    FAILCLOSED_EXECUTION_LAYER_URL: services.executionProxyUrl,
    FAILCLOSED_EFFECT_SINK_URL: services.effectSinkUrl,
    FAILCLOSED_IDENTITY_KEYS: JSON.stringify({ keys: harness.identityKeys }),
    FAILCLOSED_ACCEPTANCE_WINDOW_SEC: String(harness.settings.acceptanceWindowSec),
    FAILCLOSED_CONFORMANCE_CHANNEL: '1',
    ...extra,
  };
}

/** Starts the reference behind a fresh harness; the factory hands the suite an HttpDriver to it. */
export async function referenceOverHttp(harness: Harness, variant?: string): Promise<{ makeDriver: DriverFactory; serve: ServeProcess; close(): Promise<void> }> {
  const services = await startHttpHarness(harness);
  const dataDir = mkdtempSync(join(tmpdir(), 'failclosed-http-target-'));
  let serve: ServeProcess;
  try {
    const executionLayerPort = await freePort();
    await services.proxyExecutionLayer(`http://127.0.0.1:${executionLayerPort}`);
    serve = await startServeProcess({
      ...(variant ? { args: ['--variant', variant] } : {}),
      env: contractEnvironment(harness, services, {
        FAILCLOSED_LISTEN_HOST: '127.0.0.1',
        FAILCLOSED_LISTEN_PORT: '0',
        FAILCLOSED_EXECUTION_LAYER_LISTEN_PORT: String(executionLayerPort),
        FAILCLOSED_DATA_DIR: dataDir,
        // The harness's Control Plane answers at once or never: no need to wait seconds for it.
        FAILCLOSED_CONTROL_PLANE_DEADLINE_MS: '250',
        FAILCLOSED_FSYNC: '0',
      }),
    });
  } catch (error) {
    await services.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const close = async () => {
    await serve.stop();
    await services.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  const makeDriver: DriverFactory = async () => {
    const hello = await fetchHello(serve.gate);
    return new HttpDriver({ gateUrl: serve.gate, recorder: harness.recorder, hello, ...(services.executionProxy ? { executionProxy: services.executionProxy } : {}), target: `${variant ? `mutant:${variant}` : 'reference'} (failclosed serve at ${serve.gate})` });
  };
  return { makeDriver, serve, close };
}
