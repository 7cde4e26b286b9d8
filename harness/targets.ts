/**
 * Which system a command runs against. A target spec is plain data, so a counterexample file can
 * record it and `failclosed replay` can rebuild exactly the same target.
 *
 *   in-process  the embedded reference (or a planted-bug variant) inside the harness
 *   http        the reference as its own `failclosed serve` process, behind the harness's services
 *   url         a gate someone else started, configured as `failclosed doctor --print-config` says
 *   image, command  a gate the harness starts (a container, a command line)
 *   driver      a gate that does not speak HTTP, through a user's adapter module (failclosed/api defineDriver)
 */
import type { DriverFactory, Harness } from '../conformance/runner.ts';
import { createHarness } from '../conformance/runner.ts';
import type { ReferenceTarget } from '../reference-impl/in-process-target.ts';
import { referenceTarget, whyOnlyInProcess } from '../reference-impl/in-process-target.ts';
import { InProcessDriver } from './drivers/in-process.ts';
import type { DriverOptions, PluginDriver } from './drivers/plugin-driver.ts';
import { AdapterDriver, PluginDriverError, loadPluginDriver } from './drivers/plugin-driver.ts';
import { HttpDriver, fetchHello } from './drivers/http.ts';
import { HarnessListenError, harnessPorts, startHttpHarness } from './http-harness.ts';
import { referenceOverHttp } from './reference-over-http.ts';
import { dockerEngine, imageTarget } from './container-target.ts';
import { postgresAvailability } from './postgres-cluster.ts';
import { processTarget } from './process-target.ts';

export type TargetSpec =
  | { kind: 'in-process'; variant?: string }
  /** store: where the replicas keep their state ('postgres', a postgres:// URL, or 'file'; replicas default to 'postgres') */
  | { kind: 'http'; variant?: string; replicas?: number; store?: string }
  /** executionLayer: where a gate without a handshake's execution_layer_url has its Execution Layer (the proxy forwards there) */
  | { kind: 'url'; url: string; harnessHost: string; harnessPort: number; executionLayer?: string }
  | { kind: 'image'; image: string; replicas?: number; store?: string }
  /** a gate the harness starts from a command line (run with sh -c), on free ports and a fresh data directory */
  | { kind: 'command'; command: string; cwd?: string; env?: Record<string, string> }
  /** a gate reached by a user's adapter module (harness/drivers/plugin-driver.ts): a library, a CLI; module is an absolute path */
  | { kind: 'driver'; module: string; options?: DriverOptions };

/** The target cannot be opened: why (the message), and what to do about it. */
export class TargetError extends Error {
  override name = 'TargetError';
  constructor(
    message: string,
    readonly remedy: string,
  ) {
    super(message);
  }
}

export interface OpenTarget {
  harness: Harness;
  makeDriver: DriverFactory;
  /** what the system under test printed, when the harness can see it (containers) */
  logs?: () => string;
  /** what exactly was tested, when known (a container image's digest) */
  digest?: string;
  close(): Promise<void>;
}

/** Planted-bug variants, looked up lazily so the CLI starts fast. */
async function variantTarget(id: string): Promise<ReferenceTarget> {
  const { MUTANTS } = await import('../conformance/mutants/index.ts');
  const mutant = MUTANTS.find((m) => m.id === id);
  if (!mutant) throw new TargetError(`no planted-bug variant "${id}"`, `name one of ${MUTANTS.map((m) => m.id).join(', ')}`);
  return mutant.target;
}

export async function openTarget(spec: TargetSpec): Promise<OpenTarget> {
  const harness = createHarness();
  switch (spec.kind) {
    case 'in-process': {
      const target = spec.variant ? await variantTarget(spec.variant) : referenceTarget();
      return { harness, makeDriver: (h) => new InProcessDriver(target, h), close: async () => undefined };
    }
    case 'http': {
      const onlyInProcess = spec.variant ? whyOnlyInProcess((await variantTarget(spec.variant)).variation) : undefined;
      if (onlyInProcess) {
        throw new TargetError(`the variant "${spec.variant}" ${onlyInProcess} and exists only in-process`, 'test it without --over http');
      }
      const replicas = spec.replicas ?? 1;
      const store = spec.store ?? (replicas > 1 ? 'postgres' : 'file');
      if (store === 'file' && replicas > 1) throw new TargetError('replicas of the reference share their state through PostgreSQL', 'pass --store postgres (a throw-away cluster) or --store postgres://… (your server), or run one replica');
      if (store === 'postgres') {
        const available = postgresAvailability();
        if (!available.ok) throw new TargetError(`--store postgres needs a PostgreSQL server: ${available.reason}`, 'install PostgreSQL\'s server binaries (Debian: apt-get install postgresql), or pass --store postgres://USER@HOST:PORT/DB of a server the harness may create databases on');
      }
      const opened = await referenceOverHttp(harness, spec.variant, replicas, store);
      return { harness, makeDriver: opened.makeDriver, close: opened.close };
    }
    case 'command': {
      const started = await processTarget(harness, { command: spec.command, ...(spec.cwd ? { cwd: spec.cwd } : {}), ...(spec.env ? { env: spec.env } : {}) });
      return { harness, makeDriver: started.makeDriver, logs: started.logs, close: started.close };
    }
    case 'image': {
      const engine = await dockerEngine();
      if (!engine.ok) throw new TargetError(`--image needs a Docker engine: ${engine.reason}`, 'start a Docker engine (or point DOCKER_HOST at one), or test without --image');
      const replicas = spec.replicas ?? 1;
      const store = spec.store ?? (replicas > 1 ? 'postgres' : 'file');
      if (store === 'postgres') {
        const available = postgresAvailability();
        if (!available.ok) throw new TargetError(`--store postgres needs a PostgreSQL server: ${available.reason}`, 'install PostgreSQL\'s server binaries (Debian: apt-get install postgresql), or pass --store postgres://USER@HOST:PORT/DB');
      }
      const container = await imageTarget(harness, spec.image, replicas, store);
      return { harness, makeDriver: container.makeDriver, logs: container.logs, ...(container.imageDigest ? { digest: container.imageDigest } : {}), close: container.close };
    }
    case 'driver': {
      let plugin: PluginDriver;
      try {
        plugin = await loadPluginDriver(spec.module);
      } catch (error) {
        if (error instanceof PluginDriverError) throw new TargetError(error.message, 'give --driver a module whose default export is defineDriver({ name, start }) from failclosed/api (docs/extending/drivers.md)');
        throw error;
      }
      return { harness, makeDriver: (h) => new AdapterDriver(plugin, spec.options ?? {}, h), close: async () => undefined };
    }
    case 'url': {
      const ports = harnessPorts(spec.harnessPort);
      const services = await startHttpHarness(harness, { host: spec.harnessHost, ports }).catch((error: unknown) => {
        throw harnessServicesError(error, spec);
      });
      let hello;
      try {
        hello = await fetchHello(spec.url);
      } catch (error) {
        await services.close();
        throw new TargetError(
          (error as Error).message,
          `start the gate (configured as \`failclosed doctor --print-config\` says) or correct --target; \`failclosed doctor --target ${spec.url}\` tells what is missing`,
        );
      }
      try {
        // The handshake says where the Execution Layer is; a gate without one may be told on the command line.
        const executionLayer = hello?.execution_layer_url ?? spec.executionLayer;
        if (executionLayer) await services.proxyExecutionLayer(executionLayer);
      } catch (error) {
        await services.close();
        throw harnessServicesError(error, spec);
      }
      const makeDriver: DriverFactory = () =>
        new HttpDriver({ gateUrl: spec.url, recorder: harness.recorder, controlPlane: harness.controlPlane, hello, ...(services.executionProxy ? { executionProxy: services.executionProxy } : {}), target: `gate at ${spec.url}` });
      return { harness, makeDriver, close: () => services.close() };
    }
  }
}

/** The harness's own services could not start: its ports, not the system under test. */
function harnessServicesError(error: unknown, spec: Extract<TargetSpec, { kind: 'url' }>): TargetError {
  if (!(error instanceof HarnessListenError)) return new TargetError(`cannot start the harness services: ${(error as Error).message}`, 'see the cause above; the harness needs three ports from --harness-port N');
  const where = `cannot start the harness services on ${error.host}:${error.port}: ${error.why}`;
  const ports = `the harness listens on N, N+1 and N+2 (now ${spec.harnessPort}…${spec.harnessPort + 2})`;
  switch (error.code) {
    case 'EADDRINUSE':
      return new TargetError(where, `stop what listens there or pass --harness-port N; ${ports}, and the gate must be configured with the same ports`);
    case 'EADDRNOTAVAIL':
      return new TargetError(where, 'pass --harness-host with an address of this machine (default 127.0.0.1)');
    case 'EACCES':
    case 'EPERM':
      return new TargetError(where, `pass --harness-port N with N at least 1024; ${ports}`);
    default:
      return new TargetError(where, `check --harness-host and --harness-port; ${ports}`);
  }
}

export function describeTarget(spec: TargetSpec): string {
  const name = 'variant' in spec && spec.variant ? `planted-bug variant "${spec.variant}"` : 'the embedded reference implementation';
  switch (spec.kind) {
    case 'in-process':
      return `${name} (in-process)`;
    case 'http':
      return `${name} (failclosed serve, over HTTP${spec.replicas && spec.replicas > 1 ? `, ${spec.replicas} replicas` : ''}${(spec.store ?? (spec.replicas && spec.replicas > 1 ? 'postgres' : 'file')) !== 'file' ? ', on PostgreSQL' : ''})`;
    case 'url':
      return `the gate at ${spec.url}`;
    case 'image':
      return `the image ${spec.image} (${spec.replicas && spec.replicas > 1 ? `${spec.replicas} containers` : 'container'})`;
    case 'command':
      return `the gate started by \`${spec.command}\`${spec.cwd ? ` in ${spec.cwd}` : ''}`;
    case 'driver':
      return `the gate behind the driver ${spec.module}`;
  }
}
