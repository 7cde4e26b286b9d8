/**
 * A line-oriented append-only file with one owner: what the claim journal, the file audit log and
 * the audit spool are built on.
 *
 * Group commit: `appendLine` queues its line; one flusher at a time takes every line queued while
 * the previous flush ran and writes them with one write and one fdatasync. So N concurrent appends
 * cost one fsync, not N, and none is acknowledged before it is durable.
 *
 * - `appendLine` resolves only once its bytes are written and (unless fsync is off) fdatasync'ed.
 *   Appends are written, and resolve, in the order they were called: the file's order is the
 *   order of acknowledgement.
 * - A flush that fails fails every append in it (AppendFailedError, mayHaveLanded: true: some or
 *   all of the bytes may be in the file). Before the next flush writes anything, the file is cut
 *   back to the last acknowledged byte, so a half line or an unacknowledged line never ends up
 *   inside the file. If that cut fails, the next flush's appends fail with mayHaveLanded: false.
 * - A line may be given as a function, called when the flusher takes it, with the line that will
 *   precede it in the file (the last acknowledged line, or the one before it in the same flush) and
 *   its 0-based index: how the audit log chains each record to the one really written before it.
 *   If the function throws, that append alone rejects, with what it threw.
 * - A crash mid-append leaves a torn last line (no final newline). It was never acknowledged, so
 *   `open` cuts it off.
 * - `replaceWith` rewrites the whole file atomically (temp file, fsync, rename, fsync directory),
 *   exclusive with flushes: appends called before it are in the file it rewrites, appends called
 *   after it go to the new file.
 * - `groupCommit: false` flushes one line at a time (one fsync per append), as before group commit:
 *   for benchmarks that compare the two.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { acquireLock, type FileLock } from './lock-file.ts';
import { SerialQueue } from './serial-queue.ts';

export interface AppendOnlyFileOptions {
  /** fdatasync every flush; only tests and throwaway benchmarks switch it off */
  fsync: boolean;
  /** share one write and one fdatasync among the appends queued while a flush ran (default true) */
  groupCommit?: boolean;
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

/** Where a line given as a function will go: after `previousLine` (undefined: first line), at `index`. */
export interface LinePosition {
  previousLine: string | undefined;
  index: number;
}

export type LineSource = string | ((position: LinePosition) => string);

interface QueuedAppend {
  source: LineSource;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** In the queue, where an exclusive task (rewrite, read, close) stands between appends. */
interface Barrier {
  barrier: true;
}

const isAppend = (item: QueuedAppend | Barrier | undefined): item is QueuedAppend => item !== undefined && !('barrier' in item);

const NEWLINE = 0x0a;
/** One flush writes at most about this many bytes (at least one line); the rest go in the next. */
const MAX_FLUSH_BYTES = 1 << 20;

export class AppendOnlyFile {
  /** bytes past committedLength may be in the file (a failed flush): cut them off first */
  private needsRepair = false;
  /** appends not yet taken by a flush, and the exclusive tasks between them, in call order */
  private queued: (QueuedAppend | Barrier)[] = [];
  /** a flush is queued on `io`, after every exclusive task called so far, and has not taken its lines yet */
  private flushScheduled = false;
  /** no new appends (close was called) */
  private closing = false;
  private lockReleased = false;
  /** flushes, rewrites, reads and close, one at a time, in the order they were asked for */
  private readonly io = new SerialQueue();

  private constructor(
    readonly path: string,
    /** undefined once closed, or when a rewrite could not be completed */
    private handle: fs.FileHandle | undefined,
    private readonly lock: FileLock,
    private readonly options: AppendOnlyFileOptions,
    /** bytes acknowledged so far: everything before this offset is complete lines */
    private committedLength: number,
    /** the last acknowledged line, and how many there are */
    private lastLine: string | undefined,
    private lineCount: number,
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
        return { file: new AppendOnlyFile(filePath, handle, lock, options, committedLength, lines.at(-1), lines.length), lines };
      } catch (error) {
        await handle.close();
        throw error;
      }
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  /** The complete lines acknowledged, after every append called before this was written or failed. */
  readLines(): Promise<string[]> {
    return this.exclusive(async () => {
      if (this.handle === undefined) throw new Error(`${this.path} is closed`);
      return this.acknowledgedLines();
    });
  }

  /**
   * Appends a line and a newline; resolves once durable, after every append called before it.
   * Rejects with AppendFailedError, or with what a line function threw.
   */
  appendLine(source: LineSource): Promise<void> {
    if (this.closing || this.handle === undefined) {
      return Promise.reject(new AppendFailedError(`${this.path} is closed or unusable; reopen it`, false));
    }
    return new Promise<void>((resolve, reject) => {
      this.queued.push({ source, resolve, reject });
      this.scheduleFlush();
    });
  }

  /**
   * Atomically replaces the whole file, exclusive with flushes: with `lines`, or with what
   * `transform` makes of the lines acknowledged at that moment (which include every append called
   * before this that succeeded). Appends called after it go to the new file.
   */
  replaceWith(replacement: readonly string[] | ((acknowledged: string[]) => readonly string[])): Promise<void> {
    return this.exclusive(async () => {
      if (this.handle === undefined) throw new Error(`${this.path} is closed or unusable; reopen it`);
      const lines = typeof replacement === 'function' ? replacement(await this.acknowledgedLines()) : replacement;
      for (const line of lines) checkLine(line);
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
      this.lastLine = lines.at(-1);
      this.lineCount = lines.length;
      this.needsRepair = false;
    });
  }

  /** Refuses new appends, writes the ones already called, then releases the file and its lock. */
  close(): Promise<void> {
    this.closing = true;
    return this.exclusive(async () => {
      const handle = this.handle;
      this.handle = undefined;
      try {
        await handle?.close();
      } finally {
        if (!this.lockReleased) {
          this.lockReleased = true;
          await this.lock.release();
        }
      }
    });
  }

  /**
   * Runs `task` on `io` once every append called before it was written (or failed), and before
   * any append called after it: a barrier in the queue.
   */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const barrier: Barrier = { barrier: true };
    this.queued.push(barrier);
    this.flushScheduled = false; // appends called from now on need a flush queued after the task
    return this.io.run(async () => {
      // Bounded: every round takes at least one append (a flush queued before us may not have
      // taken them all: MAX_FLUSH_BYTES). Earlier barriers were removed by their own tasks.
      while (isAppend(this.queued[0])) await this.flush();
      if (this.queued[0] !== barrier) throw new Error(`${this.path}: internal error: queue out of order`);
      this.queued.shift();
      return task();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    void this.io.run(async () => {
      this.flushScheduled = false;
      await this.flush();
      // What did not fit goes in the next flush.
      if (isAppend(this.queued[0])) this.scheduleFlush();
    });
  }

  /**
   * Takes the appends at the head of the queue (up to the first barrier, at most about
   * MAX_FLUSH_BYTES) and writes them with one write and one fdatasync.
   */
  private async flush(): Promise<void> {
    const taken = this.take();
    if (taken.length === 0) return;
    const handle = this.handle;
    if (handle === undefined) {
      for (const append of taken) append.reject(new AppendFailedError(`${this.path} is closed or unusable; reopen it`, false));
      return;
    }
    if (this.needsRepair) {
      try {
        await handle.truncate(this.committedLength);
        await handle.sync();
      } catch (cause) {
        for (const append of taken) append.reject(new AppendFailedError(`${this.path}: could not cut off a failed append`, false, { cause }));
        return;
      }
      this.needsRepair = false;
    }
    // Lines given as functions are made now, in order, each knowing the line written before it.
    const written: QueuedAppend[] = [];
    const text: string[] = [];
    let previousLine = this.lastLine;
    let index = this.lineCount;
    for (const append of taken) {
      let line: string;
      try {
        line = typeof append.source === 'string' ? append.source : append.source({ previousLine, index });
        checkLine(line);
      } catch (error) {
        append.reject(error);
        continue;
      }
      written.push(append);
      text.push(line, '\n');
      previousLine = line;
      index++;
    }
    if (written.length === 0) return;
    const bytes = Buffer.from(text.join(''), 'utf8');
    try {
      await writeAll(handle, bytes);
      if (this.options.fsync) await handle.datasync();
    } catch (cause) {
      this.needsRepair = true;
      for (const append of written) append.reject(new AppendFailedError(`${this.path}: append was not confirmed`, true, { cause }));
      return;
    }
    this.committedLength += bytes.length;
    this.lastLine = previousLine;
    this.lineCount = index;
    for (const append of written) append.resolve();
  }

  private take(): QueuedAppend[] {
    const limit = this.options.groupCommit === false ? 1 : Number.POSITIVE_INFINITY;
    let bytes = 0;
    let count = 0;
    // Bounded by the queue's length.
    for (let item = this.queued[0]; isAppend(item) && count < limit && (count === 0 || bytes < MAX_FLUSH_BYTES); item = this.queued[count]) {
      bytes += typeof item.source === 'string' ? item.source.length : 1024;
      count++;
    }
    return this.queued.splice(0, count) as QueuedAppend[];
  }

  private async acknowledgedLines(): Promise<string[]> {
    const content = await fs.readFile(this.path);
    return splitLines(content.subarray(0, this.committedLength), this.path);
  }
}

const temporaryPath = (filePath: string): string => `${filePath}.tmp`;

function checkLine(line: string): void {
  if (typeof line !== 'string' || line.includes('\n')) throw new TypeError('a line must be a string without a newline');
}

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
