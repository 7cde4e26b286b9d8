/**
 * The primary's nonce store, served to the other replicas of the reference Gate:
 *   POST /v1/claims {key, expires_at_ms} → 200 {result:"claimed"|"duplicate"} or 503 {kind}
 * Every claim goes through the one durable journal, so claims stay linearizable across replicas.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { parseStrictJson } from '../../model/profile/canonical-json.ts';
import type { ClaimStore } from '../stores/claim-store.ts';
import { ClaimStoreError } from '../stores/claim-store.ts';
import { readBody, sendJson } from './http-util.ts';

export function createClaimStoreServer(store: () => ClaimStore): Server {
  return createServer(async (req, res) => {
    try {
      if (req.method !== 'POST' || req.url !== '/v1/claims') return sendJson(res, 404, { error: 'POST /v1/claims only' });
      const body = await readBody(req, 8192);
      let value: { key?: unknown; expires_at_ms?: unknown };
      try {
        value = parseStrictJson(body.bytes ?? new Uint8Array()) as typeof value;
      } catch {
        return sendJson(res, 400, { error: 'not strict JSON' });
      }
      if (typeof value.key !== 'string' || typeof value.expires_at_ms !== 'number') return sendJson(res, 400, { error: 'key and expires_at_ms are required' });
      try {
        return sendJson(res, 200, { result: await store().claim(value.key, value.expires_at_ms) });
      } catch (error) {
        return sendJson(res, 503, { kind: error instanceof ClaimStoreError ? error.kind : 'unavailable', error: (error as Error).message });
      }
    } catch (error) {
      if (!res.headersSent) sendJson(res, 500, { error: (error as Error).message });
    }
  });
}
