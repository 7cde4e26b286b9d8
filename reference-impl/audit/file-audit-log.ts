/**
 * A crash-durable AuditLog: an NDJSON file, one canonical record per line, fdatasync'ed before
 * `append` resolves. On open the whole chain is verified (a tampered log is refused, naming the
 * line), a torn last line is cut off, and the chain continues from the last record_hash.
 * One process owns the file (`<path>.lock`).
 *
 * Group commit: concurrent appends share one write and one fdatasync (AppendOnlyFile). A record
 * is sealed — given its record_id, timestamp and prev_hash — when the flusher takes it, against the
 * line that precedes it in the file: the last durable record, or the record before it in the same
 * flush. So records are chained in append order; if a flush fails, every record in it fails, and
 * the next flush chains to the last durable record again: the chain on disk never has a gap, and
 * no record is ever chained to one that was not written.
 */
import { canonicalize, parseStrictJson } from '../../model/profile/canonical-json.ts';
import type { Digest } from '../../model/profile/digest.ts';
import { ZERO_DIGEST } from '../../model/profile/digest.ts';
import type { AuditRecord } from '../../model/profile/messages.ts';
import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import { AppendOnlyFile } from '../stores/append-only-file.ts';
import { LockHeldError } from '../stores/lock-file.ts';
import type { AuditEntry, AuditLog } from './audit-log.ts';
import { AuditLogError, newRecordId, sealRecord, verifyChain } from './audit-log.ts';

export interface FileAuditLogOptions {
  clock?: Clock;
  /** fdatasync before acknowledging (default true); switching it off gives up crash durability */
  fsync?: boolean;
  /** concurrent appends share one fdatasync (default true); off: one fsync per record, for benchmarks */
  groupCommit?: boolean;
}

export class FileAuditLog implements AuditLog {
  private closed = false;
  /** the record sealed last: chaining to it needs no parse (any other line is parsed) */
  private lastSealed: { line: string; hash: Digest } | undefined;

  private constructor(
    private readonly file: AppendOnlyFile,
    private readonly clock: Clock,
  ) {}

  /**
   * Rejects with LockHeldError when another live process owns the log, with AuditLogError
   * 'corrupt' (naming the line) when the stored chain does not verify, and 'unavailable' when the
   * file cannot be opened.
   */
  static async open(path: string, options: FileAuditLogOptions = {}): Promise<FileAuditLog> {
    let opened: Awaited<ReturnType<typeof AppendOnlyFile.open>>;
    try {
      opened = await AppendOnlyFile.open(path, { fsync: options.fsync ?? true, groupCommit: options.groupCommit ?? true });
    } catch (cause) {
      if (cause instanceof LockHeldError) throw cause;
      throw new AuditLogError('unavailable', `cannot open audit log ${path}`, { cause });
    }
    try {
      parseChain(opened.lines, path);
    } catch (error) {
      await opened.file.close();
      throw error;
    }
    return new FileAuditLog(opened.file, options.clock ?? systemClock);
  }

  append(entry: AuditEntry): Promise<AuditRecord> {
    if (this.closed) return Promise.reject(new AuditLogError('unavailable', 'audit log is closed'));
    let sealed: AuditRecord | undefined;
    const written = this.file.appendLine(({ previousLine, index }) => {
      // Throws AuditLogError('invalid-entry'): this append alone fails, nothing is written for it.
      const record = sealRecord(entry, { recordId: newRecordId(index), timestampMs: Math.floor(this.clock.nowMs()), prevHash: this.hashOf(previousLine) });
      const line = canonicalize(record);
      this.lastSealed = { line, hash: record.record_hash };
      sealed = record;
      return line;
    });
    return written.then(
      () => sealed!,
      (cause: unknown) => {
        if (cause instanceof AuditLogError) throw cause;
        throw new AuditLogError('unavailable', `audit record not written durably: ${(cause as Error).message}`, { cause });
      },
    );
  }

  /** Reads the records back from the file (verifying them again), after the appends called before. */
  async records(): Promise<AuditRecord[]> {
    if (this.closed) throw new AuditLogError('unavailable', 'audit log is closed');
    let lines: string[];
    try {
      lines = await this.file.readLines();
    } catch (cause) {
      throw new AuditLogError('unavailable', `cannot read audit log ${this.file.path}`, { cause });
    }
    return parseChain(lines, this.file.path);
  }

  /** Refuses new appends, writes the ones already called, then releases the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.file.close();
  }

  /** The record_hash of a line of this file (verified at open, or sealed here). */
  private hashOf(line: string | undefined): Digest {
    if (line === undefined) return ZERO_DIGEST;
    if (line === this.lastSealed?.line) return this.lastSealed.hash;
    return (JSON.parse(line) as AuditRecord).record_hash;
  }
}

function parseChain(lines: readonly string[], path: string): AuditRecord[] {
  const records = lines.map((line, index) => {
    try {
      return parseStrictJson(line);
    } catch (cause) {
      throw new AuditLogError('corrupt', `audit log ${path} line ${index + 1} is not JSON: ${(cause as Error).message}`, { cause, line: index + 1 });
    }
  });
  const verdict = verifyChain(records);
  if (!verdict.ok) {
    const line = verdict.index + 1;
    throw new AuditLogError('corrupt', `audit log ${path} line ${line} fails verification: ${verdict.problem}`, { line });
  }
  return records as unknown as AuditRecord[];
}
