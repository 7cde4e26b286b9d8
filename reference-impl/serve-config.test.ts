import { describe, expect, it } from 'vitest';
import { main } from '../harness/cli/main.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_KEYS, trustedKey } from '../model/history-builder.ts';
import { ConfigError, DEFAULT_SERVE_CONFIG, loadServeConfig, parseServeConfig } from './serve-config.ts';

describe('serve configuration', () => {
  it('has safe defaults: loopback only, durable, a replay window at least the acceptance window', () => {
    const config = parseServeConfig('{}', '/srv');
    expect(config.host).toBe('127.0.0.1');
    expect(config.fsync).toBe(true);
    expect(config.groupCommit).toBe(true);
    // One process for the three roles unless asked: what the tests and the conformance channel use.
    expect(config.roleProcesses).toBe('one');
    expect(config.dataDir).toBe('/srv/failclosed-data');
    expect(config.replayWindowSec).toBeGreaterThanOrEqual(config.acceptanceWindowSec);
    expect(DEFAULT_SERVE_CONFIG.controlPlane.url).toBeNull();
    // The embedded file stores by default: `npx failclosed serve` needs no database.
    expect(config.store).toEqual({ url: null, chain: 'gate' });
  });

  it('puts the state in PostgreSQL when given a postgres:// URL (--store, FAILCLOSED_STORE_URL), each replica on its own chain', () => {
    expect(parseServeConfig('{"store":{"url":"postgresql://u@db:5432/gate","chain":"r-1"}}').store).toEqual({ url: 'postgresql://u@db:5432/gate', chain: 'r-1' });
    expect(parseServeConfig('{"store":{"url":"file"}}').store.url).toBeNull();
    expect(loadServeConfig(undefined, { FAILCLOSED_STORE_URL: 'postgres://u@127.0.0.1:5433/g', FAILCLOSED_AUDIT_CHAIN: 'replica-2' }).store).toEqual({ url: 'postgres://u@127.0.0.1:5433/g', chain: 'replica-2' });
    expect(() => parseServeConfig('{"store":{"url":"http://127.0.0.1:9"}}')).toThrow(/store.url must be a postgres:\/\/ URL/);
    expect(() => parseServeConfig('{"store":{"chain":"a b"}}')).toThrow(/store.chain must be/);
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
    ['a groupCommit that is not a boolean', '{"groupCommit":"off"}', /groupCommit must be true or false/],
    ['an unknown roleProcesses', '{"roleProcesses":"four"}', /roleProcesses must be "one", "two", "three"/],
    ['role processes with the conformance channel', '{"roleProcesses":"two","conformanceChannel":true}', /cannot be combined with conformanceChannel/],
    ['role processes with a database store', '{"roleProcesses":"three","store":{"url":"postgres://u@db/g"}}', /file stores only/],
  ])('refuses %s with a message naming the field', (_name, text, message) => {
    expect(() => parseServeConfig(text)).toThrow(ConfigError);
    expect(() => parseServeConfig(text)).toThrow(message);
  });

  it('reads the contract\'s environment variables and its flat FAILCLOSED_CONFIG_FILE, the variables winning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'failclosed-contract-config-'));
    try {
      const file = join(dir, 'gate.json');
      writeFileSync(file, JSON.stringify({ listen_port: 9100, control_plane_url: 'http://127.0.0.1:8790', control_plane_keys: [trustedKey(TEST_KEYS.controlPlane)], conformance_channel: true, acceptance_window_sec: 60 }));
      const config = loadServeConfig(undefined, { FAILCLOSED_CONFIG_FILE: file, FAILCLOSED_LISTEN_PORT: '9200', FAILCLOSED_EFFECT_SINK_URL: 'http://127.0.0.1:8791' });
      expect(config.ports.gate).toBe(9200);
      expect(config.controlPlane).toEqual({ url: 'http://127.0.0.1:8790', trustedKeys: [trustedKey(TEST_KEYS.controlPlane)] });
      expect(config.effects.url).toBe('http://127.0.0.1:8791');
      expect(config.conformanceChannel).toBe(true);
      expect(config.acceptanceWindowSec).toBe(60);
      expect(() => loadServeConfig(undefined, { FAILCLOSED_LISTEN_PORT: 'eighty' })).toThrow('FAILCLOSED_LISTEN_PORT must be a whole number');
      expect(() => loadServeConfig(undefined, { FAILCLOSED_CONTROL_PLANE_URL: 'http://127.0.0.1:1' })).toThrow('needs controlPlane.trustedKeys');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('failclosed serve exits 2 on a bad configuration and starts nothing', async () => {
    let stderr = '';
    const status = await main(['serve', '--config', '/nonexistent/failclosed.json'], { out: () => undefined, err: (t) => void (stderr += t) });
    expect(status).toBe(2);
    expect(stderr).toContain('cannot read the configuration /nonexistent/failclosed.json');
  });
});
