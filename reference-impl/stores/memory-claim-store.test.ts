import { describe, expect, it } from 'vitest';
import { ClaimStoreError } from './claim-store.ts';
import { ClaimTable } from './claim-table.ts';
import { MemoryClaimStore } from './memory-claim-store.ts';
import { ManualClock } from './test-support.ts';

describe('MemoryClaimStore', () => {
  it('claims a key once until it expires, then again', async () => {
    const clock = new ManualClock();
    const store = new MemoryClaimStore(clock);
    const expiresAt = clock.now + 1_000;
    expect(await store.claim('k', expiresAt)).toBe('claimed');
    expect(await store.claim('k', expiresAt)).toBe('duplicate');
    expect(await store.claim('other', expiresAt)).toBe('claimed');
    clock.now = expiresAt - 1;
    expect(await store.claim('k', expiresAt + 5_000)).toBe('duplicate');
    clock.now = expiresAt; // expired at exactly expiresAt
    expect(await store.claim('k', expiresAt + 5_000)).toBe('claimed');
    expect(await store.claim('k', expiresAt + 5_000)).toBe('duplicate');
  });

  it('rejects "unavailable" once closed', async () => {
    const store = new MemoryClaimStore(new ManualClock());
    await store.close();
    const error = await store.claim('k', Number.MAX_SAFE_INTEGER).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClaimStoreError);
    expect((error as ClaimStoreError).kind).toBe('unavailable');
  });

  it('rejects arguments that are not a key and a finite expiry', async () => {
    const store = new MemoryClaimStore(new ManualClock());
    await expect(store.claim('k', Number.NaN)).rejects.toThrow(TypeError);
    await expect(store.claim(7 as unknown as string, 1)).rejects.toThrow(TypeError);
  });
});

describe('ClaimTable', () => {
  it('keeps memory proportional to the live claims', () => {
    const table = new ClaimTable();
    let now = 0;
    for (let i = 0; i < 100_000; i++) {
      table.record(`key-${i}`, now + 10, now);
      now += 5; // each claim outlives the next one only
    }
    expect(table.size).toBeLessThanOrEqual(2048);
    expect(table.isLive('key-99999', now - 5)).toBe(true);
  });

  it('keeps every live claim through sweeps', () => {
    const table = new ClaimTable();
    for (let i = 0; i < 5_000; i++) table.record(`key-${i}`, i % 2 === 0 ? 10 : 1_000, 0);
    table.sweep(500);
    expect(table.size).toBe(2_500);
    for (let i = 1; i < 5_000; i += 2) expect(table.isLive(`key-${i}`, 500)).toBe(true);
  });
});
