import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ClaimStoreError } from './claim-store.ts';
import { FileJournalClaimStore } from './file-journal-claim-store.ts';
import { LockHeldError } from './lock-file.ts';
import { failNextWriteHalfway, fileHandlePrototype, ioError, ManualClock, useTempDirs } from './test-support.ts';

const tempDir = useTempDirs();
afterEach(() => {
  vi.restoreAllMocks();
});

const HOUR = 3_600_000;

async function journalIn(dir?: string): Promise<string> {
  return path.join(dir ?? (await tempDir()), 'nonces.journal');
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('FileJournalClaimStore', () => {
  it('claims once, and remembers claims across reopen', async () => {
    const clock = new ManualClock();
    const journal = await journalIn();
    const store = await FileJournalClaimStore.open(journal, { clock });
    expect(await store.claim('a', clock.now + HOUR)).toBe('claimed');
    expect(await store.claim('a', clock.now + HOUR)).toBe('duplicate');
    expect(await store.claim('b', clock.now + 10)).toBe('claimed');
    await store.close();

    const reopened = await FileJournalClaimStore.open(journal, { clock });
    expect(await reopened.claim('a', clock.now + HOUR)).toBe('duplicate');
    expect(await reopened.claim('b', clock.now + HOUR)).toBe('duplicate');
    clock.now += 10; // b expired; a did not
    expect(await reopened.claim('b', clock.now + HOUR)).toBe('claimed');
    expect(await reopened.claim('a', clock.now + HOUR)).toBe('duplicate');
    await reopened.close();
    expect((await fs.readFile(journal, 'utf8')).trim().split('\n').map((line) => JSON.parse(line))).toEqual([
      { key: 'a', expires_at_ms: 1_700_000_000_000 + HOUR },
      { key: 'b', expires_at_ms: 1_700_000_000_010 },
      { key: 'b', expires_at_ms: 1_700_000_000_010 + HOUR },
    ]);
  });

  it('ignores and truncates a torn last line', async () => {
    const clock = new ManualClock();
    const journal = await journalIn();
    const store = await FileJournalClaimStore.open(journal, { clock });
    await store.claim('a', clock.now + HOUR);
    await store.close();
    const intact = await fs.readFile(journal, 'utf8');
    await fs.appendFile(journal, '{"key":"b","expi');

    const reopened = await FileJournalClaimStore.open(journal, { clock });
    expect(await fs.readFile(journal, 'utf8')).toBe(intact);
    expect(await reopened.claim('a', clock.now + HOUR)).toBe('duplicate');
    expect(await reopened.claim('b', clock.now + HOUR)).toBe('claimed');
    await reopened.close();
  });

  it('refuses a journal with a damaged complete line, naming the line', async () => {
    const journal = await journalIn();
    await fs.writeFile(journal, '{"key":"a","expires_at_ms":1}\nnot json\n{"key":"b","expires_at_ms":2}\n');
    const error = await rejection(FileJournalClaimStore.open(journal));
    expect(error).toBeInstanceOf(ClaimStoreError);
    expect((error as ClaimStoreError).kind).toBe('unavailable');
    expect((error as Error).message).toContain('line 2');
    await expect(fs.access(`${journal}.lock`)).rejects.toThrow(); // not left locked
  });

  it('rejects "unavailable" when the journal cannot be opened, and once closed', async () => {
    const dir = await tempDir();
    const notAFile = await journalIn(dir);
    await fs.mkdir(notAFile);
    const openError = await rejection(FileJournalClaimStore.open(notAFile));
    expect((openError as ClaimStoreError).kind).toBe('unavailable');

    const store = await FileJournalClaimStore.open(path.join(dir, 'other.journal'));
    await store.close();
    await store.close(); // idempotent
    const closedError = await rejection(store.claim('k', Date.now() + HOUR));
    expect((closedError as ClaimStoreError).kind).toBe('unavailable');
  });

  it('settles claims queued before close, then refuses', async () => {
    const store = await FileJournalClaimStore.open(await journalIn());
    const claims = ['a', 'b', 'c'].map((key) => store.claim(key, Date.now() + HOUR));
    const closed = store.close();
    expect(await Promise.all(claims)).toEqual(['claimed', 'claimed', 'claimed']);
    await closed;
  });

  it('treats an unconfirmed (fsync failed) key as claimed, and keeps working', async () => {
    const dir = await tempDir();
    const prototype = await fileHandlePrototype(dir);
    const clock = new ManualClock();
    const journal = await journalIn(dir);
    const store = await FileJournalClaimStore.open(journal, { clock });
    vi.spyOn(prototype, 'datasync').mockRejectedValueOnce(ioError('EIO'));
    const error = await rejection(store.claim('a', clock.now + HOUR));
    expect(error).toBeInstanceOf(ClaimStoreError);
    expect((error as ClaimStoreError).kind).toBe('unconfirmed');
    expect(await store.claim('a', clock.now + HOUR)).toBe('duplicate'); // never re-admitted
    expect(await store.claim('b', clock.now + HOUR)).toBe('claimed');
    await store.close();
    const reopened = await FileJournalClaimStore.open(journal, { clock });
    expect(await reopened.claim('b', clock.now + HOUR)).toBe('duplicate');
    await reopened.close();
  });

  it('after a half-written line, the next claim cuts it off so the journal stays readable', async () => {
    const dir = await tempDir();
    const prototype = await fileHandlePrototype(dir);
    const clock = new ManualClock();
    const journal = await journalIn(dir);
    const store = await FileJournalClaimStore.open(journal, { clock });
    await store.claim('a', clock.now + HOUR);
    failNextWriteHalfway(prototype);
    expect((await rejection(store.claim('torn', clock.now + HOUR)) as ClaimStoreError).kind).toBe('unconfirmed');
    expect(await store.claim('torn', clock.now + HOUR)).toBe('duplicate');
    expect(await store.claim('c', clock.now + HOUR)).toBe('claimed');
    await store.close();
    const lines = (await fs.readFile(journal, 'utf8')).trim().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { key: string }).key)).toEqual(['a', 'c']);
  });

  it('compacts a journal that is mostly expired claims, keeping the live ones', async () => {
    const clock = new ManualClock();
    const journal = await journalIn();
    const store = await FileJournalClaimStore.open(journal, { clock, fsync: false, compactAfterLines: 50 });
    expect(await store.claim('long-lived', clock.now + HOUR)).toBe('claimed');
    for (let i = 0; i < 200; i++) {
      expect(await store.claim(`short-${i}`, clock.now + 5)).toBe('claimed');
      clock.now += 10;
    }
    await store.close();
    const lineCount = (await fs.readFile(journal, 'utf8')).trim().split('\n').length;
    expect(lineCount).toBeLessThan(100);

    const reopened = await FileJournalClaimStore.open(journal, { clock });
    expect(await reopened.claim('long-lived', clock.now + HOUR)).toBe('duplicate');
    expect(await reopened.claim('short-0', clock.now + HOUR)).toBe('claimed');
    await reopened.close();
  });

  it('refuses a second owner while the first is open, and reopens after close', async () => {
    const journal = await journalIn();
    const store = await FileJournalClaimStore.open(journal);
    const error = await rejection(FileJournalClaimStore.open(journal));
    expect(error).toBeInstanceOf(LockHeldError);
    await store.close();
    await (await FileJournalClaimStore.open(journal)).close();
  });

  it('a key acknowledged as claimed stays claimed after SIGKILL and restart', async () => {
    const journal = await journalIn();
    const fixture = fileURLToPath(new URL('./crash-fixture.ts', import.meta.url));
    const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, journal], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const acknowledged = (): string[] =>
      stdout
        .split('\n')
        .slice(0, -1) // a line still being received is not an acknowledgement
        .filter((line) => line.startsWith('claimed '))
        .map((line) => line.slice('claimed '.length));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`child made too little progress: ${stderr}`)), 60_000);
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          if (acknowledged().length >= 50) {
            clearTimeout(timer);
            resolve();
          }
        });
        void exited.then(() => reject(new Error(`child exited early: ${stderr}`)));
      });
      // While the child is alive it owns the journal.
      const refused = await rejection(FileJournalClaimStore.open(journal));
      expect((refused as LockHeldError).ownerPid).toBe(child.pid);
    } finally {
      child.kill('SIGKILL');
    }
    expect(await exited).toBe('SIGKILL');

    const claimedKeys = acknowledged();
    expect(claimedKeys.length).toBeGreaterThanOrEqual(50);
    // The dead child's lock is stale and is taken over.
    const store = await FileJournalClaimStore.open(journal);
    for (const key of claimedKeys) expect(await store.claim(key, Date.now() + HOUR), key).toBe('duplicate');
    await store.close();
  });
});

/** Holds the next datasync until released, then lets it run (or fail with `error`). */
function holdNextDatasync(prototype: fs.FileHandle, error?: Error): { started: Promise<void>; release: () => void } {
  const realDatasync = prototype.datasync;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let started!: () => void;
  const startedPromise = new Promise<void>((resolve) => (started = resolve));
  vi.spyOn(prototype, 'datasync').mockImplementationOnce(async function (this: fs.FileHandle) {
    started();
    await released;
    if (error) throw error;
    return realDatasync.call(this);
  });
  return { started: startedPromise, release };
}

/** Lets every pending promise callback and a few I/O rounds run. */
const aWhile = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

describe('FileJournalClaimStore: group commit', () => {
  it('concurrent claims of different keys share one datasync', async () => {
    const dir = await tempDir();
    const prototype = await fileHandlePrototype(dir);
    const clock = new ManualClock();
    const journal = await journalIn(dir);
    const store = await FileJournalClaimStore.open(journal, { clock });
    const datasync = vi.spyOn(prototype, 'datasync');
    const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`);
    expect(await Promise.all(keys.map((key) => store.claim(key, clock.now + HOUR)))).toEqual(keys.map(() => 'claimed'));
    expect(datasync).toHaveBeenCalledTimes(1);
    await store.close();
    const lines = (await fs.readFile(journal, 'utf8')).trim().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { key: string }).key)).toEqual(keys);
  });

  it('of N concurrent claims of each of several keys exactly one wins per key, and they share flushes', async () => {
    const dir = await tempDir();
    const prototype = await fileHandlePrototype(dir);
    const clock = new ManualClock();
    const journal = await journalIn(dir);
    const store = await FileJournalClaimStore.open(journal, { clock });
    const datasync = vi.spyOn(prototype, 'datasync');
    const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    const calls = Array.from({ length: 10 }, () => keys).flat(); // a b c … h a b c … h …
    const results = await Promise.all(calls.map((key) => store.claim(key, clock.now + HOUR)));
    for (const key of keys) {
      const outcomes = results.filter((_, i) => calls[i] === key);
      expect(outcomes.filter((outcome) => outcome === 'claimed'), key).toHaveLength(1);
      expect(outcomes.filter((outcome) => outcome === 'duplicate'), key).toHaveLength(9);
    }
    expect(datasync).toHaveBeenCalledTimes(1);
    await store.close();
    const lines = (await fs.readFile(journal, 'utf8')).trim().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { key: string }).key)).toEqual(keys);
  });

  it('a duplicate of a key whose claim is still being written waits for it, then answers "duplicate"', async () => {
    const dir = await tempDir();
    const prototype = await fileHandlePrototype(dir);
    const clock = new ManualClock();
    const store = await FileJournalClaimStore.open(await journalIn(dir), { clock });
    const held = holdNextDatasync(prototype);
    const first = store.claim('k', clock.now + HOUR);
    await held.started;
    let secondAnswered = false;
    const second = store.claim('k', clock.now + HOUR).finally(() => (secondAnswered = true));
    const other = store.claim('other', clock.now + HOUR); // a different key is not held up by 'k'…
    await aWhile();
    expect(secondAnswered).toBe(false); // …but a duplicate is: the first claim is not durable yet
    held.release();
    expect(await Promise.all([first, second, other])).toEqual(['claimed', 'duplicate', 'claimed']);
    await store.close();
  });

  it('duplicates of a claim that turns out unconfirmed answer "duplicate": the key stays burnt', async () => {
    const dir = await tempDir();
    const prototype = await fileHandlePrototype(dir);
    const clock = new ManualClock();
    const store = await FileJournalClaimStore.open(await journalIn(dir), { clock });
    const held = holdNextDatasync(prototype, ioError('EIO'));
    const first = store.claim('k', clock.now + HOUR);
    const neighbour = store.claim('n', clock.now + HOUR); // same flush: fails with it
    await held.started;
    const duplicates = Array.from({ length: 5 }, () => store.claim('k', clock.now + HOUR));
    held.release();
    expect((await rejection(first) as ClaimStoreError).kind).toBe('unconfirmed');
    expect((await rejection(neighbour) as ClaimStoreError).kind).toBe('unconfirmed');
    expect(await Promise.all(duplicates)).toEqual(Array.from({ length: 5 }, () => 'duplicate'));
    await store.close();
  });

  it('when the claim it waited for failed with nothing written, a duplicate claims the key itself', async () => {
    const dir = await tempDir();
    const prototype = await fileHandlePrototype(dir);
    const clock = new ManualClock();
    const journal = await journalIn(dir);
    const store = await FileJournalClaimStore.open(journal, { clock });
    // A failed flush leaves the journal to be cut back; then the cut-back fails once, so the next
    // flush writes nothing and its claims are 'unavailable'.
    vi.spyOn(prototype, 'datasync').mockRejectedValueOnce(ioError('EIO'));
    expect((await rejection(store.claim('x', clock.now + HOUR)) as ClaimStoreError).kind).toBe('unconfirmed');
    vi.spyOn(prototype, 'truncate').mockRejectedValueOnce(ioError('EIO'));
    const outcomes = await Promise.allSettled([store.claim('k', clock.now + HOUR), store.claim('k', clock.now + HOUR), store.claim('k', clock.now + HOUR)]);
    expect(outcomes[0]).toMatchObject({ status: 'rejected', reason: { kind: 'unavailable' } });
    expect(outcomes.slice(1)).toEqual([
      { status: 'fulfilled', value: 'claimed' },
      { status: 'fulfilled', value: 'duplicate' },
    ]);
    await store.close();
    const lines = (await fs.readFile(journal, 'utf8')).trim().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { key: string }).key)).toEqual(['k']);
  });

  it('a compaction while claims are being written keeps every acknowledged claim', async () => {
    const clock = new ManualClock();
    const journal = await journalIn();
    const store = await FileJournalClaimStore.open(journal, { clock, compactAfterLines: 20 });
    await Promise.all(Array.from({ length: 19 }, (_, i) => store.claim(`short-${i}`, clock.now + 5)));
    clock.now += 10; // all expired: the next claims make the journal due for compaction
    const keys = Array.from({ length: 200 }, (_, i) => `long-${i}`);
    // Bounded: 200 claims in waves of 20, each wave concurrent, overlapping the compaction.
    const results: string[] = [];
    for (let wave = 0; wave < 10; wave++) {
      results.push(...(await Promise.all(keys.slice(20 * wave, 20 * wave + 20).map((key) => store.claim(key, clock.now + HOUR)))));
    }
    expect(results).toEqual(keys.map(() => 'claimed'));
    await store.close();
    const lines = (await fs.readFile(journal, 'utf8')).trim().split('\n').map((line) => (JSON.parse(line) as { key: string }).key);
    expect(lines.filter((key) => key.startsWith('short-'))).toEqual([]); // compacted
    const reopened = await FileJournalClaimStore.open(journal, { clock });
    for (const key of keys) expect(await reopened.claim(key, clock.now + HOUR), key).toBe('duplicate');
    await reopened.close();
  });
});
