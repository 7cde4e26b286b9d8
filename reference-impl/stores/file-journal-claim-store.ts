/**
 * A crash-durable ClaimStore for one process: an append-only journal, one JSON line per claim
 * (`{"key":…,"expires_at_ms":…}`), replayed into memory on open.
 *
 * - "claimed" is answered only after the claim's line is written and fdatasync'ed, so a key once
 *   answered "claimed" is "duplicate" after any crash and restart (until it expires).
 * - Claims run one at a time (SerialQueue): of N concurrent claims of a key, exactly one wins.
 * - A write or fsync failure rejects 'unconfirmed' and the key stays claimed in memory: the line
 *   may have landed, and the key must not be admitted twice.
 * - The journal is compacted (rewritten atomically with only the live claims) once it holds more
 *   than `compactAfterLines` lines of which more than half have expired.
 * - One process owns a journal (`<path>.lock`); a second open fails with LockHeldError.
 */
import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import { AppendFailedError, AppendOnlyFile } from './append-only-file.ts';
import type { ClaimResult, ClaimStore } from './claim-store.ts';
import { ClaimStoreError } from './claim-store.ts';
import { ClaimTable, checkClaimArguments } from './claim-table.ts';
import { LockHeldError } from './lock-file.ts';
import { SerialQueue } from './serial-queue.ts';

export interface FileJournalOptions {
  clock?: Clock;
  /** fdatasync before acknowledging (default true); switching it off gives up crash durability */
  fsync?: boolean;
  /** compaction is considered once the journal holds this many lines (default 10,000) */
  compactAfterLines?: number;
}

interface JournalLine {
  key: string;
  expires_at_ms: number;
}

export class FileJournalClaimStore implements ClaimStore {
  private readonly queue = new SerialQueue();
  private closed = false;
  private nextCompactionCheck: number;

  private constructor(
    private readonly journal: AppendOnlyFile,
    private readonly claims: ClaimTable,
    private readonly clock: Clock,
    private lineCount: number,
    private readonly compactAfterLines: number,
  ) {
    this.nextCompactionCheck = Math.max(compactAfterLines, lineCount);
  }

  /**
   * Rejects with LockHeldError when another live process owns the journal, and with
   * ClaimStoreError('unavailable') when the journal cannot be opened or is corrupt.
   */
  static async open(path: string, options: FileJournalOptions = {}): Promise<FileJournalClaimStore> {
    const clock = options.clock ?? systemClock;
    let opened: Awaited<ReturnType<typeof AppendOnlyFile.open>>;
    try {
      opened = await AppendOnlyFile.open(path, { fsync: options.fsync ?? true });
    } catch (cause) {
      if (cause instanceof LockHeldError) throw cause;
      throw new ClaimStoreError('unavailable', `cannot open claim journal ${path}`, { cause });
    }
    const claims = new ClaimTable();
    const nowMs = clock.nowMs();
    for (const [index, line] of opened.lines.entries()) {
      const entry = parseJournalLine(line);
      if (entry === undefined) {
        await opened.file.close();
        // A complete line that does not parse is damage, not a torn write: refuse to guess.
        throw new ClaimStoreError('unavailable', `claim journal ${path} line ${index + 1} is corrupt`);
      }
      claims.record(entry.key, entry.expires_at_ms, nowMs);
    }
    return new FileJournalClaimStore(
      opened.file,
      claims,
      clock,
      opened.lines.length,
      options.compactAfterLines ?? 10_000,
    );
  }

  claim(key: string, expiresAtMs: number): Promise<ClaimResult> {
    return this.queue.run(async () => {
      checkClaimArguments(key, expiresAtMs);
      if (this.closed) throw new ClaimStoreError('unavailable', 'claim journal is closed');
      const nowMs = this.clock.nowMs();
      if (this.claims.isLive(key, nowMs)) return 'duplicate';
      const line: JournalLine = { key, expires_at_ms: expiresAtMs };
      try {
        await this.journal.appendLine(JSON.stringify(line));
      } catch (error) {
        if (error instanceof AppendFailedError && !error.mayHaveLanded) {
          throw new ClaimStoreError('unavailable', error.message, { cause: error });
        }
        this.claims.record(key, expiresAtMs, nowMs);
        throw new ClaimStoreError('unconfirmed', `claim of ${JSON.stringify(key)} was not confirmed durable`, { cause: error });
      }
      this.claims.record(key, expiresAtMs, nowMs);
      this.lineCount++;
      await this.compactIfMostlyExpired(nowMs);
      return 'claimed';
    });
  }

  /** Waits for the claims already queued, then releases the journal and its lock. */
  close(): Promise<void> {
    return this.queue.run(async () => {
      if (this.closed) return;
      this.closed = true;
      await this.journal.close();
    });
  }

  private async compactIfMostlyExpired(nowMs: number): Promise<void> {
    if (this.lineCount < this.nextCompactionCheck) return;
    this.claims.sweep(nowMs);
    if (this.lineCount > 2 * this.claims.size) {
      const live = [...this.claims.entries()].map(([key, expiresAtMs]) =>
        JSON.stringify({ key, expires_at_ms: expiresAtMs } satisfies JournalLine),
      );
      try {
        await this.journal.replaceWith(live);
        this.lineCount = live.length;
      } catch {
        // The claim that triggered this is already durable. If the old journal is still in use
        // nothing is lost; if not, later claims reject 'unavailable' until the store is reopened.
      }
    }
    // Doubling keeps the cost of the sweeps amortized constant per claim.
    this.nextCompactionCheck = Math.max(this.compactAfterLines, 2 * this.lineCount);
  }
}

function parseJournalLine(line: string): JournalLine | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { key, expires_at_ms } = value as Partial<Record<keyof JournalLine, unknown>>;
  if (typeof key !== 'string' || typeof expires_at_ms !== 'number' || !Number.isFinite(expires_at_ms)) return undefined;
  return { key, expires_at_ms };
}
