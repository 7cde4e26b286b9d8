/**
 * The Gate's HTTP server as a crash leaves it: a Gate halted while it handled a request (a crash or
 * restart began) sends no answer. A denial it reached after its audit log closed has no record, so
 * answering it would be a denial without an audit record (INV-5) — found under load over HTTP,
 * where a request reached a replica mid-restart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalBytes } from '../../model/profile/canonical-json.ts';
import { HistoryBuilder, TEST_KEYS, defaultHistoryKeys } from '../../model/history-builder.ts';
import { MemoryEffectSink } from '../execution-layer/effect-sink.ts';
import type { InProcessReference } from '../in-process.ts';
import { createInProcessReference } from '../in-process.ts';
import { createGateServer } from './gate-server.ts';
import { closeServer, listen } from './http-util.ts';

let ref: InProcessReference | undefined;
afterEach(async () => {
  await ref?.close();
  ref = undefined;
});

async function postOnce(gate: string, body: Uint8Array): Promise<number | 'no answer'> {
  try {
    const response = await fetch(`${gate}/v1/requests`, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body });
    await response.text();
    return response.status;
  } catch {
    return 'no answer';
  }
}

describe('the Gate server after a halt', () => {
  it('answers a running Gate, and drops the connection of a request a halted Gate handled', async () => {
    ref = createInProcessReference({
      identityKeys: defaultHistoryKeys().identityKeys,
      controlPlaneKeys: [TEST_KEYS.controlPlane],
      policy: { rules: [{ identity: 'alice', action: 'payments.transfer', effect: 'deny' }] },
      sink: new MemoryEffectSink(),
    });
    const server = createGateServer(ref);
    try {
      const gate = await listen(server, '127.0.0.1', 0);
      const b = new HistoryBuilder({ startMs: Date.now() });
      expect(await postOnce(gate, canonicalBytes(b.request()))).toBe(403);
      ref.gate.halt();
      expect(await postOnce(gate, canonicalBytes(b.request()))).toBe('no answer');
    } finally {
      await closeServer(server);
    }
  });
});
