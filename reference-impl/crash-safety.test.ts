/**
 * Crash safety: the reference runs as a real process with durable stores; it is killed hard
 * (SIGKILL, no chance to flush) right after a nonce was claimed and right after an approval was
 * consumed, restarted on the same data, and then every replay must be denied.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalBytes, parseStrictJson } from '../model/profile/canonical-json.ts';
import { digestJson } from '../model/profile/digest.ts';
import { fromHex } from '../model/profile/encoding.ts';
import type { ClientRequest } from '../model/profile/messages.ts';
import { signRequest } from '../model/profile/messages.ts';
import { keyPairFromSeed } from '../model/profile/signing.ts';
import { verifyChain } from './audit/audit-log.ts';
import type { ServeProcess } from '../harness/serve-process.ts';
import { startServeProcess } from '../harness/serve-process.ts';

async function post(url: string, body: Uint8Array | string): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', body, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe('crash safety of the durable stores', () => {
  const dir = mkdtempSync(join(tmpdir(), 'failclosed-crash-'));
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify({ ports: { gate: 0, controlPlane: 0, executionLayer: 0 }, dataDir: join(dir, 'data') }));
  const children: ServeProcess[] = [];
  afterAll(async () => {
    for (const served of children) await served.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  const serve = (config: string) => startServeProcess({ config });

  it('a claimed nonce and a consumed approval survive SIGKILL and a restart', { timeout: 90_000 }, async () => {
    const first = await serve(configPath);
    children.push(first);
    const stored = JSON.parse(readFileSync(join(dir, 'data', 'demo-client-key.json'), 'utf8')) as { key_id: `ed25519/${string}`; seed_hex: string };
    const key = keyPairFromSeed(stored.key_id, fromHex(stored.seed_hex)!);
    const now = Math.floor(Date.now() / 1000);
    const sign = (fields: Partial<ClientRequest>): Uint8Array =>
      canonicalBytes(
        signRequest(
          { request_id: `req-${fields.nonce}`, identity: 'demo', action: 'demo.echo', parameters: { n: 1 }, timestamp: now, nonce: 'crash-nonce-0000000001', key_id: key.keyId, ...fields },
          key,
        ),
      );
    const executed = sign({ nonce: 'crash-nonce-executed-01' });
    const denied = sign({ nonce: 'crash-nonce-denied-0001', action: 'demo.forbidden' });
    expect((await post(`${first.gate}/v1/requests`, executed)).json).toMatchObject({ status: 'executed' });
    // Denied by policy after its nonce was claimed: the nonce is spent all the same.
    expect((await post(`${first.gate}/v1/requests`, denied)).json).toMatchObject({ status: 'denied', code: 'POLICY_DENIED' });

    // An approval consumed by a direct call, then the process dies at once.
    const parameters = { direct: true };
    const question = { request_id: 'direct-1', identity: 'demo', action: 'demo.echo', parameters, parameters_digest: digestJson(parameters) };
    const decision = await post(`${first.controlPlane}/v1/decide`, JSON.stringify(question));
    expect(decision.json.decision).toBe('allow');
    const call = JSON.stringify({ envelope: decision.json.envelope, request_id: 'direct-1', identity: 'demo', action: 'demo.echo', parameters });
    expect((await post(`${first.executionLayer}/v1/execute`, call)).json).toMatchObject({ status: 'executed' });
    await first.kill(); // SIGKILL: no chance to flush anything

    const second = await serve(configPath);
    children.push(second);
    expect((await post(`${second.gate}/v1/requests`, executed)).json).toMatchObject({ status: 'denied', code: 'REPLAY_DETECTED' });
    expect((await post(`${second.gate}/v1/requests`, denied)).json).toMatchObject({ status: 'denied', code: 'REPLAY_DETECTED' });
    expect((await post(`${second.executionLayer}/v1/execute`, call)).json).toMatchObject({ status: 'denied', code: 'ENVELOPE_REPLAYED' });

    // Exactly the two effects from before the crash; the audit chain survived intact: three records
    // before the crash (intent and final of the execution, the policy denial), two replays after.
    const effects = readFileSync(join(dir, 'data', 'effects.ndjson'), 'utf8').trim().split('\n');
    expect(effects).toHaveLength(2);
    const audit = parseStrictJson(await (await fetch(`${second.gate}/v1/audit`)).text());
    expect(Array.isArray(audit) && audit.length).toBe(5);
    expect(verifyChain(audit as unknown[])).toEqual({ ok: true });
    await second.kill();
  });
});
