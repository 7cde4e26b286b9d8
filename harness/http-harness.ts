/**
 * The services the harness runs around a gate under test over HTTP: the Control Plane it plays,
 * the effect sink it owns, and a fault-injecting proxy in front of the gate's Execution Layer.
 * Ports are fixed for a gate that was configured beforehand (`failclosed doctor --print-config`),
 * or free ones for a gate the harness starts itself.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Harness } from '../conformance/runner.ts';
import { RecordingSink } from './recording-sink.ts';
import { startControlPlaneServer } from './services/control-plane-server.ts';
import { startEffectSinkServer } from './services/effect-sink-server.ts';
import type { FaultProxy } from './services/fault-proxy.ts';
import { startFaultProxy } from './services/fault-proxy.ts';

export const DEFAULT_HARNESS_PORT = 8790;

export interface HarnessPorts {
  controlPlane: number;
  effectSink: number;
  executionProxy: number;
}

export function harnessPorts(base: number): HarnessPorts {
  return { controlPlane: base, effectSink: base + 1, executionProxy: base + 2 };
}

export interface HttpHarness {
  controlPlaneUrl: string;
  effectSinkUrl: string;
  /** where the gate must reach its Execution Layer (the proxy), once started */
  executionProxyUrl: string;
  executionProxy: FaultProxy | undefined;
  /** starts the proxy in front of the gate's real Execution Layer */
  proxyExecutionLayer(target: string): Promise<FaultProxy>;
  close(): Promise<void>;
}

/**
 * One of the harness's own services could not listen: which, where, and why. The harness's ports
 * being taken is not the system under test's fault, and is reported as what it is.
 */
export class HarnessListenError extends Error {
  override name = 'HarnessListenError';
  constructor(
    readonly service: string,
    readonly host: string,
    readonly port: number,
    /** the system error code: EADDRINUSE, EADDRNOTAVAIL, EACCES, … */
    readonly code: string | undefined,
    readonly why: string,
  ) {
    super(`cannot start the harness's ${service} on ${host}:${port}: ${why}`);
  }
}

/** Why a listen failed, in words: "the port is in use", … */
export function listenProblem(error: unknown): { code: string | undefined; why: string } {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'EADDRINUSE':
      return { code, why: 'the port is in use' };
    case 'EADDRNOTAVAIL':
      return { code, why: 'that address is not one of this machine\'s' };
    case 'EACCES':
    case 'EPERM':
      return { code, why: 'listening on that port needs privileges' };
    default:
      return { code, why: (error as Error)?.message ?? String(error) };
  }
}

async function listening<T>(service: string, host: string, port: number, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    const { code, why } = listenProblem(error);
    throw new HarnessListenError(service, host, port, code, why);
  }
}

/** A free port on loopback (for a gate the harness starts itself). */
/**
 * A free port (or `count` consecutive free ports) for a process that binds it later. Chosen
 * outside the kernel's ephemeral range: a port the kernel hands out for `listen(0)` or an outgoing
 * connection can be taken again by anyone between this check and the later bind, and a test that
 * configures a gate with the harness's ports before the harness starts would then fail at random.
 */
export async function freePort(host = '127.0.0.1', count = 1): Promise<number> {
  const [low, high] = ephemeralRange();
  const below = low - 1024 >= 2000 ? { from: 1024 + 1000, to: low - count } : undefined;
  const above = 65535 - high >= 2000 ? { from: high + 1, to: 65535 - count } : undefined;
  const ranges = [below, above].filter((r): r is { from: number; to: number } => r !== undefined);
  for (let attempt = 0; attempt < 200 && ranges.length > 0; attempt++) {
    const range = ranges[attempt % ranges.length]!;
    const base = range.from + Math.floor(Math.random() * (range.to - range.from));
    if (handedOut.has(base)) continue;
    let all = true;
    for (let port = base; port < base + count && all; port++) all = await canBind(host, port);
    if (all) {
      for (let port = base; port < base + count; port++) handedOut.add(port);
      return base;
    }
  }
  if (count > 1) throw new Error(`no ${count} consecutive free ports on ${host}`);
  return kernelPort(host);
}

/** ports this process has already handed out, so two callers never get the same one */
const handedOut = new Set<number>();

function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return [low!, high!];
  } catch {
    // not Linux: the IANA dynamic range
  }
  return [49152, 65535];
}

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

function kernelPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startHttpHarness(harness: Harness, options: { host?: string; ports?: HarnessPorts } = {}): Promise<HttpHarness> {
  const host = options.host ?? '127.0.0.1';
  const ports = options.ports ?? { controlPlane: 0, effectSink: 0, executionProxy: await freePort(host) };
  const controlPlane = await listening('Control Plane', host, ports.controlPlane, () =>
    startControlPlaneServer(harness.controlPlane, { host, port: ports.controlPlane, trustedKeys: harness.trustedKeys }),
  );
  let sink;
  try {
    sink = await listening('effect sink', host, ports.effectSink, () => startEffectSinkServer(new RecordingSink(harness.recorder), { host, port: ports.effectSink }));
  } catch (error) {
    await controlPlane.close();
    throw error;
  }
  const result: HttpHarness = {
    controlPlaneUrl: controlPlane.url,
    effectSinkUrl: sink.url,
    executionProxyUrl: `http://${host}:${ports.executionProxy}`,
    executionProxy: undefined,
    async proxyExecutionLayer(target: string) {
      result.executionProxy = await listening('Execution Layer proxy', host, ports.executionProxy, () =>
        // Every call the Gate makes through it goes into the history: the suite counts them (one per approval, no retry).
        startFaultProxy({ target, host, port: ports.executionProxy, onCall: (call) => harness.recorder.executionCall(call) }),
      );
      return result.executionProxy;
    },
    async close() {
      await Promise.allSettled([controlPlane.close(), sink.close(), result.executionProxy?.close()]);
    },
  };
  return result;
}
