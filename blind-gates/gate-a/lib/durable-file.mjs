// An append-only file of newline-terminated lines with group commit: every append is written and
// fdatasync'ed before its promise resolves. A torn last line (crash mid-write, never acknowledged)
// is cut off when the file is opened. After close() no new write starts (fencing for restart).
import { open, mkdir } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';

export class StoreClosedError extends Error {
  constructor() { super('store closed'); }
}

export async function fsyncDir(dir) {
  const h = await open(dir, constants.O_RDONLY);
  try { await h.sync(); } finally { await h.close(); }
}

export class AppendFile {
  /** Opens (creating if needed) and returns { file, lines } with every complete line. */
  static async open(filePath) {
    await mkdir(path.dirname(filePath), { recursive: true });
    const h = await open(filePath, constants.O_RDWR | constants.O_CREAT, 0o600);
    await fsyncDir(path.dirname(filePath));
    const buf = await h.readFile();
    let end = buf.lastIndexOf(0x0a) + 1; // keep complete lines only
    if (end !== buf.length) {
      await h.truncate(end);
      await h.datasync();
    }
    const lines = end ? buf.subarray(0, end - 1).toString('utf8').split('\n') : [];
    return { file: new AppendFile(h, end), lines };
  }

  constructor(handle, size) {
    this.h = handle;
    this.size = size;
    this.queue = [];
    this.busy = null;
    this.closed = false;
  }

  /** Append lines (strings without newline) durably. Resolves once fdatasync returned. */
  append(lines) {
    if (this.closed) return Promise.reject(new StoreClosedError());
    return new Promise((resolve, reject) => {
      this.queue.push({ data: Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8'), resolve, reject });
      if (!this.busy) this.busy = this.#drain();
    });
  }

  async #drain() {
    while (this.queue.length) {
      const batch = this.queue.splice(0);
      if (this.closed) {
        for (const b of batch) b.reject(new StoreClosedError());
        continue;
      }
      const data = Buffer.concat(batch.map((b) => b.data));
      try {
        await this.#writeAll(data, this.size);
        await this.h.datasync();
        this.size += data.length;
        for (const b of batch) b.resolve();
      } catch (err) {
        // roll back a partial write so the file keeps only acknowledged lines
        await this.h.truncate(this.size).catch(() => {});
        for (const b of batch) b.reject(err);
      }
    }
    this.busy = null;
  }

  async #writeAll(data, position) {
    let off = 0;
    while (off < data.length) {
      const { bytesWritten } = await this.h.write(data, off, data.length - off, position + off);
      off += bytesWritten;
    }
  }

  /** Empty the file durably (reset, outbox drained). Waits for pending writes first. */
  async truncate() {
    await this.idle();
    await this.h.truncate(0);
    await this.h.datasync();
    this.size = 0;
  }

  /** Replace the whole content durably (compaction). */
  async rewrite(lines) {
    await this.idle();
    const data = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
    await this.h.truncate(0);
    await this.#writeAll(data, 0);
    await this.h.datasync();
    this.size = data.length;
  }

  async idle() {
    while (this.busy) await this.busy;
  }

  /** Fence: refuse new writes, let the one in flight settle, close the handle. */
  async close() {
    this.closed = true;
    await this.idle();
    await this.h.close().catch(() => {});
  }
}
