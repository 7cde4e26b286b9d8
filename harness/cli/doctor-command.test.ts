import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createHarness } from '../../conformance/runner.ts';
import { freePort } from '../http-harness.ts';
import { startServeProcess } from '../serve-process.ts';
import { expectedConfiguration } from './doctor-command.ts';
import { cli } from './cli-test-support.ts';


describe('failclosed doctor', () => {
  it('prints the configuration a gate needs', async () => {
    const { status, stdout } = await cli('doctor', '--print-config', '--harness-port', '9100');
    expect(status).toBe(0);
    expect(stdout).toContain("FAILCLOSED_CONTROL_PLANE_URL='http://127.0.0.1:9100'");
    expect(stdout).toContain("FAILCLOSED_EFFECT_SINK_URL='http://127.0.0.1:9101'");
    expect(stdout).toContain("FAILCLOSED_EXECUTION_LAYER_URL='http://127.0.0.1:9102'");
    expect(stdout).toContain('FAILCLOSED_CONTROL_PLANE_KEYS=');
  });

  it('passes a gate configured as printed, and says exactly what a misconfigured one lacks', { timeout: 60_000 }, async () => {
    const base = await freePort();
    const env = expectedConfiguration(createHarness(), '127.0.0.1', base);
    const dataDir = mkdtempSync(join(tmpdir(), 'failclosed-doctor-'));
    const common = { FAILCLOSED_LISTEN_HOST: '127.0.0.1', FAILCLOSED_LISTEN_PORT: '0', FAILCLOSED_FSYNC: '0' };
    const good = await startServeProcess({ env: { ...env, ...common, FAILCLOSED_EXECUTION_LAYER_LISTEN_PORT: String(await freePort()), FAILCLOSED_DATA_DIR: join(dataDir, 'good') } });
    try {
      const ok = await cli('doctor', '--target', good.gate, '--harness-port', String(base));
      expect(ok.stdout).toContain('ready to test');
      expect(ok.status).toBe(0);
    } finally {
      await good.stop();
    }
    // Effects reported elsewhere: the harness never sees them.
    const wrongSink = await startServeProcess({ env: { ...env, ...common, FAILCLOSED_EFFECT_SINK_URL: `http://127.0.0.1:${await freePort()}`, FAILCLOSED_EXECUTION_LAYER_LISTEN_PORT: String(await freePort()), FAILCLOSED_DATA_DIR: join(dataDir, 'bad') } });
    try {
      const bad = await cli('doctor', '--target', wrongSink.gate, '--harness-port', String(base));
      expect(bad.status).toBe(1);
      expect(bad.stdout).toMatch(/✗ its effect is reported to FAILCLOSED_EFFECT_SINK_URL/);
    } finally {
      await wrongSink.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('exits 2 when the gate cannot be reached', async () => {
    const { status, stderr } = await cli('doctor', '--target', `http://127.0.0.1:${await freePort()}`);
    expect(status).toBe(2);
    expect(stderr).toContain('cannot be reached');
  });
});
