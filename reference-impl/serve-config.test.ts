import { describe, expect, it } from 'vitest';
import { main } from '../harness/cli/main.ts';
import { ConfigError, DEFAULT_SERVE_CONFIG, parseServeConfig } from './serve-config.ts';

describe('serve configuration', () => {
  it('has safe defaults: loopback only, durable, a replay window at least the acceptance window', () => {
    const config = parseServeConfig('{}', '/srv');
    expect(config.host).toBe('127.0.0.1');
    expect(config.fsync).toBe(true);
    expect(config.dataDir).toBe('/srv/failclosed-data');
    expect(config.replayWindowSec).toBeGreaterThanOrEqual(config.acceptanceWindowSec);
    expect(DEFAULT_SERVE_CONFIG.controlPlane.url).toBeNull();
  });

  it('resolves paths against the configuration file and keeps given values', () => {
    const config = parseServeConfig('{"dataDir":"data","policyFile":"p.json","ports":{"gate":0},"acceptanceWindowSec":60}', '/etc/fc');
    expect(config).toMatchObject({ dataDir: '/etc/fc/data', policyFile: '/etc/fc/p.json', acceptanceWindowSec: 60 });
    expect(config.ports).toEqual({ gate: 0, controlPlane: 8701, executionLayer: 8702 });
  });

  it.each([
    ['not JSON', '{', /not strict JSON/],
    ['an unknown field', '{"gatePort":1}', /gatePort is not a configuration field/],
    ['a port out of range', '{"ports":{"gate":70000}}', /ports.gate must be an integer from 0 to 65535/],
    ['a replay window shorter than the acceptance window', '{"acceptanceWindowSec":600,"replayWindowSec":300}', /replayWindowSec must be at least/],
    ['an external control plane without trusted keys', '{"controlPlane":{"url":"http://127.0.0.1:9"}}', /needs controlPlane.trustedKeys/],
    ['a bad trusted key', '{"controlPlane":{"url":"http://127.0.0.1:9","trustedKeys":[{"key_id":"cp","public_key":"x"}]}}', /trustedKeys\[0\]/],
    ['an effects file and url', '{"effects":{"file":"e","url":"http://127.0.0.1:9"}}', /a file or a url/],
    ['a non-http URL', '{"executionLayer":{"url":"ftp://x"}}', /http\(s\) URL/],
  ])('refuses %s with a message naming the field', (_name, text, message) => {
    expect(() => parseServeConfig(text)).toThrow(ConfigError);
    expect(() => parseServeConfig(text)).toThrow(message);
  });

  it('failclosed serve exits 2 on a bad configuration and starts nothing', async () => {
    let stderr = '';
    const status = await main(['serve', '--config', '/nonexistent/failclosed.json'], { out: () => undefined, err: (t) => void (stderr += t) });
    expect(status).toBe(2);
    expect(stderr).toContain('cannot read the configuration /nonexistent/failclosed.json');
  });
});
