/**
 * A gate in a container image (testcontainers): started with the contract's environment, on the
 * host's network so that every exchange stays on loopback, waited for by its "ready" log line
 * (scratch images have no shell for exec-based waits), its logs kept for the report, and crashed
 * for real by a container restart with no grace period.
 */
import type { Readable } from 'node:stream';
import { GenericContainer, Wait } from 'testcontainers';
import type { StartedTestContainer } from 'testcontainers';
import type { DriverFactory, Harness } from '../conformance/runner.ts';
import { HarnessError, HttpDriver, fetchHello } from './drivers/http.ts';
import { freePort, startHttpHarness } from './http-harness.ts';
import type { SharedPostgres, StoreChoice } from './reference-over-http.ts';
import { closeSharedPostgres, databaseFaults, replicaStoreEnvironment, sharedPostgres } from './reference-over-http.ts';
import { HARNESS_CONTROL_PLANE_DEADLINE_MS, HARNESS_EXECUTION_DEADLINE_MS, contractEnvironment } from './reference-over-http.ts';

// The resource reaper is itself an image from a registry; this harness cleans up after itself.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';

export const STARTUP_TIMEOUT_MS = 60_000;

async function waitHealthy(gateUrl: string, timeoutMs = STARTUP_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(new URL('/healthz', gateUrl), { signal: AbortSignal.timeout(1000) });
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new HarnessError(`the container's gate at ${gateUrl} did not become healthy within ${timeoutMs} ms`);
}

export interface ContainerTarget {
  makeDriver: DriverFactory;
  /** the image's content digest (docker image id), for reports */
  imageDigest: string | undefined;
  /** what the container printed (kept for reports) */
  logs(): string;
  /** milliseconds from `docker run` to a healthy gate */
  startupMs: number;
  close(): Promise<void>;
}

/**
 * `store`: for an image of the reference, where its instances keep their state — `postgres` (a
 * throw-away cluster on the host's loopback, which the containers reach over the host network), a
 * postgres:// URL (a database is created there), or `file` (each its own /data). Replicas default
 * to `postgres`. An image that is not the reference ignores FAILCLOSED_STORE_URL.
 */
export async function imageTarget(harness: Harness, image: string, replicas = 1, store: StoreChoice = replicas > 1 ? 'postgres' : 'file'): Promise<ContainerTarget> {
  const services = await startHttpHarness(harness);
  const containers: StartedTestContainer[] = [];
  const logs: string[] = [];
  let postgres: SharedPostgres | undefined;
  const stopAll = async () => {
    for (const c of [...containers].reverse()) await c.stop({ timeout: 2_000 }).catch(() => undefined);
    await services.close();
    if (postgres) await closeSharedPostgres(postgres);
  };
  try {
    // The containers share the host's network: each reaches the database through its own proxy on loopback.
    if (store !== 'file') postgres = await sharedPostgres(store, replicas);
    const executionLayerPort = await freePort();
    await services.proxyExecutionLayer(`http://127.0.0.1:${executionLayerPort}`);
    const gateUrls: string[] = [];
    const started = Date.now();
    for (let i = 0; i < replicas; i++) {
      const gatePort = await freePort();
      const role: Record<string, string> = {
        ...(i === 0 ? { FAILCLOSED_EXECUTION_LAYER_LISTEN_PORT: String(executionLayerPort) } : { FAILCLOSED_EXECUTION_LAYER_EXTERNAL: '1' }),
        ...(postgres ? replicaStoreEnvironment(postgres, i) : {}),
      };
      const env = contractEnvironment(harness, services, {
        FAILCLOSED_LISTEN_HOST: '127.0.0.1',
        FAILCLOSED_LISTEN_PORT: String(gatePort),
        FAILCLOSED_DATA_DIR: '/data',
        FAILCLOSED_CONTROL_PLANE_DEADLINE_MS: String(HARNESS_CONTROL_PLANE_DEADLINE_MS),
        FAILCLOSED_EXECUTION_DEADLINE_MS: String(HARNESS_EXECUTION_DEADLINE_MS),
        ...role,
      });
      logs.push('');
      const container = await new GenericContainer(image)
        .withNetworkMode('host')
        .withEnvironment(env)
        .withWaitStrategy(Wait.forLogMessage(/^ready$/m))
        .withStartupTimeout(STARTUP_TIMEOUT_MS)
        .withLogConsumer((stream: Readable) => {
          stream.on('data', (chunk: Buffer | string) => {
            logs[i] = `${logs[i]}${chunk.toString()}`.slice(-100_000);
          });
        })
        .start();
      containers.push(container);
      const gateUrl = `http://127.0.0.1:${gatePort}`;
      await waitHealthy(gateUrl);
      gateUrls.push(gateUrl);
    }
    const startupMs = Date.now() - started;
    const [primaryUrl, ...replicaUrls] = gateUrls as [string, ...string[]];
    const makeDriver: DriverFactory = async () => {
      const hello = await fetchHello(primaryUrl);
      return new HttpDriver({
        gateUrl: primaryUrl,
        replicaUrls,
        recorder: harness.recorder,
        controlPlane: harness.controlPlane,
        hello,
        ...(services.executionProxy ? { executionProxy: services.executionProxy } : {}),
        ...(postgres ? { harnessFaults: databaseFaults(postgres) } : {}),
        target: `image ${image} (container ${containers[0]!.getId().slice(0, 12)}${replicas > 1 ? ` + ${replicas - 1} replica(s)` : ''}${postgres ? ', on PostgreSQL' : ''})`,
        // A real crash: no grace period, then every container starts again on its own data.
        crash: async (replica?: number) => {
          const which = replica === undefined ? containers.map((_, i) => i) : [replica];
          // The whole system on PostgreSQL: the database is restarted too (immediate shutdown).
          if (replica === undefined && postgres?.server.owned) {
            await postgres.server.restart('immediate');
            postgres.restarts++;
          }
          for (const i of which) await containers[i]!.restart({ timeout: 0 });
          for (const i of which) await waitHealthy(gateUrls[i]!);
        },
      });
    };
    return {
      makeDriver,
      imageDigest: await imageDigest(image),
      logs: () => logs.map((l, i) => (replicas > 1 ? `--- replica ${i} ---\n${l}` : l)).join('\n'),
      startupMs,
      close: stopAll,
    };
  } catch (error) {
    const printed = logs.join('\n').slice(-2000);
    await stopAll();
    throw error instanceof HarnessError ? error : new HarnessError(`cannot start the image ${image}: ${(error as Error).message}${printed ? `\n${printed}` : ''}`);
  }
}

/** The image's id (sha256 of its configuration): what exactly was tested. */
async function imageDigest(image: string): Promise<string | undefined> {
  const { spawnSync } = await import('node:child_process');
  const result = spawnSync('docker', ['image', 'inspect', '--format', '{{.Id}}', image], { encoding: 'utf8', timeout: 15_000 });
  const id = result.status === 0 ? result.stdout.trim() : '';
  return /^sha256:[0-9a-f]{64}$/.test(id) ? id : undefined;
}

/** Whether a Docker engine answers here; the reason when not (printed, never silently passed). */
export async function dockerEngine(): Promise<{ ok: true } | { ok: false; reason: string }> {
  const { spawnSync } = await import('node:child_process');
  const result = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 15_000 });
  if (result.error) return { ok: false, reason: `no docker client: ${result.error.message}` };
  if (result.status !== 0) return { ok: false, reason: `no docker engine answers: ${(result.stderr || result.stdout).trim().split('\n')[0]}` };
  return { ok: true };
}
