/** Both ClaimStores against one model, and under concurrency. */
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ClaimStore } from './claim-store.ts';
import { FileJournalClaimStore } from './file-journal-claim-store.ts';
import { MemoryClaimStore } from './memory-claim-store.ts';
import { ManualClock, useTempDirs } from './test-support.ts';

const tempDir = useTempDirs();

const KEYS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'] as const;

type Command =
  | { kind: 'claim'; key: string; ttlMs: number }
  | { kind: 'advance'; ms: number }
  /** close and reopen (the file store replays its journal; the memory store ignores it) */
  | { kind: 'reopen' };

const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('claim' as const), key: fc.constantFrom(...KEYS), ttlMs: fc.integer({ min: 0, max: 40 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 30 }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'reopen' as const }) },
);

/**
 * Runs the commands against a store and the model (key → expiry; live while now < expiry), then
 * reopens once more and claims every key, so that a claim lost on the way always shows.
 */
async function agreesWithModel(commands: Command[], openStore: (clock: ManualClock) => Promise<ClaimStore>): Promise<void> {
  const clock = new ManualClock();
  const model = new Map<string, number>();
  let store = await openStore(clock);
  const claimAndCompare = async (key: string, ttlMs: number): Promise<void> => {
    const expiresAt = model.get(key);
    const expected = expiresAt !== undefined && clock.now < expiresAt ? 'duplicate' : 'claimed';
    if (expected === 'claimed') model.set(key, clock.now + ttlMs);
    expect(await store.claim(key, clock.now + ttlMs)).toBe(expected);
  };
  try {
    for (const command of [...commands, { kind: 'reopen' as const }]) {
      if (command.kind === 'advance') clock.now += command.ms;
      else if (command.kind === 'claim') await claimAndCompare(command.key, command.ttlMs);
      else {
        await store.close();
        store = await openStore(clock);
      }
    }
    for (const key of KEYS) await claimAndCompare(key, 1);
  } finally {
    await store.close();
  }
}

describe('claim stores agree with the model', () => {
  it('MemoryClaimStore', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(commandArbitrary, { maxLength: 60 }), async (commands) => {
        // The memory store forgets on restart, so "reopen" keeps the same instance (close is a no-op here).
        let memory: MemoryClaimStore | undefined;
        const reopenable = (clock: ManualClock): ClaimStore => {
          memory ??= new MemoryClaimStore(clock);
          return { claim: (key, expiresAtMs) => memory!.claim(key, expiresAtMs), close: async () => undefined };
        };
        await agreesWithModel(commands, async (clock) => reopenable(clock));
      }),
      { numRuns: 200 },
    );
  });

  it('FileJournalClaimStore (with reopens and compaction)', async () => {
    const dir = await tempDir();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(commandArbitrary, { maxLength: 50 }), async (commands) => {
        const journal = path.join(dir, `run-${run++}.journal`);
        await agreesWithModel(commands, (clock) => FileJournalClaimStore.open(journal, { clock, fsync: false, compactAfterLines: 3 }));
      }),
      { numRuns: 200 },
    );
  });
});

/**
 * Waves of concurrent claims (several keys, repeats, TTLs down to 0) between clock moves and
 * reopens. With the clock still during a wave, claims of one key take effect in call order and
 * claims of different keys do not interact, so every answer is the sequential model's.
 */
type WaveCommand = { kind: 'wave'; claims: { key: string; ttlMs: number }[] } | { kind: 'advance'; ms: number } | { kind: 'reopen' };

const waveArbitrary: fc.Arbitrary<WaveCommand> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('wave' as const),
      claims: fc.array(fc.record({ key: fc.constantFrom(...KEYS), ttlMs: fc.integer({ min: 0, max: 40 }) }), { minLength: 1, maxLength: 16 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 30 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
);

describe('waves of concurrent claims agree with the sequential model', () => {
  it('FileJournalClaimStore (group commit, reopens, compaction during the waves)', async () => {
    const dir = await tempDir();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(waveArbitrary, { maxLength: 25 }), async (commands) => {
        const journal = path.join(dir, `wave-${run++}.journal`);
        const clock = new ManualClock();
        const model = new Map<string, number>();
        const open = () => FileJournalClaimStore.open(journal, { clock, fsync: false, compactAfterLines: 3 });
        let store = await open();
        try {
          for (const command of [...commands, { kind: 'reopen' as const }]) {
            if (command.kind === 'advance') clock.now += command.ms;
            else if (command.kind === 'reopen') {
              await store.close();
              store = await open();
            } else {
              const expected = command.claims.map(({ key, ttlMs }) => {
                const expiresAt = model.get(key);
                if (expiresAt !== undefined && clock.now < expiresAt) return 'duplicate';
                model.set(key, clock.now + ttlMs);
                return 'claimed';
              });
              const answers = await Promise.all(command.claims.map(({ key, ttlMs }) => store.claim(key, clock.now + ttlMs)));
              expect(answers).toEqual(expected);
            }
          }
          // Everything the model holds live survived every reopen and compaction.
          for (const key of KEYS) {
            const expiresAt = model.get(key);
            expect(await store.claim(key, clock.now + 1), key).toBe(expiresAt !== undefined && clock.now < expiresAt ? 'duplicate' : 'claimed');
          }
        } finally {
          await store.close();
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('concurrent claims of one key: exactly one wins', () => {
  async function racers(store: ClaimStore): Promise<string[]> {
    const expiresAt = Date.now() + 3_600_000;
    return Promise.all(Array.from({ length: 50 }, () => store.claim('contested', expiresAt)));
  }

  it('MemoryClaimStore', async () => {
    const results = await racers(new MemoryClaimStore());
    expect(results.filter((result) => result === 'claimed')).toHaveLength(1);
    expect(results.filter((result) => result === 'duplicate')).toHaveLength(49);
  });

  it('FileJournalClaimStore', async () => {
    const store = await FileJournalClaimStore.open(path.join(await tempDir(), 'nonces.journal'));
    const results = await racers(store);
    await store.close();
    expect(results.filter((result) => result === 'claimed')).toHaveLength(1);
    expect(results.filter((result) => result === 'duplicate')).toHaveLength(49);
  });
});
