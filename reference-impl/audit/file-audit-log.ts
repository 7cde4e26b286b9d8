/**
 * A crash-durable AuditLog: an NDJSON file, one canonical record per line, fdatasync'ed before
 * `append` resolves. On open the whole chain is verified (a tampered log is refused, naming the
 * line), a torn last line is cut off, and the chain continues from the last record_hash.
 * One process owns the file (`<path>.lock`).
 */
import { canonicalize, parseStrictJson } from '../../model/profile/canonical-json.ts';
import { ZERO_DIGEST } from '../../model/profile/digest.ts';
import type { AuditRecord } from '../../model/profile/messages.ts';
import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import { AppendOnlyFile } from '../stores/append-only-file.ts';
import { LockHeldError } from '../stores/lock-file.ts';
import type { AuditEntry, AuditLog } from './audit-log.ts';
import { AuditChainWriter, AuditLogError, verifyChain } from './audit-log.ts';

export interface FileAuditLogOptions {
  clock?: Clock;
  /** fdatasync before acknowledging (default true); switching it off gives up crash durability */
  fsync?: boolean;
}

export class FileAuditLog implements AuditLog {
  private closed = false;

  private constructor(
    private readonly file: AppendOnlyFile,
    private readonly writer: AuditChainWriter,
  ) {}

  /**
   * Rejects with LockHeldError when another live process owns the log, with AuditLogError
   * 'corrupt' (naming the line) when the stored chain does not verify, and 'unavailable' when the
   * file cannot be opened.
   */
  static async open(path: string, options: FileAuditLogOptions = {}): Promise<FileAuditLog> {
    let opened: Awaited<ReturnType<typeof AppendOnlyFile.open>>;
    try {
      opened = await AppendOnlyFile.open(path, { fsync: options.fsync ?? true });
    } catch (cause) {
      if (cause instanceof LockHeldError) throw cause;
      throw new AuditLogError('unavailable', `cannot open audit log ${path}`, { cause });
    }
    let records: AuditRecord[];
    try {
      records = parseChain(opened.lines, path);
    } catch (error) {
      await opened.file.close();
      throw error;
    }
    const head = records.at(-1)?.record_hash ?? ZERO_DIGEST;
    return new FileAuditLog(opened.file, new AuditChainWriter(options.clock ?? systemClock, head, records.length));
  }

  append(entry: AuditEntry): Promise<AuditRecord> {
    return this.writer.append(entry, async (record) => {
      if (this.closed) throw new AuditLogError('unavailable', 'audit log is closed');
      try {
        await this.file.appendLine(canonicalize(record));
      } catch (cause) {
        throw new AuditLogError('unavailable', `audit record not written durably: ${(cause as Error).message}`, { cause });
      }
    });
  }

  /** Reads the records back from the file (verifying them again). */
  records(): Promise<AuditRecord[]> {
    return this.writer.exclusive(async () => {
      if (this.closed) throw new AuditLogError('unavailable', 'audit log is closed');
      return parseChain(await this.file.readLines(), this.file.path);
    });
  }

  close(): Promise<void> {
    return this.writer.exclusive(async () => {
      if (this.closed) return;
      this.closed = true;
      await this.file.close();
    });
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
