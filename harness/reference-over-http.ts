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
import type { PostgresServer } from './postgres-cluster.ts';
import { startPostgres } from './postgres-cluster.ts';
import type { ServeProcess } from './serve-process.ts';
import { startServeProcess } from './serve-process.ts';

/**
 * The Control Plane deadline (tuning, CONTRACT.md §2) the harness gives the gates it starts, and
 * that `doctor --print-config` suggests: its Control Plane answers at once or never, so there is
 * no need to wait seconds for it, but a loaded machine's healthy loopback round trip needs room.
 */
export const HARNESS_CONTROL_PLANE_DEADLINE_MS = 750;

/**
 * The Execution Layer deadline (tuning) the harness gives the gates it starts, and that `doctor
 * --print-config` suggests: a delayed link (execution-delayed) holds a call until the Gate gave up
 * on it, so every such step costs this much; a healthy call on a loaded machine still has room.
 */
export const HARNESS_EXECUTION_DEADLINE_MS = 1500;

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

/**
 * Where the reference's replicas keep their state: `postgres` (a throw-away cluster the harness
 * starts, or FAILCLOSED_TEST_POSTGRES_URL's server), a postgres:// URL (a server the user runs: the
 * harness creates a fresh database there and drops it afterwards), or `file` (each process its own
 * files — with replicas, the deployment mistake that replicas exist to expose).
 */
export type StoreChoice = 'file' | 'postgres' | (string & {});

export interface ReferenceOverHttp {
  makeDriver: DriverFactory;
  serve: ServeProcess;
  /** every `failclosed serve` process, the primary first */
  processes: ServeProcess[];
  /** the PostgreSQL server and the database the replicas share, when on PostgreSQL */
  postgres?: { server: PostgresServer; databaseUrl: string };
  close(): Promise<void>;
}

/**
 * Starts the reference behind a fresh harness — `replicas` processes sharing their state in one
 * PostgreSQL database (the default with more than one) and one Execution Layer (the primary's) —
 * and a factory that hands the suite an HttpDriver to them.
 */
export async function referenceOverHttp(harness: Harness, variant?: string, replicas = 1, store: StoreChoice = replicas > 1 ? 'postgres' : 'file'): Promise<ReferenceOverHttp> {
  const services = await startHttpHarness(harness);
  const dataDirs: string[] = [];
  const processes: ServeProcess[] = [];
  let postgres: ReferenceOverHttp['postgres'];
  const close = async () => {
    for (const p of [...processes].reverse()) await p.stop();
    await services.close();
    await postgres?.server.close();
    for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
  };
  const common = {
    FAILCLOSED_LISTEN_HOST: '127.0.0.1',
    FAILCLOSED_LISTEN_PORT: '0',
    FAILCLOSED_CONTROL_PLANE_DEADLINE_MS: String(HARNESS_CONTROL_PLANE_DEADLINE_MS),
    FAILCLOSED_EXECUTION_DEADLINE_MS: String(HARNESS_EXECUTION_DEADLINE_MS),
    FAILCLOSED_FSYNC: '0',
  };
  try {
    if (store !== 'file') {
      const server = await startPostgres(store === 'postgres' ? {} : { url: store });
      postgres = { server, databaseUrl: '' };
      postgres.databaseUrl = await server.createDatabase('failclosed_run');
    }
    const executionLayerPort = await freePort();
    await services.proxyExecutionLayer(`http://127.0.0.1:${executionLayerPort}`);
    for (let i = 0; i < replicas; i++) {
      const dataDir = mkdtempSync(join(tmpdir(), `failclosed-http-target-${i}-`));
      dataDirs.push(dataDir);
      const role: Record<string, string> = i === 0 ? { FAILCLOSED_EXECUTION_LAYER_LISTEN_PORT: String(executionLayerPort) } : { FAILCLOSED_EXECUTION_LAYER_EXTERNAL: '1' };
      const storeEnv: Record<string, string> = postgres ? { FAILCLOSED_STORE_URL: postgres.databaseUrl, FAILCLOSED_AUDIT_CHAIN: `replica-${i}` } : {};
      processes.push(
        await startServeProcess({
          ...(variant ? { args: ['--variant', variant] } : {}),
          env: contractEnvironment(harness, services, { ...common, ...role, ...storeEnv, FAILCLOSED_DATA_DIR: dataDir }),
        }),
      );
    }
  } catch (error) {
    await close();
    throw error;
  }
  const [primary, ...others] = processes as [ServeProcess, ...ServeProcess[]];
  const makeDriver: DriverFactory = async () => {
    const hello = await fetchHello(primary.gate);
    return new HttpDriver({
      gateUrl: primary.gate,
      replicaUrls: others.map((p) => p.gate),
      recorder: harness.recorder,
      controlPlane: harness.controlPlane,
      hello,
      ...(services.executionProxy ? { executionProxy: services.executionProxy } : {}),
      target: `${variant ? `mutant:${variant}` : 'reference'} (failclosed serve at ${primary.gate}${others.length ? ` + ${others.length} replica(s)` : ''}${postgres ? ', on PostgreSQL' : ''})`,
    });
  };
  return { makeDriver, serve: primary, processes, ...(postgres ? { postgres } : {}), close };
}
