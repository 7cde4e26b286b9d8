/**
 * The container image of the reference system, for real: builds it with build-image.sh, runs it
 * with the plain docker CLI, and checks health, a fail-closed denial, a clean stop on SIGTERM and
 * that /data survives a restart. Needs a docker engine; without one every test is reported as
 * skipped, with the reason printed (never a silent pass).
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';


const run = promisify(execFile);
const buildScript = fileURLToPath(new URL('./build-image.sh', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

function engineProblem(): string | null {
  const info = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 20_000 });
  if (info.error) return `the docker CLI cannot run (${info.error.message})`;
  if (info.status !== 0) return `\`docker info\` failed: ${(info.stderr || info.stdout).trim().split('\n').pop()}`;
  return null;
}

const problem = engineProblem();
const engine = problem === null;
if (!engine) console.log(`docker-image.test.ts: WILL FAIL, no docker engine (.ci/run installs it): ${problem}`);

const suffix = `${process.pid}-${randomBytes(3).toString('hex')}`;
const TAG = `failclosed/reference:vitest-${suffix}`;
const CONTAINER = `failclosed-vitest-${suffix}`;
const VOLUME = `failclosed-vitest-data-${suffix}`;

async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', args, { maxBuffer: 16 * 1024 * 1024, timeout: 120_000 });
  return stdout.trim();
}

/** The host address docker published a container port on, e.g. "127.0.0.1:32770". */
async function published(port: number): Promise<string> {
  const lines = (await docker('port', CONTAINER, `${port}/tcp`)).split('\n');
  const address = lines.find((line) => line.startsWith('127.0.0.1:'));
  if (!address) throw new Error(`port ${port} is not published on 127.0.0.1: ${lines.join(' | ')}`);
  return address;
}

async function waitHealthy(gate: string, timeoutMs = 60_000): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://${gate}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return await res.json();
      last = `HTTP ${res.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const logs = await docker('logs', CONTAINER).catch(() => '(no logs)');
  throw new Error(`the gate at ${gate} did not become healthy within ${timeoutMs} ms (${last}); container logs:\n${logs}`);
}

async function stateOf(): Promise<{ running: boolean; exitCode: number }> {
  const [running, exitCode] = (await docker('inspect', '-f', '{{.State.Running}} {{.State.ExitCode}}', CONTAINER)).split(' ');
  return { running: running === 'true', exitCode: Number(exitCode) };
}

describe('the reference-system container image', () => {
  let malformedTraceId = '';

  beforeAll(async () => {
    if (!engine) return;
    try {
      await run(buildScript, [TAG], { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024, timeout: 600_000 });
    } catch (error) {
      const e = error as Error & { stderr?: string };
      throw new Error(`build-image.sh failed: ${e.message}\n${(e.stderr ?? '').split('\n').slice(-30).join('\n')}`);
    }
  }, 660_000);

  afterAll(async () => {
    if (!engine) return;
    await docker('rm', '-f', '-v', CONTAINER).catch(() => undefined);
    await docker('volume', 'rm', '-f', VOLUME).catch(() => undefined);
    await docker('rmi', TAG).catch(() => undefined);
  }, 120_000);

  it('runs as a non-root user, exposes the three ports and keeps /data on a volume', async () => {
    const config = JSON.parse(await docker('image', 'inspect', '-f', '{{json .Config}}', TAG)) as {
      User: string;
      ExposedPorts: Record<string, unknown>;
      Volumes: Record<string, unknown>;
      Entrypoint: string[];
      Cmd: string[];
    };
    expect(config.User).toBe('10001:10001');
    expect(Object.keys(config.ExposedPorts).sort()).toEqual(['8700/tcp', '8701/tcp', '8702/tcp']);
    expect(Object.keys(config.Volumes)).toEqual(['/data']);
    expect([...config.Entrypoint, ...config.Cmd]).toEqual(['node', '/app/bin/failclosed.mjs', 'serve', '--config', '/etc/failclosed/config.json']);
  });

  it('serves /healthz on the gate and denies a malformed request with 403 REQUEST_MALFORMED', async () => {
    await docker('run', '-d', '--name', CONTAINER, '-p', '127.0.0.1::8700', '-p', '127.0.0.1::8701', '-p', '127.0.0.1::8702', '-v', `${VOLUME}:/data`, TAG);
    const gate = await published(8700);
    expect(await waitHealthy(gate)).toEqual({ status: 'ok', role: 'gate' });

    const res = await fetch(`http://${gate}/v1/requests`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"not": "a request"' });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { status: string; code: string; trace_id: string };
    expect(body).toMatchObject({ status: 'denied', code: 'REQUEST_MALFORMED' });
    malformedTraceId = body.trace_id;

    const keys = await fetch(`http://${await published(8701)}/v1/keys`);
    expect(keys.status).toBe(200);
  });

  it('stops on SIGTERM (docker stop): prints "stopped" and exits 0', async () => {
    await docker('stop', '-t', '30', CONTAINER);
    expect(await stateOf()).toEqual({ running: false, exitCode: 0 });
    const logs = await docker('logs', CONTAINER);
    expect(logs).toContain('ready');
    expect(logs).toContain('received SIGTERM, stopping');
    expect(logs.trimEnd().endsWith('stopped')).toBe(true);
  });

  it('keeps its state in /data across a restart: the audit export still has the denial', async () => {
    expect(malformedTraceId).not.toBe('');
    await docker('start', CONTAINER);
    const gate = await published(8700);
    await waitHealthy(gate);
    const audit = (await (await fetch(`http://${gate}/v1/audit`)).json()) as { trace_id: string; code: string }[];
    expect(audit).toContainEqual(expect.objectContaining({ trace_id: malformedTraceId, code: 'REQUEST_MALFORMED' }));
    await docker('stop', '-t', '30', CONTAINER);
    expect(await stateOf()).toEqual({ running: false, exitCode: 0 });
  });
});
