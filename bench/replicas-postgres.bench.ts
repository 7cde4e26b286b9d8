/**
 * Allowed-path throughput of the reference as replicas over PostgreSQL, next to the single-process
 * file store, in the same run with the same client: one `failclosed serve` on its durable files
 * (fsync on, as deployed), then 1 and 3 replicas sharing one PostgreSQL database (a throw-away
 * cluster with fsync on, so both sides pay for durability). Each replica is whole (its own Control
 * Plane and Execution Layer) and keeps every claim, approval, audit record and effect in the
 * database; the client spreads requests over the replicas in turn, CONCURRENCY in flight.
 *
 * The machine is small and shared: the numbers are ratios to the file store measured moments
 * before, not absolutes. Every request must be executed and leave exactly one effect, else the
 * bench fails: a bench of denials is not a bench of decisions. Each phase stops at a deadline.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { TEST_KEYS, identityKey } from '../model/history-builder.ts';
import { canonicalBytes } from '../model/profile/canonical-json.ts';
import { signRequest } from '../model/profile/messages.ts';
import { freePort } from '../harness/http-harness.ts';
import { postgresAvailability, startPostgres } from '../harness/postgres-cluster.ts';
import type { ServeProcess } from '../harness/serve-process.ts';
import { startServeProcess } from '../harness/serve-process.ts';
import type { BenchResult } from './run.ts';

const NAME = 'replicas-postgres';
const REQUESTS = 1000;
const WARMUP = 100;
const CONCURRENCY = 16;
const DEADLINE_MS = 90_000;

function post(agent: Agent, url: string, body: Uint8Array): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(body);
  });
}

function bodies(count: number): Uint8Array[] {
  const now = Math.floor(Date.now() / 1000);
  return Array.from({ length: count }, (_, i) =>
    canonicalBytes(signRequest({ request_id: `bench-${i}`, identity: 'alice', action: 'demo.echo', parameters: { i }, timestamp: now, nonce: `n${randomUUID().replaceAll('-', '')}`, key_id: TEST_KEYS.alice.keyId }, TEST_KEYS.alice)),
  );
}

interface Phase {
  reqPerSec: number;
  p50: number;
  p99: number;
  answers: Record<string, number>;
  errors: number;
}

/** CONCURRENCY loops send `all` over `gates` in turn; stops at the deadline. */
async function drive(gates: readonly string[], all: readonly Uint8Array[]): Promise<Phase> {
  const agents = gates.map(() => new Agent({ keepAlive: true, maxSockets: CONCURRENCY }));
  const latencies: number[] = [];
  const answers: Record<string, number> = {};
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const deadline = started + DEADLINE_MS;
  const loop = async () => {
    while (next < all.length && performance.now() < deadline) {
      const i = next++;
      const at = performance.now();
      try {
        const text = await post(agents[i % gates.length]!, `${gates[i % gates.length]}/v1/requests`, all[i]!);
        latencies.push(performance.now() - at);
        const answer = JSON.parse(text) as { status?: string; code?: string };
        const label = answer.status === 'denied' ? `denied:${answer.code}` : String(answer.status);
        answers[label] = (answers[label] ?? 0) + 1;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  const elapsed = performance.now() - started;
  for (const agent of agents) agent.destroy();
  const sorted = latencies.sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
  return { reqPerSec: latencies.length / (elapsed / 1000), p50: at(50), p99: at(99), answers, errors };
}

interface Row {
  label: string;
  phase: Phase;
  problems: string[];
}

/** Starts `replicas` serve processes with `store` (undefined: the file store), measures, counts effects, stops them. */
async function measure(label: string, replicas: number, dir: string, databaseUrl: string | undefined): Promise<Row> {
  const policy = join(dir, 'policy.json');
  writeFileSync(policy, JSON.stringify({ rules: [{ identity: 'alice', action: 'demo.echo', effect: 'allow' }] }));
  const processes: ServeProcess[] = [];
  const problems: string[] = [];
  try {
    for (let i = 0; i < replicas; i++) {
      const config = join(dir, `${label.replace(/\W+/g, '-')}-${i}.json`);
      writeFileSync(
        config,
        JSON.stringify({
          ports: { gate: await freePort(), controlPlane: 0, executionLayer: 0 },
          dataDir: join(dir, `${label.replace(/\W+/g, '-')}-data-${i}`),
          policyFile: policy,
          identityKeys: [identityKey('alice', TEST_KEYS.alice)],
          ...(databaseUrl ? { store: { url: databaseUrl, chain: `bench-${i}` } } : {}),
        }),
      );
      processes.push(await startServeProcess({ config }));
    }
    const gates = processes.map((p) => p.gate);
    const all = bodies(WARMUP + REQUESTS);
    const warm = await drive(gates, all.slice(0, WARMUP));
    const phase = await drive(gates, all.slice(WARMUP));
    for (const [name, result, count] of [['warm-up', warm, WARMUP], ['timed', phase, REQUESTS]] as const) {
      if ((result.answers.executed ?? 0) !== count) problems.push(`${label}: ${name}: ${JSON.stringify(result.answers)}, ${result.errors} without an answer (expected ${count} executed)`);
    }
    for (const p of processes) await p.stop();
    let effects: number;
    if (databaseUrl) {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      effects = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM effects')).rows[0]!.n);
      await client.end();
    } else {
      effects = readFileSync(join(dir, `${label.replace(/\W+/g, '-')}-data-0`, 'effects.ndjson'), 'utf8').split('\n').filter((l) => l !== '').length;
    }
    if (effects !== WARMUP + REQUESTS) problems.push(`${label}: ${effects} effects, expected exactly ${WARMUP + REQUESTS}`);
    return { label, phase, problems };
  } finally {
    for (const p of processes) await p.kill();
  }
}

const fmt = (n: number, digits: number): string => (Number.isFinite(n) ? n.toFixed(digits) : '—');

export async function run(): Promise<BenchResult> {
  const available = postgresAvailability();
  if (!available.ok) return { name: NAME, lines: [`${NAME}: SKIPPED — ${available.reason}`], ok: true };
  const dir = mkdtempSync(join(tmpdir(), 'failclosed-bench-pg-'));
  const server = await startPostgres({ fsync: true });
  const rows: Row[] = [];
  try {
    rows.push(await measure('file store, 1 process (fsync on)', 1, dir, undefined));
    rows.push(await measure('PostgreSQL, 1 replica', 1, dir, await server.createDatabase('bench')));
    rows.push(await measure('PostgreSQL, 3 replicas', 3, dir, await server.createDatabase('bench')));
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const [base] = rows;
  const lines = [
    `${NAME}: ${REQUESTS} signed allowed requests (after ${WARMUP} warm-up), concurrency ${CONCURRENCY} spread over the replicas, loopback HTTP keep-alive, each replica a \`failclosed serve\` process with its own Control Plane and Execution Layer; PostgreSQL ${server.owned ? 'a throw-away cluster, fsync on' : 'the server given'}; node ${process.version}, ${availableParallelism()} CPUs`,
    `  ${'system'.padEnd(40)}${'req/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}   req/s ÷ file store`,
  ];
  for (const row of rows) {
    lines.push(`  ${row.label.padEnd(40)}${fmt(row.phase.reqPerSec, 0).padStart(9)}${fmt(row.phase.p50, 2).padStart(9)}${fmt(row.phase.p99, 2).padStart(9)}   ${row === base || !base ? '' : fmt(row.phase.reqPerSec / base.phase.reqPerSec, 2)}`);
  }
  const problems = rows.flatMap((row) => row.problems);
  if (problems.length === 0) lines.push(`  every request executed; each system wrote exactly ${WARMUP + REQUESTS} effects`);
  for (const problem of problems) lines.push(`  PROBLEM: ${problem}`);
  return { name: NAME, lines, ok: problems.length === 0 };
}
