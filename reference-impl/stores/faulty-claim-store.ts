/**
 * Wraps a ClaimStore and injects the nonce-store faults of the failure table in process: the
 * harness flips `mode` while a run is in flight.
 */
import type { ClaimResult, ClaimStore } from './claim-store.ts';
import { ClaimStoreError } from './claim-store.ts';

export type ClaimStoreFaultMode =
  /** delegate */
  | 'healthy'
  /** reject 'unavailable' without touching the inner store */
  | 'unavailable'
  /** claim in the inner store, then reject 'unconfirmed': the write landed but was not confirmed */
  | 'unconfirmed'
  /** wait `delayMs`, then delegate (a caller's deadline decides whether that is too slow) */
  | 'slow';

export class FaultyClaimStore implements ClaimStore {
  mode: ClaimStoreFaultMode;
  delayMs: number;

  constructor(
    readonly inner: ClaimStore,
    options: { mode?: ClaimStoreFaultMode; delayMs?: number } = {},
  ) {
    this.mode = options.mode ?? 'healthy';
    this.delayMs = options.delayMs ?? 1_000;
  }

  async claim(key: string, expiresAtMs: number): Promise<ClaimResult> {
    switch (this.mode) {
      case 'healthy':
        return this.inner.claim(key, expiresAtMs);
      case 'unavailable':
        throw new ClaimStoreError('unavailable', 'injected fault: claim store unavailable');
      case 'unconfirmed':
        await this.inner.claim(key, expiresAtMs);
        throw new ClaimStoreError('unconfirmed', 'injected fault: claim written but not confirmed');
      case 'slow':
        // The global timer (not node:timers/promises) so that tests can drive it with fake timers.
        await new Promise((resolve) => setTimeout(resolve, this.delayMs));
        return this.inner.claim(key, expiresAtMs);
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
