/** Helpers shared by the store and audit tests (not a test file itself). */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, vi } from 'vitest';
import type { Clock } from '../clock.ts';

/** Returns a maker of fresh temp dirs; every dir it made is removed after each test. */
export function useTempDirs(): () => Promise<string> {
  const made: string[] = [];
  afterEach(async () => {
    await Promise.all(made.splice(0).map((dir) => fs.rm(dir, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'failclosed-ref-'));
    made.push(dir);
    return dir;
  };
}

/** A clock that moves only when told to. */
export class ManualClock implements Clock {
  constructor(public now = 1_700_000_000_000) {}
  nowMs(): number {
    return this.now;
  }
}

/**
 * The FileHandle prototype, to inject I/O failures (fsync EIO, a short write) into real files.
 * Tests that spy on it restore it with vi.restoreAllMocks().
 */
export async function fileHandlePrototype(dir: string): Promise<fs.FileHandle> {
  const probe = await fs.open(path.join(dir, 'probe'), 'w');
  await probe.close();
  return Object.getPrototypeOf(probe) as fs.FileHandle;
}

export function ioError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected I/O error`), { code });
}

/** Makes the next FileHandle.write write only the first half of its bytes, then fail. */
export function failNextWriteHalfway(prototype: fs.FileHandle): void {
  type WriteBuffer = (buffer: Buffer, offset: number, length: number) => Promise<{ bytesWritten: number }>;
  const realWrite = prototype.write as unknown as WriteBuffer;
  const spy = vi.spyOn(prototype as unknown as { write: WriteBuffer }, 'write');
  spy.mockImplementationOnce(async function (this: fs.FileHandle, buffer, offset, length) {
    await realWrite.call(this, buffer, offset, Math.floor(length / 2));
    throw ioError('ENOSPC');
  });
}
