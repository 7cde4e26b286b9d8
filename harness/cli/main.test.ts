import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONTROL_PROTOCOL } from '../drivers/http.ts';
import { freePort } from '../http-harness.ts';
import { cli } from './cli-test-support.ts';

/** A port on loopback that something else already listens on, for as long as `use` runs. */
async function withBusyPort<T>(use: (port: number) => Promise<T>): Promise<T> {
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  try {
    const address = server.address();
    if (typeof address !== 'object' || !address) throw new Error('no port');
    return await use(address.port);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Whether nothing listens on the port right now. */
async function isFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

const lines = (text: string) => text.trimEnd().split('\n');


describe('failclosed CLI', () => {
  it('--help lists the implemented commands and exits 0', async () => {
    const { status, stdout } = await cli('--help');
    expect(status).toBe(0);
    expect(stdout).toContain('explore');
  });

  it('no command or an unknown one is a usage error (exit 2)', async () => {
    expect((await cli()).status).toBe(2);
    const unknown = await cli('frobnicate');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
  });

  it('explore --format json carries the counts and the model check result', async () => {
    const { status, stdout } = await cli('explore', '--format', 'json', '--paths');
    expect(status).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.counts.gateScenarios).toBeGreaterThan(40);
    expect(report.modelCheck.ok).toBe(true);
    expect(report.chart.states.length).toBeGreaterThan(10);
    expect(report.paths.some((p: { terminal: string }) => p.terminal === 'executed')).toBe(true);
  });

  it('explore draws mermaid and dot diagrams of either chart', async () => {
    expect((await cli('explore', '--format', 'mermaid')).stdout).toMatch(/^stateDiagram-v2\n/);
    const dot = await cli('explore', '--format', 'dot', '--chart', 'execution-layer');
    expect(dot.stdout).toMatch(/^digraph "executionLayer"/);
    expect(dot.stdout).toContain('ENVELOPE_REPLAYED');
  });

  it('explore --paths prints the shortest path to every terminal outcome', async () => {
    const { stdout } = await cli('explore', '--paths');
    expect(stdout).toContain('denied(REPLAY_DETECTED) (prior history: nonceClaimed)');
    expect(stdout).toMatch(/executed\n\s+requestShape\.wellFormed → /);
  });

  it('bad option values and unknown options are usage errors that say what is wrong', async () => {
    const format = await cli('explore', '--format', 'png');
    expect(format.status).toBe(2);
    expect(format.stderr).toContain('--format must be one of');
    const unknown = await cli('explore', '--colour');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--colour'");
  });

  it('a usage error prints the message and the usage line, not the whole help', async () => {
    const { status, stderr } = await cli('run', '--profile', 'fast');
    expect(status).toBe(2);
    expect(lines(stderr)).toEqual([
      'failclosed run: --profile must be quick, standard or thorough, not "fast"',
      expect.stringMatching(/^Usage: failclosed run \[/),
      '(failclosed run --help tells every option)',
    ]);
    const unknown = await cli('frobnicate');
    expect(lines(unknown.stderr)).toEqual(['failclosed: unknown command "frobnicate"', expect.stringMatching(/^Commands: run, replay, merge, verify, .*; failclosed --help tells what each does\.$/)]);
  });

  it('any other error is one line of cause and one of remedy, without the usage', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'failclosed-main-'));
    try {
      const verify = await cli('verify', join(dir, 'nope'));
      expect(verify.status).toBe(2);
      expect(lines(verify.stderr)).toEqual([`failclosed verify: no such folder: ${join(dir, 'nope')}`, expect.stringMatching(/^remedy: give the kit folder a run wrote/)]);
      writeFileSync(join(dir, 'junk.json'), '{"hello":1}');
      const replay = await cli('replay', join(dir, 'junk.json'));
      expect(replay.status).toBe(2);
      expect(lines(replay.stderr)).toEqual([`failclosed replay: ${join(dir, 'junk.json')} is not a failclosed-counterexample/1 file`, expect.stringMatching(/^remedy: give the counterexample\.json /)]);
      const audit = await cli('check-audit', join(dir, 'junk.json'), '--keys', join(dir, 'no-keys'));
      expect(lines(audit.stderr)).toEqual([`failclosed check-audit: no such keys file or folder: ${join(dir, 'no-keys')}`, expect.stringMatching(/^remedy: give --keys a JSON file/)]);
      const variant = await cli('run', '--variant', 'no-such-variant');
      expect(variant.status).toBe(2);
      expect(lines(variant.stderr)).toEqual(['failclosed run: no planted-bug variant "no-such-variant"', expect.stringMatching(/^remedy: name one of revoked-key-accepted|^remedy: name one of [a-z-]+, /)]);
      // A report folder that already holds a kit is refused before anything is tested.
      mkdirSync(join(dir, 'earlier', 'kit'), { recursive: true });
      writeFileSync(join(dir, 'earlier', 'kit', 'manifest.json'), '{}');
      const again = await cli('run', '--report', join(dir, 'earlier'));
      expect(again.status).toBe(2);
      expect(again.stdout).toBe('');
      expect(lines(again.stderr)).toEqual([
        `failclosed run: ${join(dir, 'earlier')} is not empty (it holds kit): a run writes its evidence into a new or empty folder`,
        'remedy: give --report a new or empty folder (every run writes its own), or remove that one',
      ]);
      for (const r of [verify, replay, audit, variant, again]) expect(r.stderr).not.toContain('Usage:');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("run --target: the harness's own port being busy is said as such, with the remedy (not \"cannot reach the system under test\")", async () => {
    await withBusyPort(async (port) => {
      const { status, stderr } = await cli('run', '--target', 'http://127.0.0.1:9/', '--harness-port', String(port));
      expect(status).toBe(2);
      expect(lines(stderr)).toEqual([
        `failclosed run: cannot start the harness services on 127.0.0.1:${port}: the port is in use`,
        `remedy: stop what listens there or pass --harness-port N; the harness listens on N, N+1 and N+2 (now ${port}…${port + 2}), and the gate must be configured with the same ports`,
      ]);
    });
  });

  it("run --target: the harness's Execution Layer proxy port (N+2) being busy is said as such too", async () => {
    // A gate that answers the handshake and names its Execution Layer: the harness then starts its proxy on N+2.
    const gate = createHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ protocol: CONTROL_PROTOCOL, capabilities: [], execution_layer_url: 'http://127.0.0.1:9/' }));
    });
    await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
    const gatePort = (gate.address() as { port: number }).port;
    try {
      // Something else holds N+2 while N and N+1 are free (tried until the OS hands out such a port).
      let tested = false;
      for (let attempt = 0; attempt < 20 && !tested; attempt++) {
        await withBusyPort(async (busy) => {
          const base = busy - 2;
          if (base < 1024 || !(await isFree(base)) || !(await isFree(base + 1))) return;
          tested = true;
          const { status, stderr } = await cli('run', '--target', `http://127.0.0.1:${gatePort}/`, '--harness-port', String(base));
          expect(status).toBe(2);
          expect(lines(stderr)).toEqual([
            `failclosed run: cannot start the harness services on 127.0.0.1:${busy}: the port is in use`,
            expect.stringMatching(/^remedy: stop what listens there or pass --harness-port N; /),
          ]);
        });
      }
      expect(tested).toBe(true);
    } finally {
      await new Promise<void>((resolve) => gate.close(() => resolve()));
    }
  });

  it('run --target: a gate that cannot be reached is said as such, with the remedy', async () => {
    const gatePort = await freePort(); // nothing listens there
    const harnessPort = await freePort(undefined, 3);
    const { status, stderr } = await cli('run', '--target', `http://127.0.0.1:${gatePort}/`, '--harness-port', String(harnessPort));
    expect(status).toBe(2);
    const [cause, remedy, ...rest] = lines(stderr);
    expect(cause).toMatch(new RegExp(`^failclosed run: the gate at http://127\\.0\\.0\\.1:${gatePort}/ cannot be reached`));
    expect(remedy).toMatch(/^remedy: start the gate .* or correct --target; `failclosed doctor --target http:/);
    expect(rest).toEqual([]);
  });

  it('serve: a port in use is one line of cause and one of remedy, exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'failclosed-serve-'));
    try {
      await withBusyPort(async (port) => {
        const config = join(dir, 'config.json');
        writeFileSync(config, JSON.stringify({ ports: { gate: 0, controlPlane: port, executionLayer: 0 }, dataDir: join(dir, 'data'), fsync: false }));
        const { status, stderr } = await cli('serve', '--config', config);
        expect(status).toBe(1);
        expect(lines(stderr)).toEqual([
          `failclosed serve: cannot start: cannot listen on 127.0.0.1:${port}: the port is in use`,
          expect.stringMatching(/^remedy: stop what listens there, or choose other ports/),
        ]);
      });
      writeFileSync(join(dir, 'bad.json'), '{"ports": {"gate": "x"}}');
      const bad = await cli('serve', '--config', join(dir, 'bad.json'));
      expect(bad.status).toBe(2);
      expect(lines(bad.stderr)).toEqual(['failclosed serve: bad configuration: ports.gate must be an integer from 0 to 65535', expect.stringMatching(/^remedy: correct it/)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the installed bin runs the TypeScript CLI', () => {
    const bin = fileURLToPath(new URL('../../bin/failclosed.mjs', import.meta.url));
    const result = spawnSync(process.execPath, [bin, 'explore', '--help'], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage: failclosed explore');
  });
});

describe('the process exit status', () => {
  it('is 2 with a message, never 0, when a command ends without a result', async () => {
    const { spawnSync } = await import('node:child_process');
    const guard = new URL('../../bin/exit-guard.mjs', import.meta.url).href;
    const script = `import { guardExit } from ${JSON.stringify(guard)}; const g = guardExit(); await new Promise(() => {}); g.settled(0);`;
    const hung = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(hung.status).toBe(2);
    expect(hung.stderr).toContain('failclosed: stopped without a result');
    const done = spawnSync(process.execPath, ['--input-type=module', '-e', `import { guardExit } from ${JSON.stringify(guard)}; const g = guardExit(); g.settled(await Promise.resolve(1));`], { encoding: 'utf8', timeout: 20_000 });
    expect(done.status).toBe(1);
    expect(done.stderr).toBe('');
  });
});
