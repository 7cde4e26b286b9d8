/**
 * A claim store reached over HTTP: how replicas of the reference Gate share one linearizable nonce
 * store (the primary serves its journal; see http/claim-store-server.ts). A refused connection is
 * "unavailable" (nothing was written); a timeout or a broken answer after sending is "unconfirmed"
 * (the claim may have landed) — the Gate denies either way.
 */
import type { ClaimResult, ClaimStore } from './claim-store.ts';
import { ClaimStoreError } from './claim-store.ts';

const NOT_SENT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EADDRNOTAVAIL']);

export class HttpClaimStore implements ClaimStore {
  private readonly endpoint: string;

  constructor(
    baseUrl: string,
    private readonly timeoutMs = 1500,
  ) {
    this.endpoint = new URL('/v1/claims', baseUrl).href;
  }

  async claim(key: string, expiresAtMs: number): Promise<ClaimResult> {
    let response: Response;
    try {
      response = await fetch(this.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key, expires_at_ms: expiresAtMs }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code;
      if (code && NOT_SENT.has(code)) throw new ClaimStoreError('unavailable', `shared nonce store refused: ${code}`, { cause: error });
      throw new ClaimStoreError('unconfirmed', `shared nonce store did not answer: ${(error as Error).message}`, { cause: error });
    }
    const body = (await response.json().catch(() => undefined)) as { result?: string; kind?: string } | undefined;
    if (response.ok && (body?.result === 'claimed' || body?.result === 'duplicate')) return body.result;
    if (response.status === 503 && (body?.kind === 'unavailable' || body?.kind === 'unconfirmed')) throw new ClaimStoreError(body.kind, 'shared nonce store failed');
    throw new ClaimStoreError('unconfirmed', `shared nonce store answered HTTP ${response.status}`);
  }

  async close(): Promise<void> {}
}
