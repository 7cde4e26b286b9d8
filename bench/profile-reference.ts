/**
 * Where the reference's CPU goes per allowed request, under the reference-http bench's load (same
 * client process, concurrency and bodies): `npx tsx bench/profile-reference.ts [options]`.
 *
 *   --requests N       timed requests (default 3000), after --warmup N (default 300)
 *   --fsync off        fsync off (default on); --group-commit off likewise
 *   --role-processes two|three   the serve config's roleProcesses (default one)
 *   --out FILE         also write the V8 CPU profile (.cpuprofile) there
 *
 * The reference runs in this process; V8's sampling profiler runs only over the timed phase. Every
 * sample is put in one operation (the innermost frame that names one: signature verification,
 * SHA-256, canonical JSON, the HTTP stack…) and one role (the innermost frame in a reference-impl
 * file), and the table gives µs per request. fdatasync is timed apart (it runs off the event loop:
 * a wait, not CPU), with how many requests one fsync served. The CPU time of every process (this
 * one, the client, role processes) comes from /proc over the same phase: the profile sees only
 * this process's event loop. Not a bench: no target, no baseline.
 */
import { Session } from 'node:inspector/promises';
import type { FileHandle } from 'node:fs/promises';
import * as fs from 'node:fs/promises';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { fromHex } from '../model/profile/encoding.ts';
import type { KeyId } from '../model/profile/signing.ts';
import { keyPairFromSeed } from '../model/profile/signing.ts';
import { startReference } from '../reference-impl/serve.ts';
import { parseServeConfig } from '../reference-impl/serve-config.ts';
import { processCpu } from './process-cpu.ts';
import { ClientProcess, presign } from './reference-http.bench.ts';

/** nonce claim, intent record, consumed approval, effect, final record */
const DURABLE_APPENDS = 5;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** The innermost frame that matches names the operation. First rule that matches a frame wins. */
const OPERATIONS: readonly [string, (fn: string, url: string) => boolean][] = [
  ['Ed25519 verify', (fn, url) => (url.includes('crypto/sig') && fn === 'verify') || fn === 'verifyEd25519'],
  ['Ed25519 sign', (fn, url) => (url.includes('crypto/sig') && fn === 'sign') || fn === 'signEd25519'],
  ['SHA-256', (_fn, url) => url.includes('internal/crypto/hash')],
  ['randomUUID/randomBytes', (fn, url) => url.includes('internal/crypto/random') || fn === 'randomUUID'],
  ['canonical JSON (serialise)', (fn, url) => url.endsWith('canonical-json.ts') && /serialize|canonical|findLoneSurrogate|pathOf|isPlainObject/.test(fn)],
  ['strict JSON (parse)', (fn, url) => url.endsWith('canonical-json.ts') || url.endsWith('encoding.ts')],
  ['message validation', (_fn, url) => url.endsWith('messages.ts') || url.endsWith('request-checks.ts') || url.endsWith('denial-codes.ts')],
  ['audit record sealing', (fn, url) => url.endsWith('audit-log.ts') || url.endsWith('file-audit-log.ts')],
  ['fs (node, main thread)', (_fn, url) => url.startsWith('node:internal/fs') || url === 'node:fs' || url === 'node:fs/promises'],
  ['HTTP server (node)', (_fn, url) => url === 'node:_http_server' || url === 'node:_http_incoming' || url === 'node:_http_common'],
  ['HTTP client (node)', (_fn, url) => url === 'node:_http_client' || url === 'node:_http_agent'],
  ['HTTP outgoing (node)', (_fn, url) => url === 'node:_http_outgoing'],
  ['net/streams (node)', (_fn, url) => url === 'node:net' || url.startsWith('node:internal/streams') || url.startsWith('node:internal/stream_base') || url === 'node:stream' || url.includes('internal/net')],
  ['timers/AbortSignal (node)', (_fn, url) => url.includes('internal/timers') || url.includes('internal/abort_controller') || url === 'node:timers'],
  ['events/promises (node)', (_fn, url) => url === 'node:events' || url.includes('internal/process/task_queues') || url.includes('internal/process/promises')],
  ['URL (node)', (_fn, url) => url.includes('internal/url')],
  ['GC', (fn) => fn === '(garbage collector)'],
  ['idle', (fn) => fn === '(idle)'],
  ['(program: native, not attributed)', (fn) => fn === '(program)'],
];

const ROLES: readonly [string, RegExp][] = [
  ['Gate', /reference-impl\/(gate\/|http\/gate-server|http\/http-links)/],
  ['Control Plane', /reference-impl\/(control-plane\/|http\/control-plane-server)/],
  ['Execution Layer', /reference-impl\/(execution-layer\/|http\/execution-layer-server)/],
  ['audit', /reference-impl\/audit\//],
  ['stores', /reference-impl\/stores\//],
  ['HTTP helpers', /reference-impl\/http\/http-util/],
];

export interface Breakdown {
  requests: number;
  sampledMs: number;
  byOperation: Map<string, number>;
  byRole: Map<string, number>;
  byRoleOperation: Map<string, number>;
}

export function breakdown(profile: CpuProfile, requests: number): Breakdown {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const classified = new Map<number, { operation: string; role: string }>();
  const classify = (leaf: number) => {
    let known = classified.get(leaf);
    if (known) return known;
    let operation: string | undefined;
    let role: string | undefined;
    // Bounded by the stack's depth.
    for (let id: number | undefined = leaf; id !== undefined && (operation === undefined || role === undefined); id = parent.get(id)) {
      const { functionName, url } = byId.get(id)!.callFrame;
      operation ??= OPERATIONS.find(([, matches]) => matches(functionName, url))?.[0];
      role ??= ROLES.find(([, pattern]) => pattern.test(url))?.[0];
    }
    known = { operation: operation ?? `other JS (${byId.get(leaf)!.callFrame.url.replace(/^.*\//, '') || 'native'})`, role: role ?? '(no reference frame on the stack)' };
    classified.set(leaf, known);
    return known;
  };
  const byOperation = new Map<string, number>();
  const byRole = new Map<string, number>();
  const byRoleOperation = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);
  let sampled = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    // A sample's delta is the time before it: charge it to the sample.
    const us = profile.timeDeltas[i] ?? 0;
    const { operation, role } = classify(profile.samples[i]!);
    add(byOperation, operation, us);
    add(byRole, role, us);
    add(byRoleOperation, `${role} / ${operation}`, us);
    sampled += us;
  }
  return { requests, sampledMs: sampled / 1000, byOperation, byRole, byRoleOperation };
}

export function formatBreakdown(b: Breakdown, title: string): string[] {
  const table = (name: string, map: Map<string, number>, minShare = 0) => {
    const rows = [...map.entries()].sort((x, y) => y[1] - x[1]).filter(([, us]) => us / (b.sampledMs * 1000) >= minShare);
    return [`  ${name}`, ...rows.map(([key, us]) => `    ${key.padEnd(64)}${(us / b.requests).toFixed(1).padStart(8)} µs/req ${((100 * us) / (b.sampledMs * 1000)).toFixed(1).padStart(6)}%`)];
  };
  return [
    `${title}: ${b.requests} requests, ${b.sampledMs.toFixed(0)} ms sampled on the event loop = ${((b.sampledMs * 1000) / b.requests).toFixed(0)} µs per request (idle included)`,
    ...table('by operation', b.byOperation),
    ...table('by role (innermost reference-impl frame)', b.byRole),
    ...table('by role / operation (≥ 0.5%)', b.byRoleOperation, 0.005),
  ];
}

/** fdatasync calls timed from here on: count and total wall time. */
function timeDatasync(prototype: FileHandle): { calls: number; totalMs: number } {
  const stats = { calls: 0, totalMs: 0 };
  const original = prototype.datasync;
  prototype.datasync = async function timed(this: FileHandle) {
    const started = performance.now();
    try {
      return await original.call(this);
    } finally {
      stats.calls++;
      stats.totalMs += performance.now() - started;
    }
  };
  return stats;
}

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : process.argv[at + 1]!;
}

async function main(): Promise<void> {
  const requests = Number(option('requests', '3000'));
  const warmup = Number(option('warmup', '300'));
  const fsync = option('fsync', 'on') === 'on';
  const groupCommit = option('group-commit', 'on') === 'on';
  const out = option('out', '');
  const roleProcesses = option('role-processes', 'one');
  const dir = mkdtempSync(join(tmpdir(), 'failclosed-profile-'));
  const probe = await fs.open(join(dir, 'probe'), 'w');
  const datasync = timeDatasync(Object.getPrototypeOf(probe) as FileHandle);
  await probe.close();
  const client = ClientProcess.start();
  const session = new Session();
  session.connect();
  try {
    const config = parseServeConfig(JSON.stringify({ ports: { gate: 0, controlPlane: 0, executionLayer: 0 }, dataDir: join(dir, 'data'), fsync, groupCommit, ...(roleProcesses === 'one' ? {} : { roleProcesses }) }));
    const ref = await startReference(config);
    try {
      const stored = JSON.parse(readFileSync(ref.paths.demoClientKey!, 'utf8')) as { key_id: KeyId; seed_hex: string };
      const bodies = presign(keyPairFromSeed(stored.key_id, fromHex(stored.seed_hex)!), warmup + requests);
      const url = `${ref.urls.gate}/v1/requests`;
      await client.run(url, bodies.slice(0, warmup));
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 100 });
      const fsyncBefore = { ...datasync };
      const cpuBefore = process.cpuUsage();
      const processesBefore = processCpu();
      await session.post('Profiler.start');
      const timed = await client.run(url, bodies.slice(warmup));
      const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
      const cpu = process.cpuUsage(cpuBefore);
      const processesAfter = processCpu();
      if (out) writeFileSync(out, JSON.stringify(profile));
      const wrong = Object.entries(timed.answers).filter(([answer]) => answer !== 'executed');
      if (timed.completed !== requests || wrong.length > 0) throw new Error(`measured the wrong thing: ${JSON.stringify(timed.answers)}, ${timed.errors} errors`);
      const fsyncCalls = datasync.calls - fsyncBefore.calls;
      const fsyncMs = datasync.totalMs - fsyncBefore.totalMs;
      const lines = [
        `profile-reference: fsync ${fsync ? 'on' : 'off'}, group commit ${groupCommit ? 'on' : 'off'}, role processes ${roleProcesses}, concurrency 16, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
        `  ${(requests / (timed.elapsedMs / 1000)).toFixed(0)} req/s; process CPU (all threads) ${(((cpu.user + cpu.system) / requests)).toFixed(0)} µs/req (user ${(cpu.user / requests).toFixed(0)}, system ${(cpu.system / requests).toFixed(0)})`,
        `  fdatasync: ${fsyncCalls} calls (${(fsyncCalls / requests).toFixed(2)} per request, ${((DURABLE_APPENDS * requests) / Math.max(1, fsyncCalls)).toFixed(1)} of its ${DURABLE_APPENDS} durable appends per fsync), ${(fsyncMs / Math.max(1, fsyncCalls)).toFixed(2)} ms each (off the event loop)`,
        ...[...processesAfter].map(([pid, { kind, cpuSec }]) => `  CPU of ${kind === 'self' ? 'this process (Gate, and any role not in a child)' : kind} (pid ${pid}): ${(((cpuSec - (processesBefore.get(pid)?.cpuSec ?? 0)) * 1e6) / requests).toFixed(0)} µs/req`),
        ...formatBreakdown(breakdown(profile, requests), '  event loop of this process'),
      ];
      console.log(lines.join('\n'));
    } finally {
      await ref.close();
    }
  } finally {
    session.disconnect();
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
