/**
 * A ClaimStore in process memory: linearizable (one thread, no await between check and record)
 * but not crash-durable. For tests and single-process setups that accept losing claims on restart.
 */
import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import type { ClaimResult, ClaimStore } from './claim-store.ts';
import { ClaimStoreError } from './claim-store.ts';
import { ClaimTable, checkClaimArguments } from './claim-table.ts';

export class MemoryClaimStore implements ClaimStore {
  private readonly claims = new ClaimTable();
  private closed = false;

  constructor(private readonly clock: Clock = systemClock) {}

  async claim(key: string, expiresAtMs: number): Promise<ClaimResult> {
    checkClaimArguments(key, expiresAtMs);
    if (this.closed) throw new ClaimStoreError('unavailable', 'claim store is closed');
    const nowMs = this.clock.nowMs();
    if (this.claims.isLive(key, nowMs)) return 'duplicate';
    this.claims.record(key, expiresAtMs, nowMs);
    return 'claimed';
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
