/**
 * Allowed-path decisions of the reference system over HTTP on loopback: requests per second and
 * p50/p99 latency for a fixed count of signed, allowed requests (each one Gate → Control Plane →
 * Gate → Execution Layer → audit), with the durable stores fsync'ed (as deployed) and, on a
 * last line, without fsync. Next to them, a bare node:http server that answers a constant,
 * measured in the same run with the same client, concurrency and request bodies: the ratio says
 * how far below what this machine's HTTP stack can do the reference runs.
 *
 * Target (issue 11): the reference, fsync on (group commit on, as deployed), ≥ 0.25 of the bare
 * server's req/s. The bare server is measured first and last, and the mean of the two is the
 * baseline, so that load drifting during the bench does not pick the ratio. A bare *chain* is
 * measured too — three node:http servers passing each request Gate → Control Plane → Gate →
 * Execution Layer as the reference does, with constant answers, no cryptography, no JSON, no disk —
 * so the report can say how much of the distance to the bare server is the reference's
 * architecture (three servers, two internal calls) and how much its own work.
 *
 * Group commit (concurrent appends to a claim journal, the audit log or the effect file share one
 * fsync) is measured on and off (`groupCommit` in the serve config), fsync on, in alternating order
 * over ROUNDS rounds so that a machine whose load drifts does not favour one: the summary line gives
 * the ratio of their mean req/s, and each round's.
 *
 * Under the verdict, the ceiling: the CPU every allowed request costs whatever the implementation
 * (3 Ed25519 verifications and 1 signature over canonical JSON, the SHA-256 digests each role must
 * compute itself, 5 durable appends), timed alone in the same run, plus the client's CPU (measured:
 * it shares the cores) and the bare chain's HTTP, spread over every core; and the bound that 5
 * fsyncs in sequence per request put on req/s at this concurrency. The lower of the two is the
 * highest req/s this machine could reach with this protocol, and its ratio to the bare server says
 * whether the target is reachable here at all. Each row also gives the CPU its server(s) and the
 * client spent per request (Linux /proc), and the reference is measured once more with its roles
 * spread over processes (roleProcesses "two", "three": not the target's configuration).
 *
 * - The client runs in its own process (this file, forked with --bench-client), so that it does
 *   not share the servers' event loop; it reuses connections (keep-alive agent).
 * - Requests are signed before timing: signing is the client's cost, not the Gate's.
 * - Each measured phase stops at a deadline whatever happens.
 * - At the end exactly one effect per request must have been written; anything else (a denial, a
 *   lost request, a deadline) is reported and makes the run fail: a bench of denials is not a
 *   bench of decisions.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { Agent, createServer, request } from 'node:http';
import type { Server } from 'node:http';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalBytes } from '../model/profile/canonical-json.ts';
import { fromHex } from '../model/profile/encoding.ts';
import { digestJson, sha256Digest } from '../model/profile/digest.ts';
import type { ClientRequest } from '../model/profile/messages.ts';
import { signEnvelope, signRequest, verifyEnvelopeSignature, verifyRequestSignature } from '../model/profile/messages.ts';
import type { KeyId, KeyPair } from '../model/profile/signing.ts';
import { keyPairFromSeed } from '../model/profile/signing.ts';
import { closeServer, listen } from '../reference-impl/http/http-util.ts';
import { judgeRatio } from './ratio-target.ts';
import { startReference } from '../reference-impl/serve.ts';
import type { RoleProcesses } from '../reference-impl/serve-config.ts';
import { parseServeConfig } from '../reference-impl/serve-config.ts';
import { cpuSpent, processCpu } from './process-cpu.ts';
import type { BenchResult } from './run.ts';

const NAME = 'reference-http';
const TARGET_RATIO_TO_BARE = 0.25;
const REQUESTS = 2000;
/** Untimed requests first, so that both servers are measured with warm JIT and open connections. */
const WARMUP = 200;
const CONCURRENCY = 16;
/** Rounds of group commit off/on (alternating which goes first). */
const ROUNDS = 2;
/** Per measured phase. */
const DEADLINE_MS = 60_000;
const CLIENT_FLAG = '--bench-client';
const THIS_FILE = fileURLToPath(import.meta.url);

// ================================================================ the client (child process)

interface Job {
  id: number;
  url: string;
  bodies: Uint8Array[];
  concurrency: number;
  deadlineMs: number;
}

interface JobResult {
  id: number;
  /** requests that got an answer */
  completed: number;
  elapsedMs: number;
  latenciesMs: number[];
  /** "executed", "denied:<code>", "ok" or "HTTP <status>", with counts */
  answers: Record<string, number>;
  errors: number;
  firstError?: string;
}

function post(agent: Agent, url: string, body: Uint8Array, timeoutMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(Math.max(1, timeoutMs), () => req.destroy(new Error('no answer before the deadline')));
    req.on('error', reject);
    req.end(body);
  });
}

function answerLabel(status: number, text: string): string {
  try {
    const answer = JSON.parse(text) as { status?: unknown; code?: unknown };
    if (answer.status === 'denied') return `denied:${String(answer.code)}`;
    if (typeof answer.status === 'string') return answer.status;
  } catch {
    // not JSON: fall through to the HTTP status
  }
  return `HTTP ${status}`;
}

/** `concurrency` loops pull the next body until all are sent or the deadline passes. */
async function runJob(job: Job, agent: Agent): Promise<JobResult> {
  const latenciesMs: number[] = [];
  const answers: Record<string, number> = {};
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + job.deadlineMs;
  const loop = async (): Promise<void> => {
    while (next < job.bodies.length && performance.now() < deadline) {
      const body = job.bodies[next++]!;
      const sentAt = performance.now();
      try {
        const { status, text } = await post(agent, job.url, body, deadline - sentAt);
        latenciesMs.push(performance.now() - sentAt);
        const label = answerLabel(status, text);
        answers[label] = (answers[label] ?? 0) + 1;
      } catch (error) {
        errors++;
        firstError ??= (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, loop));
  return { id: job.id, completed: latenciesMs.length, elapsedMs: performance.now() - started, latenciesMs, answers, errors, ...(firstError ? { firstError } : {}) };
}

function clientMain(): void {
  // One keep-alive agent per server, kept across its warm-up and timed phases.
  const agents = new Map<string, Agent>();
  process.on('message', (job: Job) => {
    let agent = agents.get(job.url);
    if (!agent) agents.set(job.url, (agent = new Agent({ keepAlive: true, maxSockets: job.concurrency })));
    void runJob(job, agent).then((result) => process.send!(result));
  });
  // The parent hung up: drop the idle connections so that the process can end.
  process.on('disconnect', () => {
    for (const agent of agents.values()) agent.destroy();
  });
}

// ================================================================ the parent

export class ClientProcess {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (r: JobResult) => void; reject: (e: Error) => void }>();
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: JobResult) => {
      this.pending.get(message.id)?.resolve(message);
      this.pending.delete(message.id);
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        for (const { reject } of this.pending.values()) reject(new Error(`the bench client exited (${signal ?? code})`));
        this.pending.clear();
        resolve();
      });
    });
  }

  static start(): ClientProcess {
    // The child is this file again, compiled on the fly by tsx like the parent.
    const child = fork(THIS_FILE, [CLIENT_FLAG], { execArgv: ['--import', import.meta.resolve('tsx')], serialization: 'advanced', stdio: 'inherit' });
    return new ClientProcess(child);
  }

  run(url: string, bodies: Uint8Array[]): Promise<JobResult> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, url, bodies, concurrency: CONCURRENCY, deadlineMs: DEADLINE_MS } satisfies Job);
    });
  }

  async close(): Promise<void> {
    if (this.child.connected) this.child.disconnect();
    // It ends by itself once disconnected; if it does not within 5 s, end it.
    const timer = setTimeout(() => this.child.kill(), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

interface Measured {
  label: string;
  timed: JobResult;
  warm: JobResult;
  reqPerSec: number;
  p50: number;
  p99: number;
  /** CPU per timed request of the server(s) measured (this process and any role process), µs */
  serverCpuUs: number;
  /** CPU per timed request of the client process, µs */
  clientCpuUs: number;
  /** fdatasync calls made in this process while it served (warm-up and timed), for a reference */
  fsyncs?: number;
  problems: string[];
}

/** Nearest-rank percentile. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Warm-up, then the timed phase, on the same connections; `expected` is the answer every request must get. */
async function measure(client: ClientProcess, label: string, url: string, bodies: Uint8Array[], expected: string): Promise<Measured> {
  const warm = await client.run(url, bodies.slice(0, WARMUP));
  const cpuBefore = processCpu();
  const timed = await client.run(url, bodies.slice(WARMUP));
  const cpuAfter = processCpu();
  const perRequestUs = (sec: number) => (sec * 1e6) / Math.max(1, timed.completed);
  const sorted = [...timed.latenciesMs].sort((a, b) => a - b);
  const problems: string[] = [];
  for (const [phase, result, count] of [['warm-up', warm, WARMUP], ['timed', timed, REQUESTS]] as const) {
    if (result.completed + result.errors < count) problems.push(`${label}: ${phase} phase hit the ${DEADLINE_MS / 1000} s deadline after ${result.completed + result.errors} of ${count} requests`);
    if (result.errors > 0) problems.push(`${label}: ${result.errors} ${phase} requests got no answer (first: ${result.firstError})`);
    const unexpected = Object.entries(result.answers).filter(([answer]) => answer !== expected);
    if (unexpected.length > 0) {
      problems.push(`${label}: MEASURED THE WRONG THING: ${phase} answers other than "${expected}": ${unexpected.map(([answer, n]) => `${answer} ×${n}`).join(', ')}`);
    }
  }
  return {
    label,
    timed,
    warm,
    reqPerSec: timed.completed / (timed.elapsedMs / 1000),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    serverCpuUs: perRequestUs(cpuSpent(cpuBefore, cpuAfter, ['self', 'role process'])),
    clientCpuUs: perRequestUs(cpuSpent(cpuBefore, cpuAfter, ['bench client'])),
    problems,
  };
}

export function presign(key: KeyPair, count: number): Uint8Array[] {
  const now = Math.floor(Date.now() / 1000);
  return Array.from({ length: count }, (_, i) =>
    canonicalBytes(
      signRequest(
        { request_id: `req-${randomUUID()}`, identity: 'demo', action: 'demo.echo', parameters: { message: 'bench', i }, timestamp: now, nonce: `n${randomUUID().replaceAll('-', '')}`, key_id: key.keyId },
        key,
      ),
    ),
  );
}

const BARE_ANSWER = '{"status":"ok"}';

/** Reads the body like the Gate does, then answers a constant. */
function constantServer(): Server {
  return createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BARE_ANSWER) });
      res.end(BARE_ANSWER);
    });
  });
}

async function measureBare(client: ClientProcess, bodies: Uint8Array[], label: string): Promise<Measured> {
  const server = constantServer();
  const url = await listen(server, '127.0.0.1', 0);
  try {
    return await measure(client, label, `${url}/`, bodies, 'ok');
  } finally {
    await closeServer(server);
  }
}

/** POSTs `body` over `agent` and resolves with the whole answer. */
function forward(agent: Agent, url: string, body: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * The reference's shape without its work: a front server that, for each request, reads the body,
 * passes it to a second server, then to a third (kept-alive connections, as the Gate's links), and
 * answers a constant — Gate → Control Plane → Gate → Execution Layer, nothing checked or written.
 */
async function measureBareChain(client: ClientProcess, bodies: Uint8Array[]): Promise<Measured> {
  const controlPlane = constantServer();
  const executionLayer = constantServer();
  const agent = new Agent({ keepAlive: true, timeout: 2_000 });
  const controlPlaneUrl = `${await listen(controlPlane, '127.0.0.1', 0)}/v1/decide`;
  const executionLayerUrl = `${await listen(executionLayer, '127.0.0.1', 0)}/v1/execute`;
  const front = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      forward(agent, controlPlaneUrl, body)
        .then(() => forward(agent, executionLayerUrl, body))
        .then(
          () => {
            res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BARE_ANSWER) });
            res.end(BARE_ANSWER);
          },
          () => {
            res.writeHead(502).end();
          },
        );
    });
  });
  const url = await listen(front, '127.0.0.1', 0);
  try {
    return await measure(client, 'bare chain: 3 node:http servers, 2 internal calls', `${url}/`, bodies, 'ok');
  } finally {
    await closeServer(front);
    agent.destroy();
    await closeServer(controlPlane);
    await closeServer(executionLayer);
  }
}

/** fdatasync calls made in this process (counted by a wrapper put on FileHandle once, by `run`). */
const fdatasyncCalls = { count: 0, installed: false };

async function countFdatasyncCalls(dir: string): Promise<void> {
  if (fdatasyncCalls.installed) return;
  fdatasyncCalls.installed = true;
  const probe = await open(join(dir, 'probe'), 'w');
  const prototype = Object.getPrototypeOf(probe) as FileHandle;
  await probe.close();
  const datasync = prototype.datasync;
  prototype.datasync = function counted(this: FileHandle) {
    fdatasyncCalls.count++;
    return datasync.call(this);
  };
}

/** The reference on a fresh data directory; its bodies are signed by its own demo key. */
async function measureReference(client: ClientProcess, options: { fsync: boolean; groupCommit: boolean; roleProcesses?: RoleProcesses; label: string }, bodiesFor: (key: KeyPair) => Uint8Array[]): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), 'failclosed-bench-'));
  try {
    const { fsync, groupCommit, roleProcesses = 'one' } = options;
    const config = parseServeConfig(JSON.stringify({ ports: { gate: 0, controlPlane: 0, executionLayer: 0 }, dataDir: join(dir, 'data'), fsync, groupCommit, roleProcesses }));
    const fsyncsBefore = fdatasyncCalls.count;
    const ref = await startReference(config);
    let measured: Measured;
    try {
      const stored = JSON.parse(readFileSync(ref.paths.demoClientKey!, 'utf8')) as { key_id: KeyId; seed_hex: string };
      const bodies = bodiesFor(keyPairFromSeed(stored.key_id, fromHex(stored.seed_hex)!));
      measured = await measure(client, options.label, `${ref.urls.gate}/v1/requests`, bodies, 'executed');
    } finally {
      // Closing waits for the effect sink, so the count below is final.
      await ref.close();
    }
    measured.fsyncs = fdatasyncCalls.count - fsyncsBefore;
    const effects = readFileSync(ref.paths.effects!, 'utf8').split('\n').filter((line) => line !== '').length;
    if (effects !== WARMUP + REQUESTS) {
      measured.problems.push(`${measured.label}: ${effects} effects written, expected exactly ${WARMUP + REQUESTS} (${WARMUP} warm-up + ${REQUESTS} timed)`);
    }
    return measured;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (n: number, digits: number): string => (Number.isFinite(n) ? n.toFixed(digits) : '—');
const LABEL_WIDTH = 50;

/** Requests whose mandatory work is timed alone, in this process (untimed: a tenth as many first). */
const MANDATORY_SAMPLE = 400;
/**
 * Durable appends an allowed request waits for, one after the other: the nonce claim, the intent
 * record, the consumed approval, the effect, the final record — each acknowledged only once
 * fdatasync'ed.
 */
const DURABLE_APPENDS = 5;
const FSYNC_SAMPLE = 50;

/** What the protocol makes every allowed request cost, whatever the implementation, timed alone. */
interface MandatoryWork {
  /** 3 Ed25519 verifications and 1 signature, each over canonical JSON, µs of CPU */
  cryptoUs: number;
  /** SHA-256: the request's bytes, its parameters (Control Plane, Gate, Execution Layer), 2 audit records, µs of CPU */
  digestUs: number;
  /**
   * the request's share of DURABLE_APPENDS write + fdatasync calls at best: each shared by all
   * CONCURRENCY requests in flight (group commit), µs of CPU
   */
  fsyncCpuUs: number;
  /** one write + fdatasync alone, ms of wall time */
  fsyncMs: number;
}

/**
 * The mandatory work, timed in this process on the same kind of bodies: the Gate verifies the
 * request, the Control Plane signs the envelope, the Gate and the Execution Layer each verify it;
 * the digests each role must compute itself (binding is recomputed, never trusted); and the
 * durable appends on this machine's disk (`dir`).
 */
async function mandatoryWork(key: KeyPair, dir: string): Promise<MandatoryWork> {
  const bodies = presign(key, MANDATORY_SAMPLE + MANDATORY_SAMPLE / 10);
  const requests = bodies.map((bytes) => JSON.parse(new TextDecoder().decode(bytes)) as ClientRequest);
  let cryptoMs = 0;
  let digestMs = 0;
  for (const [i, request] of requests.entries()) {
    const timed = i >= MANDATORY_SAMPLE / 10;
    let start = performance.now();
    if (!verifyRequestSignature(request, key.publicKey)) throw new Error('the mandatory-work sample did not verify its own request: it measured nothing');
    const parametersDigest = digestJson(request.parameters);
    const envelope = signEnvelope(
      { approval_id: `ap-${i}`, request_id: request.request_id, identity: request.identity, action: request.action, parameters_digest: parametersDigest, issued_at: request.timestamp, expires_at: request.timestamp + 60, key_id: key.keyId },
      key,
    );
    for (let k = 0; k < 2; k++) {
      if (!verifyEnvelopeSignature(envelope, key.publicKey)) throw new Error('the mandatory-work sample did not verify its own envelope: it measured nothing');
    }
    if (timed) cryptoMs += performance.now() - start;
    start = performance.now();
    const requestHash = sha256Digest(bodies[i]!);
    for (let k = 0; k < 3; k++) digestJson(request.parameters);
    for (const stage of ['intent', 'final']) {
      digestJson({ record_id: `rec-${i}-0a1b2c3d`, timestamp_ms: Date.now(), identity: request.identity, decision: 'allow', stage, request_hash: requestHash, trace_id: `trace-${request.nonce}`, data_hash: parametersDigest, request_id: request.request_id, action: request.action, approval_id: envelope.approval_id, prev_hash: requestHash });
    }
    if (timed) digestMs += performance.now() - start;
  }
  const handle = await open(join(dir, 'fsync-sample'), 'a');
  const line = Buffer.from(`${'x'.repeat(400)}\n`);
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  try {
    for (let i = 0; i < FSYNC_SAMPLE; i++) {
      await handle.write(line);
      await handle.datasync();
    }
  } finally {
    await handle.close();
  }
  const fsyncMs = (performance.now() - start) / FSYNC_SAMPLE;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    cryptoUs: (cryptoMs * 1000) / MANDATORY_SAMPLE,
    digestUs: (digestMs * 1000) / MANDATORY_SAMPLE,
    fsyncCpuUs: (DURABLE_APPENDS * (cpu.user + cpu.system)) / FSYNC_SAMPLE / CONCURRENCY,
    fsyncMs,
  };
}

export async function run(): Promise<BenchResult> {
  const loadAtStart = loadavg();
  const client = ClientProcess.start();
  const probeDir = mkdtempSync(join(tmpdir(), 'failclosed-bench-probe-'));
  await countFdatasyncCalls(probeDir).finally(() => rmSync(probeDir, { recursive: true, force: true }));
  const rows: Measured[] = [];
  const bare: Measured[] = [];
  const groupCommit: { on: Measured[]; off: Measured[] } = { on: [], off: [] };
  const split: Measured[] = [];
  const bodies = (key: KeyPair) => presign(key, WARMUP + REQUESTS);
  let chain: Measured | undefined;
  try {
    // The bare servers ignore what they read; they get bodies of the same shape and size, signed by
    // a key of their own (each reference makes its key in its fresh data directory).
    const bareKey = keyPairFromSeed('ed25519/bench', new Uint8Array(32).fill(7));
    const bareBodies = presign(bareKey, WARMUP + REQUESTS);
    // One untimed pass first: a client process just started measured the bare server at a fifth
    // of its speed later in the same run, which would flatter every ratio to it.
    await measureBare(client, bareBodies, 'bare node:http hello (client warm-up, not shown)');
    bare.push(await measureBare(client, bareBodies, 'bare node:http hello (first)'));
    rows.push(bare[0]!);
    rows.push((chain = await measureBareChain(client, bareBodies)));
    for (let round = 1; round <= ROUNDS; round++) {
      for (const on of round % 2 === 1 ? [false, true] : [true, false]) {
        const row = await measureReference(client, { fsync: true, groupCommit: on, label: `reference, fsync on, group commit ${on ? 'on ' : 'off'} (round ${round})` }, bodies);
        rows.push(row);
        groupCommit[on ? 'on' : 'off'].push(row);
      }
    }
    rows.push(await measureReference(client, { fsync: false, groupCommit: true, label: 'reference, fsync off' }, bodies));
    // Not the target's configuration (that is `failclosed serve`'s default, one process): what
    // spreading the roles over processes gives on this machine.
    for (const roleProcesses of ['two', 'three'] as const) {
      const row = await measureReference(client, { fsync: true, groupCommit: true, roleProcesses, label: `reference, fsync on, roleProcesses "${roleProcesses}"` }, bodies);
      rows.push(row);
      split.push(row);
    }
    bare.push(await measureBare(client, bareBodies, 'bare node:http hello (last)'));
    rows.push(bare[1]!);
  } finally {
    await client.close();
  }

  const mean = (measured: readonly Measured[], of: (row: Measured) => number = (row) => row.reqPerSec) => measured.reduce((sum, row) => sum + of(row), 0) / measured.length;
  const bareRate = mean(bare);
  const scratch = mkdtempSync(join(tmpdir(), 'failclosed-bench-fsync-'));
  let mandatory: MandatoryWork;
  try {
    mandatory = await mandatoryWork(keyPairFromSeed('ed25519/bench', new Uint8Array(32).fill(7)), scratch);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const lines = [
    `${NAME}: ${REQUESTS} signed allowed requests (after ${WARMUP} warm-up) per server, concurrency ${CONCURRENCY}, loopback HTTP/1.1 keep-alive, client in its own process; node ${process.version}, ${availableParallelism()} CPUs, load ${loadAtStart.map((l) => l.toFixed(2)).join(' ')} at start, ${loadavg().map((l) => l.toFixed(2)).join(' ')} at end`,
    `  ${'server'.padEnd(LABEL_WIDTH)}${'req/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}   ratio to bare (mean of first and last): req/s   p50    p99   CPU µs/req: server client`,
  ];
  for (const row of rows) {
    const ratio = bare.includes(row) ? ' '.repeat(38) : `   ${' '.repeat(15)}${fmt(row.reqPerSec / bareRate, 3).padStart(6)} ${`×${fmt(row.p50 / bare[0]!.p50, 1)}`.padStart(6)} ${`×${fmt(row.p99 / bare[0]!.p99, 1)}`.padStart(6)}`;
    lines.push(`  ${row.label.padEnd(LABEL_WIDTH)}${fmt(row.reqPerSec, 0).padStart(9)}${fmt(row.p50, 2).padStart(9)}${fmt(row.p99, 2).padStart(9)}${ratio}${' '.repeat(13)}${fmt(row.serverCpuUs, 0).padStart(6)} ${fmt(row.clientCpuUs, 0).padStart(6)}`);
  }
  const perRound = groupCommit.on.map((on, i) => fmt(on.reqPerSec / groupCommit.off[i]!.reqPerSec, 2)).join(', ');
  lines.push(`  group commit, fsync on: ${fmt(mean(groupCommit.on), 0)} req/s on vs ${fmt(mean(groupCommit.off), 0)} off (means of ${ROUNDS} rounds): ratio on ÷ off ${fmt(mean(groupCommit.on) / mean(groupCommit.off), 2)} (per round: ${perRound})`);
  const problems = rows.flatMap((row) => row.problems);
  const bareProblems = [...bare, chain].flatMap((row) => row?.problems ?? []);
  const verdict = judgeRatio(
    NAME,
    { ratio: 'reference req/s (fsync on, group commit on) ÷ bare node:http req/s', direction: 'atLeast', bound: TARGET_RATIO_TO_BARE },
    { label: 'reference req/s (mean of rounds)', value: mean(groupCommit.on) },
    { label: 'bare node:http req/s (mean of first and last)', value: bareRate, ...(bareProblems.length > 0 ? { failed: bareProblems.join('; ') } : {}) },
  );
  lines.push(verdict.line);
  if (verdict.measurable && chain) {
    const fsyncsPerRequest = groupCommit.on.every((row) => row.fsyncs !== undefined) ? mean(groupCommit.on, (row) => row.fsyncs!) / (WARMUP + REQUESTS) : undefined;
    lines.push(...ceilingLines(mandatory, { bareRate, chain, reference: groupCommit.on, split, fsyncsPerRequest, mean }));
  }
  if (problems.length === 0) {
    lines.push(`  every request was answered as expected; each reference wrote exactly ${WARMUP + REQUESTS} effects (${WARMUP} warm-up + ${REQUESTS} timed)`);
  } else {
    for (const problem of problems) lines.push(`  PROBLEM: ${problem}`);
  }
  return { name: NAME, lines, ok: problems.length === 0 && verdict.measurable };
}

/**
 * The highest req/s this machine could reach with this protocol, from what was measured in this
 * run: its cores, the mandatory work per request, the client's CPU on the same cores, the HTTP
 * the three-role architecture needs (the bare chain's CPU), and the fsyncs a request waits for in
 * sequence at the bench's concurrency — so a reader sees whether the target is reachable at all.
 */
function ceilingLines(
  m: MandatoryWork,
  run: { bareRate: number; chain: Measured; reference: readonly Measured[]; split: readonly Measured[]; fsyncsPerRequest: number | undefined; mean: (rows: readonly Measured[], of?: (row: Measured) => number) => number },
): string[] {
  const cores = availableParallelism();
  const mandatoryUs = m.cryptoUs + m.digestUs + m.fsyncCpuUs;
  const clientUs = run.mean(run.reference, (row) => row.clientCpuUs);
  const referenceUs = run.mean(run.reference, (row) => row.serverCpuUs);
  const httpUs = run.chain.serverCpuUs;
  const cpuBound = (cores * 1e6) / (mandatoryUs + clientUs);
  const cpuAndHttpBound = (cores * 1e6) / (mandatoryUs + httpUs + clientUs);
  const fsyncBound = (CONCURRENCY * 1000) / (DURABLE_APPENDS * m.fsyncMs);
  const ceiling = Math.min(cpuAndHttpBound, fsyncBound);
  const target = TARGET_RATIO_TO_BARE * run.bareRate;
  const ratio = (rate: number) => fmt(rate / run.bareRate, 3);
  const reachable = ceiling >= target;
  return [
    `${NAME}:   the bare chain (the reference's three servers and two internal calls, no work) reaches ${ratio(run.chain.reqPerSec)} of the bare server; the reference reaches ${fmt(run.mean(run.reference) / run.chain.reqPerSec, 3)} of the bare chain — the rest is its own work per request`,
    `${NAME}:   mandatory work per allowed request, timed alone in this run: ${fmt(mandatoryUs, 0)} µs of CPU = 3 Ed25519 verifications + 1 signature over canonical JSON ${fmt(m.cryptoUs, 0)} µs + SHA-256 (request bytes, 3× parameters, 2 audit records) ${fmt(m.digestUs, 0)} µs + ${DURABLE_APPENDS} durable appends' write+fdatasync, each shared by all ${CONCURRENCY} requests in flight, ${fmt(m.fsyncCpuUs, 0)} µs${run.fsyncsPerRequest === undefined ? '' : ` (the reference, group commit on, made ${fmt(run.fsyncsPerRequest, 2)} fdatasync calls per request)`}`,
    `${NAME}:   with the client's ${fmt(clientUs, 0)} µs/request on the same ${cores} cores: at most ${fmt(cpuBound, 0)} req/s (ratio ${ratio(cpuBound)}); adding the HTTP of three servers and two internal calls (the bare chain's ${fmt(httpUs, 0)} µs CPU/request): at most ${fmt(cpuAndHttpBound, 0)} req/s (ratio ${ratio(cpuAndHttpBound)}); ${DURABLE_APPENDS} fsyncs in sequence per request (${fmt(m.fsyncMs, 2)} ms each, alone) at concurrency ${CONCURRENCY}: at most ${fmt(fsyncBound, 0)} req/s (ratio ${ratio(fsyncBound)})`,
    `${NAME}:   CEILING on this machine with this protocol: ${fmt(ceiling, 0)} req/s = ratio ${ratio(ceiling)} to bare; the target (${TARGET_RATIO_TO_BARE} × bare = ${fmt(target, 0)} req/s) is ${reachable ? 'within it' : 'NOT REACHABLE here, whatever the implementation'}. The reference spends ${fmt(referenceUs, 0)} µs CPU per request (all its processes), ${referenceUs > mandatoryUs + httpUs ? `${fmt(referenceUs - mandatoryUs - httpUs, 0)} µs beyond mandatory work + HTTP` : 'no more than mandatory work + HTTP as measured (too noisy a run to say how much is its own)'}, and reaches ${fmt(run.mean(run.reference) / ceiling, 3)} of the ceiling`,
    ...(run.split.length > 0
      ? [`${NAME}:   roles over processes (not the target's configuration, which is the default, one process): ${run.split.map((row) => `${row.label.replace(/^.*roleProcesses /, 'roleProcesses ')} ${fmt(row.reqPerSec, 0)} req/s, ratio ${ratio(row.reqPerSec)}, ×${fmt(row.reqPerSec / run.mean(run.reference), 2)} of one process`).join('; ')}`]
      : []),
  ];
}

if (process.argv[1] === THIS_FILE && process.argv.includes(CLIENT_FLAG)) clientMain();
