import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createHarness } from '../../conformance/runner.ts';
import { validateMessage } from '../../conformance/contract/schemas.ts';
import { freePort } from '../http-harness.ts';
import { HARNESS_CONTROL_PLANE_DEADLINE_MS } from '../reference-over-http.ts';
import { startServeProcess } from '../serve-process.ts';
import { SUGGESTED_EXECUTION_DEADLINE_MS, expectedConfiguration } from './doctor-command.ts';
import { cli } from './cli-test-support.ts';

/** The variables a POSIX shell has after `eval "$(output)"`. */
function evalInShell(output: string): Record<string, string> {
  const env = execFileSync('sh', ['-c', 'eval "$FAILCLOSED_TEST_CONFIG" && env'], { env: { PATH: process.env.PATH ?? '', FAILCLOSED_TEST_CONFIG: output }, encoding: 'utf8' });
  return Object.fromEntries(
    env
      .split('\n')
      .filter((l) => l.startsWith('FAILCLOSED_') && !l.startsWith('FAILCLOSED_TEST_CONFIG='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

async function auditRecords(gate: string): Promise<unknown[]> {
  const response = await fetch(new URL('/v1/audit', gate));
  return (await response.json()) as unknown[];
}

describe('failclosed doctor --print-config', () => {
  it('prints export lines that a shell can eval, with the harness\'s values and the tuning ones', async () => {
    const { status, stdout, stderr } = await cli('doctor', '--print-config', '--harness-port', '9100');
    expect(status).toBe(0);
    expect(stdout).toContain("export FAILCLOSED_CONTROL_PLANE_URL='http://127.0.0.1:9100'");
    for (const line of stdout.trimEnd().split('\n')) expect(line).toMatch(/^(# .*|export FAILCLOSED_[A-Z_]+='[^']*')$/);
    const env = evalInShell(stdout);
    // Exactly what the harness expects: the same values, JSON intact through the quoting.
    expect(env).toEqual(expectedConfiguration(createHarness(), '127.0.0.1', 9100));
    expect(env.FAILCLOSED_EFFECT_SINK_URL).toBe('http://127.0.0.1:9101');
    expect(env.FAILCLOSED_EXECUTION_LAYER_URL).toBe('http://127.0.0.1:9102');
    expect(JSON.parse(env.FAILCLOSED_CONTROL_PLANE_KEYS!)).toEqual(createHarness().trustedKeys);
    expect(env.FAILCLOSED_CONTROL_PLANE_DEADLINE_MS).toBe(String(HARNESS_CONTROL_PLANE_DEADLINE_MS));
    expect(env.FAILCLOSED_EXECUTION_DEADLINE_MS).toBe(String(SUGGESTED_EXECUTION_DEADLINE_MS));
    // What the vendor must add is not printed, and said plainly (on stderr, which eval leaves alone).
    expect(env.FAILCLOSED_LISTEN_PORT).toBeUndefined();
    for (const name of ['FAILCLOSED_LISTEN_PORT', 'FAILCLOSED_EXECUTION_LAYER_LISTEN_PORT', 'FAILCLOSED_DATA_DIR']) expect(stderr).toMatch(new RegExp(`Add yourself:[^]*${name}`));
    expect(stderr).toContain('optional tuning');
    expect(stderr).toContain('--harness-port 9100');
  });

  it('prints the ports and data directory it is given, and nothing of the channel with --no-control-channel', async () => {
    const { status, stdout, stderr } = await cli('doctor', '--print-config', '--listen-port', '9000', '--execution-layer-listen-port', "9001", '--data-dir', "/tmp/it's empty", '--no-control-channel');
    expect(status).toBe(0);
    const env = evalInShell(stdout);
    expect(env).toMatchObject({ FAILCLOSED_LISTEN_PORT: '9000', FAILCLOSED_EXECUTION_LAYER_LISTEN_PORT: '9001', FAILCLOSED_DATA_DIR: "/tmp/it's empty" });
    expect(env.FAILCLOSED_CONFORMANCE_CHANNEL).toBeUndefined();
    expect(env.FAILCLOSED_EXECUTION_LAYER_URL).toBeUndefined();
    expect(stderr).not.toContain('Add yourself');
    expect(stderr).toContain('npx failclosed doctor --target http://127.0.0.1:9000');
  });

  it('--format env prints KEY=value lines for --env-file', async () => {
    const { status, stdout } = await cli('doctor', '--print-config', '--format', 'env', '--harness-port', '9200');
    expect(status).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(/^FAILCLOSED_[A-Z_]+=\S+$/);
    const env = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(env).toEqual(expectedConfiguration(createHarness(), '127.0.0.1', 9200));
  });

  it('--format json prints the FAILCLOSED_CONFIG_FILE form, valid against gate-config.schema.json', async () => {
    const refused = await cli('doctor', '--print-config', '--format', 'json');
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('--format json needs --listen-port N');

    const { status, stdout } = await cli('doctor', '--print-config', '--format', 'json', '--harness-port', '9300', '--listen-port', '9000', '--data-dir', '/var/lib/gate');
    expect(status).toBe(0);
    const file = JSON.parse(stdout) as Record<string, unknown>;
    expect(validateMessage('gate-config', file)).toEqual({ ok: true });
    expect(file).toMatchObject({
      listen_port: 9000,
      data_dir: '/var/lib/gate',
      control_plane_url: 'http://127.0.0.1:9300',
      effect_sink_url: 'http://127.0.0.1:9301',
      execution_layer_url: 'http://127.0.0.1:9302',
      conformance_channel: true,
      acceptance_window_sec: 300,
      control_plane_deadline_ms: HARNESS_CONTROL_PLANE_DEADLINE_MS,
      execution_deadline_ms: SUGGESTED_EXECUTION_DEADLINE_MS,
    });
    expect(file.control_plane_keys).toEqual(createHarness().trustedKeys);
  });

  it('refuses what it cannot honour', async () => {
    expect((await cli('doctor', '--print-config', '--format', 'yaml')).status).toBe(2);
    expect((await cli('doctor', '--print-config', '--listen-port', '70000')).status).toBe(2);
    const mixed = await cli('doctor', '--target', 'http://127.0.0.1:1', '--format', 'env');
    expect(mixed.status).toBe(2);
    expect(mixed.stderr).toContain('--format goes with --print-config');
  });
});

describe('failclosed doctor --target', () => {
  it('passes a gate configured as printed, resets it afterwards, and says exactly what a misconfigured one lacks', { timeout: 60_000 }, async () => {
    const base = await freePort(undefined, 3);
    const env = expectedConfiguration(createHarness(), '127.0.0.1', base);
    const dataDir = mkdtempSync(join(tmpdir(), 'failclosed-doctor-'));
    const common = { FAILCLOSED_LISTEN_HOST: '127.0.0.1', FAILCLOSED_LISTEN_PORT: '0', FAILCLOSED_FSYNC: '0' };
    const good = await startServeProcess({ env: { ...env, ...common, FAILCLOSED_EXECUTION_LAYER_LISTEN_PORT: String(await freePort()), FAILCLOSED_DATA_DIR: join(dataDir, 'good') } });
    try {
      const ok = await cli('doctor', '--target', good.gate, '--harness-port', String(base), '--harness-host', '127.0.0.1');
      expect(ok.stdout).toContain('✓ doctor reset the gate afterwards');
      // The suggested run carries every harness option the gate was configured for.
      expect(ok.stdout.trimEnd().split('\n').at(-1)).toBe(`ready to test: npx failclosed run --target ${new URL(good.gate).href} --harness-port ${base} --harness-host 127.0.0.1`);
      expect(ok.status).toBe(0);
      // Doctor's requests are gone: a run starts on a fresh gate.
      expect(await auditRecords(good.gate)).toEqual([]);
    } finally {
      await good.stop();
    }
    // Effects reported elsewhere: the harness never sees them.
    const wrongSink = await startServeProcess({ env: { ...env, ...common, FAILCLOSED_EFFECT_SINK_URL: `http://127.0.0.1:${await freePort()}`, FAILCLOSED_EXECUTION_LAYER_LISTEN_PORT: String(await freePort()), FAILCLOSED_DATA_DIR: join(dataDir, 'bad') } });
    try {
      const bad = await cli('doctor', '--target', wrongSink.gate, '--harness-port', String(base));
      expect(bad.status).toBe(1);
      expect(bad.stdout).toMatch(/✗ its effect is reported to FAILCLOSED_EFFECT_SINK_URL/);
      expect(bad.stdout).not.toContain('ready to test');
    } finally {
      await wrongSink.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('says that a gate without reset must be restarted on an empty data directory before run', { timeout: 60_000 }, async () => {
    const base = await freePort(undefined, 3);
    // No control channel, so no proxy in front of the Execution Layer either.
    const env = expectedConfiguration(createHarness(), '127.0.0.1', base, false);
    expect(env.FAILCLOSED_CONFORMANCE_CHANNEL).toBeUndefined();
    const dataDir = mkdtempSync(join(tmpdir(), 'failclosed-doctor-'));
    const gate = await startServeProcess({
      env: { ...env, FAILCLOSED_LISTEN_HOST: '127.0.0.1', FAILCLOSED_LISTEN_PORT: '0', FAILCLOSED_FSYNC: '0', FAILCLOSED_EXECUTION_LAYER_LISTEN_PORT: String(await freePort()), FAILCLOSED_DATA_DIR: dataDir },
    });
    try {
      const { status, stdout } = await cli('doctor', '--target', gate.gate, '--harness-port', String(base));
      expect(stdout).toContain('no conformance control channel');
      expect(stdout).not.toContain('reset the gate');
      const last = stdout.trimEnd().split('\n').slice(-2);
      expect(last[0]).toContain("The gate now holds doctor's requests");
      expect(last[0]).toContain('it offers no reset');
      expect(last[1]).toMatch(new RegExp(`^ready to test once the gate is restarted on an empty data directory: npx failclosed run --target \\S+ --harness-port ${base}`));
      expect(status).toBe(0);
      // What it says is true: doctor's requests are still in the gate's audit log.
      expect((await auditRecords(gate.gate)).length).toBeGreaterThan(0);
    } finally {
      await gate.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('exits 2 when the gate cannot be reached', async () => {
    const { status, stderr } = await cli('doctor', '--target', `http://127.0.0.1:${await freePort()}`);
    expect(status).toBe(2);
    expect(stderr).toContain('cannot be reached');
  });
});
