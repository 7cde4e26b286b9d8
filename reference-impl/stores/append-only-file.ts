/**
 * A line-oriented append-only file with one owner: what the claim journal and the file audit log
 * are built on.
 *
 * - `append` resolves only once the bytes are written and (unless fsync is off) fdatasync'ed.
 * - A crash mid-append leaves a torn last line (no final newline). It was never acknowledged, so
 *   `open` cuts it off.
 * - An append that fails may have written part of its bytes. The next append first truncates the
 *   file back to what was acknowledged, so a half line never ends up inside the file.
 * - `replaceWith` rewrites the whole file atomically (temp file, fsync, rename, fsync directory).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { acquireLock, type FileLock } from './lock-file.ts';

export interface AppendOnlyFileOptions {
  /** fdatasync every append; only tests switch it off */
  fsync: boolean;
}

export class AppendFailedError extends Error {
  override name = 'AppendFailedError';
  constructor(
    message: string,
    /** false: nothing was written; true: some or all of the bytes may be in the file */
    readonly mayHaveLanded: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const NEWLINE = 0x0a;

export class AppendOnlyFile {
  private needsRepair = false;

  private constructor(
    readonly path: string,
    /** undefined once closed, or when a rewrite could not be completed */
    private handle: fs.FileHandle | undefined,
    private readonly lock: FileLock,
    private readonly options: AppendOnlyFileOptions,
    /** bytes acknowledged so far: everything before this offset is complete lines */
    private committedLength: number,
  ) {}

  /** Takes `<path>.lock`, opens (creating) the file and returns its complete lines. */
  static async open(filePath: string, options: AppendOnlyFileOptions): Promise<{ file: AppendOnlyFile; lines: string[] }> {
    const lock = await acquireLock(`${filePath}.lock`);
    try {
      await fs.rm(temporaryPath(filePath), { force: true }); // a rewrite that crashed before its rename
      const handle = await fs.open(filePath, 'a+');
      try {
        const content = await handle.readFile();
        const committedLength = content.lastIndexOf(NEWLINE) + 1;
        if (committedLength < content.length) {
          await handle.truncate(committedLength);
          await handle.sync();
        }
        if (options.fsync) await syncDirectory(path.dirname(filePath)); // the file may be new
        const lines = splitLines(content.subarray(0, committedLength), filePath);
        return { file: new AppendOnlyFile(filePath, handle, lock, options, committedLength), lines };
      } catch (error) {
        await handle.close();
        throw error;
      }
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  /** The complete lines acknowledged so far. */
  async readLines(): Promise<string[]> {
    if (this.handle === undefined) throw new Error(`${this.path} is closed`);
    const content = await fs.readFile(this.path);
    return splitLines(content.subarray(0, this.committedLength), this.path);
  }

  /** Appends `line` and a newline; resolves once durable. Rejects with AppendFailedError. */
  async appendLine(line: string): Promise<void> {
    const handle = this.handle;
    if (handle === undefined) throw new AppendFailedError(`${this.path} is closed or unusable; reopen it`, false);
    if (this.needsRepair) {
      try {
        await handle.truncate(this.committedLength);
        await handle.sync();
      } catch (cause) {
        throw new AppendFailedError(`${this.path}: could not cut off a failed append`, false, { cause });
      }
      this.needsRepair = false;
    }
    const bytes = Buffer.from(`${line}\n`, 'utf8');
    try {
      await writeAll(handle, bytes);
      if (this.options.fsync) await handle.datasync();
    } catch (cause) {
      this.needsRepair = true;
      throw new AppendFailedError(`${this.path}: append was not confirmed`, true, { cause });
    }
    this.committedLength += bytes.length;
  }

  /** Atomically replaces the whole file with `lines`. */
  async replaceWith(lines: readonly string[]): Promise<void> {
    if (this.handle === undefined) throw new Error(`${this.path} is closed or unusable; reopen it`);
    const bytes = Buffer.from(lines.map((line) => `${line}\n`).join(''), 'utf8');
    const temporary = temporaryPath(this.path);
    try {
      const handle = await fs.open(temporary, 'w');
      try {
        await writeAll(handle, bytes);
        if (this.options.fsync) await handle.datasync();
      } finally {
        await handle.close();
      }
      await fs.rename(temporary, this.path);
    } catch (error) {
      await fs.rm(temporary, { force: true });
      throw error; // the old file is untouched and still in use
    }
    // The old handle now points at the replaced file: drop it before anything else is appended.
    // If what follows fails, the file stays unusable until reopened (fail closed).
    const old = this.handle;
    this.handle = undefined;
    await old.close().catch(() => undefined);
    if (this.options.fsync) await syncDirectory(path.dirname(this.path));
    this.handle = await fs.open(this.path, 'a');
    this.committedLength = bytes.length;
    this.needsRepair = false;
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    try {
      await handle?.close();
    } finally {
      await this.lock.release();
    }
  }
}

const temporaryPath = (filePath: string): string => `${filePath}.tmp`;

function splitLines(content: Buffer, filePath: string): string[] {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(content);
  } catch (cause) {
    throw new Error(`${filePath} is not valid UTF-8`, { cause });
  }
  return text === '' ? [] : text.slice(0, -1).split('\n');
}

async function writeAll(handle: fs.FileHandle, bytes: Buffer): Promise<void> {
  // Bounded: every round writes at least one byte or throws.
  for (let offset = 0; offset < bytes.length; ) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
    if (bytesWritten <= 0) throw new Error('write made no progress');
    offset += bytesWritten;
  }
}

/** Makes a created or renamed directory entry durable (POSIX; Windows cannot open directories). */
export async function syncDirectory(directory: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await fs.open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
