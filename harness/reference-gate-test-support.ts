/**
 * The reference as a gate under test, started in the test's own process and configured only
 * through the contract's variables (CONTRACT.md section 2), for the harness's own tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Harness } from '../conformance/runner.ts';
import { loadServeConfig } from '../reference-impl/serve-config.ts';
import type { RunningReference } from '../reference-impl/serve.ts';
import { startReference } from '../reference-impl/serve.ts';

/** The reference, in this process, configured only through the contract's variables. */
export async function referenceGate(harness: Harness, urls: { controlPlane: string; effectSink: string; executionLayer?: string; executionLayerPort?: number; fsync?: boolean; deadlinesMs?: { controlPlane: number; execution: number } }): Promise<RunningReference & { dispose(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'failclosed-route-'));
  const config = loadServeConfig(undefined, {
    FAILCLOSED_LISTEN_HOST: '127.0.0.1',
    FAILCLOSED_LISTEN_PORT: '0',
    FAILCLOSED_CONTROL_PLANE_URL: urls.controlPlane,
    FAILCLOSED_CONTROL_PLANE_KEYS: JSON.stringify(harness.trustedKeys),
    FAILCLOSED_EFFECT_SINK_URL: urls.effectSink,
    FAILCLOSED_IDENTITY_KEYS: JSON.stringify({ keys: harness.identityKeys }),
    FAILCLOSED_EXECUTION_LAYER_LISTEN_PORT: String(urls.executionLayerPort ?? 0),
    ...(urls.executionLayer ? { FAILCLOSED_EXECUTION_LAYER_URL: urls.executionLayer } : {}),
    FAILCLOSED_CONFORMANCE_CHANNEL: '1',
    FAILCLOSED_DATA_DIR: dataDir,
    FAILCLOSED_CONTROL_PLANE_DEADLINE_MS: String(urls.deadlinesMs?.controlPlane ?? 750),
    FAILCLOSED_EXECUTION_DEADLINE_MS: String(urls.deadlinesMs?.execution ?? 1500),
    // fsync costs milliseconds per append and proves nothing here, unless a test asks for the deployed path
    FAILCLOSED_FSYNC: urls.fsync ? '1' : '0',
  });
  const running = await startReference(config);
  return Object.assign(running, {
    async dispose() {
      await running.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

