/**
 * The reference as an HTTP target: `failclosed serve` in its own process, configured only through
 * the contract's environment variables to use the harness's Control Plane, effect sink and the
 * proxy in front of its Execution Layer, with the conformance control channel on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DriverFactory, Harness } from '../conformance/runner.ts';
import type { HttpDriverOptions } from './drivers/http.ts';
import { HttpDriver, fetchHello } from './drivers/http.ts';
import type { HttpHarness } from './http-harness.ts';
import { freePort, startHttpHarness } from './http-harness.ts';
import type { PostgresServer } from './postgres-cluster.ts';
import { startPostgres } from './postgres-cluster.ts';
import type { ServeProcess } from './serve-process.ts';
import type { TcpFaultProxy, TcpProxyMode } from './services/tcp-fault-proxy.ts';
import { startTcpFaultProxy } from './services/tcp-fault-proxy.ts';
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
  /** every `failclosed serve` process, the primary first (a crash replaces them) */
  processes: ServeProcess[];
  /**
   * On PostgreSQL: the server, the database the replicas share, and one TCP fault proxy per replica
   * between it and the database (the replica's only way there).
   */
  postgres?: SharedPostgres;
  close(): Promise<void>;
}

/** What the replicas' claims look like on the wire: the statement the database faults aim at. */
const CLAIM_STATEMENT = 'nonce_claims';
/** past the reference's store deadline (1.5 s), inside the harness's patience */
const SLOW_RESULT_MS = 2_000;

/** The database replicas share, each reaching it through a TCP fault proxy of its own. */
export interface SharedPostgres {
  server: PostgresServer;
  databaseUrl: string;
  proxies: TcpFaultProxy[];
  /** whole-system crashes that restarted the database; replicas killed (SIGKILL) */
  restarts: number;
  kills: number;
}

/** A fresh database on `store`'s server ('postgres': a throw-away cluster), and `replicas` proxies to it. */
export async function sharedPostgres(store: string, replicas: number): Promise<SharedPostgres> {
  const server = await startPostgres(store === 'postgres' ? {} : { url: store });
  const shared: SharedPostgres = { server, databaseUrl: '', proxies: [], restarts: 0, kills: 0 };
  try {
    shared.databaseUrl = await server.createDatabase('failclosed_run');
    const database = new URL(shared.databaseUrl);
    for (let i = 0; i < replicas; i++) shared.proxies.push(await startTcpFaultProxy({ host: database.hostname, port: Number(database.port || 5432) }));
  } catch (error) {
    await closeSharedPostgres(shared);
    throw error;
  }
  return shared;
}

export async function closeSharedPostgres(shared: SharedPostgres): Promise<void> {
  for (const proxy of shared.proxies) await proxy.close();
  await shared.server.close();
}

/** The settings that put replica `i` on the shared database, through its proxy, on its own audit chain. */
export function replicaStoreEnvironment(shared: SharedPostgres, i: number): Record<string, string> {
  const url = new URL(shared.databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String(shared.proxies[i]!.port);
  return { FAILCLOSED_STORE_URL: url.href, FAILCLOSED_AUDIT_CHAIN: `replica-${i}` };
}

/**
 * The database faults the harness plays on the proxies, in place of the gate's simulated ones:
 * the nonce store down is every replica partitioned from the database; a write unconfirmed is the
 * claim's acknowledgement lost after it committed, or (every other time) its result slower than
 * the replica's deadline.
 */
export function databaseFaults(shared: SharedPostgres): NonNullable<HttpDriverOptions['harnessFaults']> {
  const setAll = (mode: TcpProxyMode) => Promise.all(shared.proxies.map((proxy) => proxy.setMode(mode))).then(() => undefined);
  let unconfirmedPlays = 0;
  return {
    'nonce-store-down': (active: boolean) => setAll(active ? { kind: 'partition' } : { kind: 'pass' }),
    'nonce-store-unconfirmed': (active: boolean) =>
      setAll(!active ? { kind: 'pass' } : unconfirmedPlays++ % 2 === 0 ? { kind: 'lose-ack', match: CLAIM_STATEMENT } : { kind: 'slow', match: CLAIM_STATEMENT, ms: SLOW_RESULT_MS }),
  };
}

/**
 * Starts the reference behind a fresh harness — `replicas` processes sharing their state in one
 * PostgreSQL database (the default with more than one) and one Execution Layer (the primary's) —
 * and a factory that hands the suite an HttpDriver to them.
 *
 * On PostgreSQL the harness plays the database faults itself, on the TCP proxies: the nonce store
 * down is every replica partitioned from the database; a write unconfirmed is the claim's
 * acknowledgement lost after it committed, or (every other time) its result slower than the
 * replica's deadline. A crash of one replica is real: SIGKILL of its process, then `failclosed
 * serve` again on the same ports; a crash of the whole system restarts the database (immediate
 * shutdown) and every replica on its state.
 */
export async function referenceOverHttp(harness: Harness, variant?: string, replicas = 1, store: StoreChoice = replicas > 1 ? 'postgres' : 'file'): Promise<ReferenceOverHttp> {
  const services = await startHttpHarness(harness);
  const dataDirs: string[] = [];
  const processes: ServeProcess[] = [];
  let postgres: ReferenceOverHttp['postgres'];
  const close = async () => {
    for (const p of [...processes].reverse()) await p.stop();
    await services.close();
    if (postgres) await closeSharedPostgres(postgres);
    for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
  };
  const common = {
    FAILCLOSED_LISTEN_HOST: '127.0.0.1',
    FAILCLOSED_LISTEN_PORT: '0',
    FAILCLOSED_CONTROL_PLANE_DEADLINE_MS: String(HARNESS_CONTROL_PLANE_DEADLINE_MS),
    FAILCLOSED_EXECUTION_DEADLINE_MS: String(HARNESS_EXECUTION_DEADLINE_MS),
    FAILCLOSED_FSYNC: '0',
  };
  const envs: Record<string, string>[] = [];
  const start = (i: number) =>
    startServeProcess({
      ...(variant ? { args: ['--variant', variant] } : {}),
      env: envs[i]!,
    });
  try {
    if (store !== 'file') postgres = await sharedPostgres(store, replicas);
    const executionLayerPort = await freePort();
    await services.proxyExecutionLayer(`http://127.0.0.1:${executionLayerPort}`);
    for (let i = 0; i < replicas; i++) {
      const dataDir = mkdtempSync(join(tmpdir(), `failclosed-http-target-${i}-`));
      dataDirs.push(dataDir);
      const role: Record<string, string> = i === 0 ? { FAILCLOSED_EXECUTION_LAYER_LISTEN_PORT: String(executionLayerPort) } : { FAILCLOSED_EXECUTION_LAYER_EXTERNAL: '1' };
      let storeEnv: Record<string, string> = {};
      if (postgres) {
        // A fixed gate port: a replica killed for real comes back where the driver sends.
        storeEnv = { ...replicaStoreEnvironment(postgres, i), FAILCLOSED_LISTEN_PORT: String(await freePort()) };
      }
      envs.push(contractEnvironment(harness, services, { ...common, ...role, ...storeEnv, FAILCLOSED_DATA_DIR: dataDir }));
      processes.push(await start(i));
    }
  } catch (error) {
    await close();
    throw error;
  }
  const [primary, ...others] = processes as [ServeProcess, ...ServeProcess[]];
  const pg = postgres;
  const crash = async (replica?: number) => {
    if (replica !== undefined) {
      // One replica, for real: SIGKILL (requests in flight through it included), serve again.
      await processes[replica]!.kill();
      pg!.kills++;
      processes[replica] = await start(replica);
      return;
    }
    // The whole system: the database restarted (immediate shutdown, as after a crash) under every
    // replica's pool, and every replica restarted on its state (the control channel's restart,
    // which drops all it held in memory) — a SIGKILL of every process would cost seconds a time.
    if (pg!.server.owned) {
      await pg!.server.restart('immediate');
      pg!.restarts++;
    }
    for (const p of processes) {
      const response = await fetch(new URL('/failclosed/v1/restart', p.gate), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', signal: AbortSignal.timeout(30_000) });
      await response.body?.cancel();
      if (!response.ok) throw new Error(`the restart of ${p.gate} answered HTTP ${response.status}`);
    }
  };
  const makeDriver: DriverFactory = async () => {
    const hello = await fetchHello(primary.gate);
    return new HttpDriver({
      gateUrl: primary.gate,
      replicaUrls: others.map((p) => p.gate),
      recorder: harness.recorder,
      controlPlane: harness.controlPlane,
      hello,
      ...(services.executionProxy ? { executionProxy: services.executionProxy } : {}),
      ...(pg
        ? {
            crash,
            harnessFaults: databaseFaults(pg),
          }
        : {}),
      target: `${variant ? `mutant:${variant}` : 'reference'} (failclosed serve at ${primary.gate}${others.length ? ` + ${others.length} replica(s)` : ''}${pg ? ', on PostgreSQL' : ''})`,
    });
  };
  return {
    makeDriver,
    get serve() {
      return processes[0]!;
    },
    processes,
    ...(pg ? { postgres: pg } : {}),
    close,
  };
}
