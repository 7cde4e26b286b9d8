/**
 * The in-memory heart of both claim stores: key → expiry of every claim that may still be live.
 * A claim is live while `now < expiresAtMs`; an expired claim may be claimed again.
 */
const MIN_SWEEP_SIZE = 1024;

export class ClaimTable {
  private readonly expiries = new Map<string, number>();
  private sweepAtSize = MIN_SWEEP_SIZE;

  isLive(key: string, nowMs: number): boolean {
    const expiresAtMs = this.expiries.get(key);
    return expiresAtMs !== undefined && nowMs < expiresAtMs;
  }

  /**
   * Records a claim (a later claim of an expired key replaces it). Expired entries are swept
   * whenever the table has doubled since the last sweep: memory stays proportional to the live
   * claims, at amortized constant cost.
   */
  record(key: string, expiresAtMs: number, nowMs: number): void {
    this.expiries.set(key, expiresAtMs);
    if (this.expiries.size >= this.sweepAtSize) {
      this.sweep(nowMs);
      this.sweepAtSize = Math.max(MIN_SWEEP_SIZE, 2 * this.expiries.size);
    }
  }

  /** Forgets every expired claim. */
  sweep(nowMs: number): void {
    for (const [key, expiresAtMs] of this.expiries) {
      if (nowMs >= expiresAtMs) this.expiries.delete(key);
    }
  }

  get size(): number {
    return this.expiries.size;
  }

  entries(): IterableIterator<[key: string, expiresAtMs: number]> {
    return this.expiries.entries();
  }
}

/** A programming error, not a store fault: rejects (so callers still fail closed). */
export function checkClaimArguments(key: unknown, expiresAtMs: unknown): void {
  if (typeof key !== 'string') throw new TypeError('claim key must be a string');
  if (typeof expiresAtMs !== 'number' || !Number.isFinite(expiresAtMs)) {
    throw new TypeError('claim expiresAtMs must be a finite number');
  }
}
