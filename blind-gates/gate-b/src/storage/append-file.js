// An append-only file of newline-terminated records, written with fsync. A write that fails is
// rolled back (truncated to the last durable length), so a failed append never leaves half a line.
import { open, mkdir, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

export class AppendFile {
  static async open(path) {
    await mkdir(dirname(path), { recursive: true });
    const fh = await open(path, 'a+');
    const text = (await fh.readFile()).toString('utf8');
    let size = Buffer.byteLength(text, 'utf8');
    const lastNewline = text.lastIndexOf('\n');
    const complete = text.slice(0, lastNewline + 1);
    const torn = size - Buffer.byteLength(complete, 'utf8');
    if (torn > 0) {
      // A crash during an append leaves an unterminated tail that was never acknowledged.
      await fh.truncate(size - torn);
      await fh.sync();
      size -= torn;
    }
    const file = new AppendFile(path, fh, size);
    return { file, lines: complete.split('\n').filter((l) => l.length > 0), tornBytes: torn };
  }

  constructor(path, fh, size) {
    this.path = path;
    this.fh = fh;
    this.size = size;
  }

  /** Append lines and fsync; on failure the file is truncated back and the error rethrown. */
  async appendLines(lines) {
    const buf = Buffer.from(lines.map((l) => l + '\n').join(''), 'utf8');
    try {
      await this.fh.write(buf, 0, buf.length, null);
      await this.fh.datasync();
      this.size += buf.length;
    } catch (err) {
      try {
        await this.fh.truncate(this.size);
      } catch {
        /* the next append will fail too; the error is reported below */
      }
      throw err;
    }
  }

  /** Replace the whole file atomically by lines (used for compaction at start-up). */
  async rewrite(lines) {
    const tmp = `${this.path}.compact`;
    const t = await open(tmp, 'w');
    await t.writeFile(lines.map((l) => l + '\n').join(''), 'utf8');
    await t.sync();
    await t.close();
    await this.fh.close();
    await rename(tmp, this.path);
    const d = await open(dirname(this.path), 'r');
    await d.sync();
    await d.close();
    this.fh = await open(this.path, 'a+');
    this.size = (await this.fh.stat()).size;
  }

  async close() {
    await this.fh.close();
  }
}

/**
 * A write queue with group commit: items pushed while a write is in flight are written together
 * in the next batch. `flush(batch)` does the I/O for a batch (and may throw).
 */
export class WriteQueue {
  constructor(flush) {
    this.flushFn = flush;
    this.queue = [];
    this.running = false;
  }

  get busy() {
    return this.running;
  }

  get length() {
    return this.queue.length;
  }

  push(item) {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.running) this.drain();
    });
  }

  async drain() {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.queue.length);
        try {
          await this.flushFn(batch.map((b) => b.item));
          for (const b of batch) b.resolve();
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
