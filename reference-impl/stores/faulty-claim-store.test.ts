import { afterEach, describe, expect, it, vi } from 'vitest';
import { ClaimStoreError } from './claim-store.ts';
import { FaultyClaimStore } from './faulty-claim-store.ts';
import { MemoryClaimStore } from './memory-claim-store.ts';
import { ManualClock } from './test-support.ts';

const FAR = Number.MAX_SAFE_INTEGER;

function faulty() {
  const inner = new MemoryClaimStore(new ManualClock());
  return { inner, store: new FaultyClaimStore(inner) };
}

async function rejection(promise: Promise<unknown>): Promise<ClaimStoreError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ClaimStoreError);
  return error as ClaimStoreError;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('FaultyClaimStore', () => {
  it('delegates while healthy', async () => {
    const { store } = faulty();
    expect(await store.claim('k', FAR)).toBe('claimed');
    expect(await store.claim('k', FAR)).toBe('duplicate');
  });

  it('"unavailable" rejects without touching the inner store', async () => {
    const { inner, store } = faulty();
    store.mode = 'unavailable';
    expect((await rejection(store.claim('k', FAR))).kind).toBe('unavailable');
    expect(await inner.claim('k', FAR)).toBe('claimed');
  });

  it('"unconfirmed" writes to the inner store, then rejects', async () => {
    const { inner, store } = faulty();
    store.mode = 'unconfirmed';
    expect((await rejection(store.claim('k', FAR))).kind).toBe('unconfirmed');
    expect(await inner.claim('k', FAR)).toBe('duplicate');
    store.mode = 'healthy';
    expect(await store.claim('k', FAR)).toBe('duplicate');
  });

  it('"slow" answers only after delayMs', async () => {
    vi.useFakeTimers();
    const { store } = faulty();
    store.mode = 'slow';
    store.delayMs = 500;
    let answer: string | undefined;
    const claim = store.claim('k', FAR).then((result) => (answer = result));
    await vi.advanceTimersByTimeAsync(499);
    expect(answer).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    await claim;
    expect(answer).toBe('claimed');
  });

  it('closes the inner store', async () => {
    const { inner, store } = faulty();
    await store.close();
    expect((await rejection(inner.claim('k', FAR))).kind).toBe('unavailable');
  });
});
