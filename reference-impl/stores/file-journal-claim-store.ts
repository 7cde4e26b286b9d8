/**
 * A crash-durable ClaimStore for one process: an append-only journal, one JSON line per claim
 * (`{"key":…,"expires_at_ms":…}`), replayed into memory on open.
 *
 * - "claimed" is answered only after the claim's line is written and fdatasync'ed, so a key once
 *   answered "claimed" is "duplicate" after any crash and restart (until it expires).
 * - Group commit: claims of different keys run at the same time and share one write and one
 *   fdatasync (AppendOnlyFile). Claims of one key do not: the first is written, the others wait
 *   for its outcome and then decide — claimed or unconfirmed: "duplicate"; failed with nothing
 *   written ('unavailable'): the next of them claims it. So of N concurrent claims of a key exactly
 *   one wins, and "duplicate" is never answered for a claim that did not land.
 * - A write or fsync failure rejects 'unconfirmed' and the key stays claimed in memory: the line
 *   may have landed, and the key must not be admitted twice.
 * - The journal is compacted (rewritten atomically with only the live claims) once it holds more
 *   than `compactAfterLines` lines of which more than half have expired. The rewrite keeps what is
 *   acknowledged in the file at that moment, so a claim being written meanwhile is never dropped.
 * - One process owns a journal (`<path>.lock`); a second open fails with LockHeldError.
 */
import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import { AppendFailedError, AppendOnlyFile } from './append-only-file.ts';
import type { ClaimResult, ClaimStore } from './claim-store.ts';
import { ClaimStoreError } from './claim-store.ts';
import { ClaimTable, checkClaimArguments } from './claim-table.ts';
import { LockHeldError } from './lock-file.ts';

export interface FileJournalOptions {
  clock?: Clock;
  /** fdatasync before acknowledging (default true); switching it off gives up crash durability */
  fsync?: boolean;
  /** concurrent claims share one fdatasync (default true); off: one fsync per claim, for benchmarks */
  groupCommit?: boolean;
  /** compaction is considered once the journal holds this many lines (default 10,000) */
  compactAfterLines?: number;
}

interface JournalLine {
  key: string;
  expires_at_ms: number;
}

/**
 * How many times one claim waits for another claim of its key that then failed with nothing
 * written, before it gives up ('unavailable'). Each round another claimer of the key took its turn.
 */
const MAX_WAIT_ROUNDS = 64;

export class FileJournalClaimStore implements ClaimStore {
  private closed = false;
  private nextCompactionCheck: number;
  /** keys whose claim is being written: settles (never rejects) once its outcome is in `claims` */
  private readonly writing = new Map<string, Promise<void>>();
  private compaction: Promise<void> | undefined;

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
      opened = await AppendOnlyFile.open(path, { fsync: options.fsync ?? true, groupCommit: options.groupCommit ?? true });
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

  async claim(key: string, expiresAtMs: number): Promise<ClaimResult> {
    checkClaimArguments(key, expiresAtMs);
    if (this.closed) throw new ClaimStoreError('unavailable', 'claim journal is closed');
    // Bounded: every round waits for another claim of this key to settle.
    for (let round = 0; round <= MAX_WAIT_ROUNDS; round++) {
      // From here to the registration below nothing awaits: check-and-claim is atomic.
      if (this.claims.isLive(key, this.clock.nowMs())) return 'duplicate';
      const inFlight = this.writing.get(key);
      if (inFlight === undefined) {
        if (this.closed) throw new ClaimStoreError('unavailable', 'claim journal is closed');
        return this.write(key, expiresAtMs);
      }
      await inFlight;
    }
    throw new ClaimStoreError('unavailable', `claim of ${JSON.stringify(key)}: the journal kept failing other claims of this key`);
  }

  /** Refuses new claims, waits for the ones already called, then releases the journal and its lock. */
  async close(): Promise<void> {
    this.closed = true;
    // Bounded: no new writes start once closed; each round waits for the ones in flight.
    while (this.writing.size > 0 || this.compaction !== undefined) {
      await Promise.all([...this.writing.values(), this.compaction]);
    }
    await this.journal.close();
  }

  private async write(key: string, expiresAtMs: number): Promise<ClaimResult> {
    let settle!: () => void;
    this.writing.set(key, new Promise<void>((resolve) => (settle = resolve)));
    const line: JournalLine = { key, expires_at_ms: expiresAtMs };
    let nowMs: number;
    try {
      await this.journal.appendLine(JSON.stringify(line));
      nowMs = this.clock.nowMs();
      this.claims.record(key, expiresAtMs, nowMs);
    } catch (error) {
      if (error instanceof AppendFailedError && !error.mayHaveLanded) {
        throw new ClaimStoreError('unavailable', error.message, { cause: error });
      }
      // It may have landed: the key is burnt, never admitted again.
      this.claims.record(key, expiresAtMs, this.clock.nowMs());
      throw new ClaimStoreError('unconfirmed', `claim of ${JSON.stringify(key)} was not confirmed durable`, { cause: error });
    } finally {
      // The outcome is in `claims` (or nothing was written) before anyone waiting decides.
      this.writing.delete(key);
      settle();
    }
    this.lineCount++;
    if (this.lineCount >= this.nextCompactionCheck && this.compaction === undefined) {
      this.compaction = this.compactIfMostlyExpired(nowMs).finally(() => (this.compaction = undefined));
      await this.compaction;
    }
    return 'claimed';
  }

  private async compactIfMostlyExpired(nowMs: number): Promise<void> {
    this.claims.sweep(nowMs);
    if (this.lineCount > 2 * this.claims.size) {
      try {
        // What is acknowledged in the file now, not what memory says: a claim acknowledged while
        // this runs is in the file (kept) or is appended to the new one after it.
        let kept = 0;
        await this.journal.replaceWith((acknowledged) => {
          const live = acknowledged.filter((text) => {
            const entry = parseJournalLine(text);
            return entry === undefined || nowMs < entry.expires_at_ms;
          });
          kept = live.length;
          return live;
        });
        this.lineCount = kept;
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
