/**
 * Where the Gate keeps final audit records the audit log refused, until it takes them: durable,
 * so a crash during an audit outage loses nothing (INV-5). Drained in order, at least once — a
 * crash between appending the head and removing it writes that record twice, never zero times.
 */
import { AppendOnlyFile } from '../stores/append-only-file.ts';
import type { AuditEntry } from './audit-log.ts';

export interface AuditSpool {
  /** resolves once the entry is durable */
  push(entry: AuditEntry): Promise<void>;
  peek(): AuditEntry | undefined;
  /** removes the head, after it was appended to the audit log */
  shift(): Promise<void>;
  readonly size: number;
  close(): Promise<void>;
}

/** In process memory: durable only as long as whoever holds it (an in-process harness's "disk"). */
export class MemoryAuditSpool implements AuditSpool {
  private readonly entries: AuditEntry[] = [];
  async push(entry: AuditEntry): Promise<void> {
    this.entries.push(structuredClone(entry));
  }
  peek(): AuditEntry | undefined {
    return this.entries[0];
  }
  async shift(): Promise<void> {
    this.entries.shift();
  }
  get size(): number {
    return this.entries.length;
  }
  async close(): Promise<void> {}
}

/**
 * A spool file (one JSON entry per line, fsync'ed), rewritten atomically as entries drain.
 * Concurrent pushes share one fsync (group commit, AppendOnlyFile); `entries` holds exactly the
 * acknowledged lines, in file order. A shift drops the file's first acknowledged line — the head
 * the caller peeked — and keeps every line acknowledged meanwhile, even one whose push has not
 * returned yet.
 */
export class FileAuditSpool implements AuditSpool {
  private constructor(
    private readonly file: AppendOnlyFile,
    private readonly entries: AuditEntry[],
  ) {}

  static async open(path: string, options: { fsync?: boolean; groupCommit?: boolean } = {}): Promise<FileAuditSpool> {
    const { file, lines } = await AppendOnlyFile.open(path, { fsync: options.fsync ?? true, groupCommit: options.groupCommit ?? true });
    return new FileAuditSpool(file, lines.map((line) => JSON.parse(line) as AuditEntry));
  }

  async push(entry: AuditEntry): Promise<void> {
    await this.file.appendLine(JSON.stringify(entry));
    this.entries.push(entry);
  }
  peek(): AuditEntry | undefined {
    return this.entries[0];
  }
  async shift(): Promise<void> {
    if (this.entries.length === 0) return;
    await this.file.replaceWith((acknowledged) => acknowledged.slice(1));
    this.entries.shift();
  }
  get size(): number {
    return this.entries.length;
  }
  async close(): Promise<void> {
    await this.file.close();
  }
}
