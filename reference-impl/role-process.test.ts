/**
 * `roleProcesses` "two" and "three": the Control Plane and the Execution Layer in child processes
 * decide exactly as in one process — an allowed request executes once (one effect, durable, in
 * the file the Gate's side names), its replay is denied, a direct call with a spent envelope is
 * refused by the Execution Layer — and closing the reference ends the children.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalBytes } from '../model/profile/canonical-json.ts';
import { fromHex } from '../model/profile/encoding.ts';
import { signRequest } from '../model/profile/messages.ts';
import type { KeyId } from '../model/profile/signing.ts';
import { keyPairFromSeed } from '../model/profile/signing.ts';
import { parseServeConfig } from './serve-config.ts';
import { startReference } from './serve.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function post(url: string, body: Uint8Array | string): Promise<{ status: number; answer: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: response.status, answer: (await response.json()) as Record<string, unknown> };
}

describe.each(['two', 'three'] as const)('roleProcesses "%s"', (roleProcesses) => {
  it('executes an allowed request once, denies its replay and a spent envelope, and ends its children on close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'failclosed-roles-'));
    dirs.push(dir);
    const config = parseServeConfig(JSON.stringify({ ports: { gate: 0, controlPlane: 0, executionLayer: 0 }, dataDir: join(dir, 'data'), roleProcesses }));
    const ref = await startReference(config);
    let closed = false;
    try {
      // The roles are served elsewhere: no two servers of this process share a port with them.
      expect(new Set([ref.urls.gate, ref.urls.controlPlane, ref.urls.executionLayer]).size).toBe(3);
      const stored = JSON.parse(readFileSync(ref.paths.demoClientKey!, 'utf8')) as { key_id: KeyId; seed_hex: string };
      const key = keyPairFromSeed(stored.key_id, fromHex(stored.seed_hex)!);
      const body = canonicalBytes(
        signRequest(
          { request_id: `req-${randomUUID()}`, identity: 'demo', action: 'demo.echo', parameters: { message: 'roles' }, timestamp: Math.floor(Date.now() / 1000), nonce: `n${randomUUID().replaceAll('-', '')}`, key_id: key.keyId },
          key,
        ),
      );
      const first = await post(`${ref.urls.gate}/v1/requests`, body);
      expect(first).toMatchObject({ status: 200, answer: { status: 'executed' } });
      expect(await post(`${ref.urls.gate}/v1/requests`, body)).toMatchObject({ status: 403, answer: { status: 'denied', code: 'REPLAY_DETECTED' } });

      // The envelope the Gate used, asked for again from the Control Plane process and spent once:
      // the Execution Layer process refuses it the second time.
      const request = JSON.parse(new TextDecoder().decode(body)) as Record<string, unknown>;
      const { digestJson } = await import('../model/profile/digest.ts');
      const question = { request_id: request.request_id, identity: 'demo', action: 'demo.echo', parameters: request.parameters, parameters_digest: digestJson(request.parameters) };
      const decided = await post(`${ref.urls.controlPlane}/v1/decide`, JSON.stringify(question));
      expect(decided.answer.decision).toBe('allow');
      const call = JSON.stringify({ envelope: decided.answer.envelope, request_id: request.request_id, identity: 'demo', action: 'demo.echo', parameters: request.parameters });
      expect(await post(`${ref.urls.executionLayer}/v1/execute`, call)).toMatchObject({ status: 200, answer: { status: 'executed' } });
      expect(await post(`${ref.urls.executionLayer}/v1/execute`, call)).toMatchObject({ status: 403, answer: { status: 'denied', code: 'ENVELOPE_REPLAYED' } });

      await ref.close();
      closed = true;
      // Written by the Execution Layer's process, durable before it answered, complete once closed.
      const effects = readFileSync(ref.paths.effects!, 'utf8').split('\n').filter((line) => line !== '');
      expect(effects).toHaveLength(2);
      expect(JSON.parse(effects[0]!)).toMatchObject({ request_id: request.request_id, effect_id: first.answer.effect_id });
      // Nobody answers where the children served: they ended with the reference.
      await expect(fetch(`${ref.urls.executionLayer}/healthz`)).rejects.toThrow();
      await expect(fetch(`${ref.urls.controlPlane}/healthz`)).rejects.toThrow();
    } finally {
      if (!closed) await ref.close();
    }
  });
});
