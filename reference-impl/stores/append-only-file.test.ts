import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AppendFailedError, AppendOnlyFile } from './append-only-file.ts';
import { failNextWriteHalfway, fileHandlePrototype, ioError, useTempDirs } from './test-support.ts';

const tempDir = useTempDirs();
afterEach(() => {
  vi.restoreAllMocks();
});

describe('AppendOnlyFile', () => {
  it('returns the appended lines on reopen', async () => {
    const file = path.join(await tempDir(), 'log');
    const first = await AppendOnlyFile.open(file, { fsync: true });
    expect(first.lines).toEqual([]);
    await first.file.appendLine('one');
    await first.file.appendLine('two');
    expect(await first.file.readLines()).toEqual(['one', 'two']);
    await first.file.close();
    const second = await AppendOnlyFile.open(file, { fsync: true });
    expect(second.lines).toEqual(['one', 'two']);
    await second.file.close();
  });

  it('cuts off a torn last line on open', async () => {
    const file = path.join(await tempDir(), 'log');
    await fs.writeFile(file, 'one\ntwo\nthr');
    const opened = await AppendOnlyFile.open(file, { fsync: true });
    expect(opened.lines).toEqual(['one', 'two']);
    expect(await fs.readFile(file, 'utf8')).toBe('one\ntwo\n');
    await opened.file.appendLine('three');
    await opened.file.close();
    expect(await fs.readFile(file, 'utf8')).toBe('one\ntwo\nthree\n');
  });

  it('cuts off a half-written failed append before the next append', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'log');
    const prototype = await fileHandlePrototype(dir);
    const { file: log } = await AppendOnlyFile.open(file, { fsync: true });
    await log.appendLine('one');
    failNextWriteHalfway(prototype);
    const failed = await log.appendLine('a-long-line-that-is-torn').catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(AppendFailedError);
    expect((failed as AppendFailedError).mayHaveLanded).toBe(true);
    expect(await fs.readFile(file, 'utf8')).toMatch(/^one\na-long/); // the half line is there…
    expect(await log.readLines()).toEqual(['one']); // …but was never acknowledged
    await log.appendLine('two');
    await log.close();
    expect(await fs.readFile(file, 'utf8')).toBe('one\ntwo\n');
  });

  it('reports an fsync failure as "may have landed"', async () => {
    const dir = await tempDir();
    const prototype = await fileHandlePrototype(dir);
    const { file: log } = await AppendOnlyFile.open(path.join(dir, 'log'), { fsync: true });
    vi.spyOn(prototype, 'datasync').mockRejectedValueOnce(ioError('EIO'));
    const failed = await log.appendLine('one').catch((error: unknown) => error);
    expect((failed as AppendFailedError).mayHaveLanded).toBe(true);
    await log.appendLine('two');
    expect(await log.readLines()).toEqual(['two']);
    await log.close();
  });

  it('rewrites the file atomically and keeps appending to the new one', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'log');
    const { file: log } = await AppendOnlyFile.open(file, { fsync: true });
    for (const line of ['a', 'b', 'c']) await log.appendLine(line);
    await log.replaceWith(['b']);
    await log.appendLine('d');
    await log.close();
    expect(await fs.readFile(file, 'utf8')).toBe('b\nd\n');
    expect((await fs.readdir(dir)).sort()).toEqual(['log']);
  });

  it('discards the temp file of a rewrite that crashed before its rename', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'log');
    await fs.writeFile(file, 'a\n');
    await fs.writeFile(`${file}.tmp`, 'half a rewri');
    const opened = await AppendOnlyFile.open(file, { fsync: true });
    expect(opened.lines).toEqual(['a']);
    await opened.file.close();
    expect(await fs.readdir(dir)).toEqual(['log']);
  });

  it('refuses appends once closed, saying nothing was written', async () => {
    const { file: log } = await AppendOnlyFile.open(path.join(await tempDir(), 'log'), { fsync: true });
    await log.close();
    const failed = await log.appendLine('x').catch((error: unknown) => error);
    expect((failed as AppendFailedError).mayHaveLanded).toBe(false);
  });

  it('refuses a file that is not UTF-8', async () => {
    const file = path.join(await tempDir(), 'log');
    await fs.writeFile(file, Buffer.from([0x61, 0xff, 0x0a]));
    await expect(AppendOnlyFile.open(file, { fsync: true })).rejects.toThrow(/not valid UTF-8/);
    await expect(fs.access(`${file}.lock`)).rejects.toThrow(); // the lock was released
  });
});

/** Holds the next datasync until `release` is called, then lets it run (or fail with `error`). */
function holdNextDatasync(prototype: fs.FileHandle, error?: Error): { started: Promise<void>; release: () => void } {
  const realDatasync = prototype.datasync;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let started!: () => void;
  const startedPromise = new Promise<void>((resolve) => (started = resolve));
  vi.spyOn(prototype, 'datasync').mockImplementationOnce(async function (this: fs.FileHandle) {
    started();
    await released;
    if (error) throw error;
    return realDatasync.call(this);
  });
  return { started: startedPromise, release };
}

async function settled<T>(promises: Promise<T>[]): Promise<PromiseSettledResult<T>[]> {
  return Promise.allSettled(promises);
}

describe('AppendOnlyFile: group commit', () => {
  it('N concurrent appends share one write and one datasync, in call order', async () => {
    const dir = await tempDir();
    const prototype = await fileHandlePrototype(dir);
    const file = path.join(dir, 'log');
    const { file: log } = await AppendOnlyFile.open(file, { fsync: true });
    const datasync = vi.spyOn(prototype, 'datasync');
    const write = vi.spyOn(prototype, 'write');
    const lines = Array.from({ length: 50 }, (_, i) => `line-${i}`);
    await Promise.all(lines.map((line) => log.appendLine(line)));
    expect(datasync).toHaveBeenCalledTimes(1);
    expect(write).toHaveBeenCalledTimes(1);
    await log.close();
    expect(await fs.readFile(file, 'utf8')).toBe(lines.map((line) => `${line}\n`).join(''));
  });

  it('appends made while a flush runs are written together by the next one', async () => {
    const dir = await tempDir();
    const prototype = await fileHandlePrototype(dir);
    const file = path.join(dir, 'log');
    const { file: log } = await AppendOnlyFile.open(file, { fsync: true });
    const held = holdNextDatasync(prototype);
    const datasync = vi.spyOn(prototype, 'datasync');
    const order: string[] = [];
    const first = log.appendLine('first').then(() => order.push('first'));
    await held.started; // the first flush is in its datasync
    const later = Array.from({ length: 20 }, (_, i) => log.appendLine(`later-${i}`).then(() => order.push(`later-${i}`)));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(order).toEqual([]); // nothing is acknowledged before its datasync returned
    held.release();
    await Promise.all([first, ...later]);
    expect(datasync).toHaveBeenCalledTimes(2);
    expect(order).toEqual(['first', ...Array.from({ length: 20 }, (_, i) => `later-${i}`)]);
    await log.close();
    expect((await fs.readFile(file, 'utf8')).split('\n').slice(0, -1)).toEqual(['first', ...Array.from({ length: 20 }, (_, i) => `later-${i}`)]);
  });

  it('a failed datasync fails every append of its flush ("may have landed"), and they are cut off before the next', async () => {
    const dir = await tempDir();
    const prototype = await fileHandlePrototype(dir);
    const file = path.join(dir, 'log');
    const { file: log } = await AppendOnlyFile.open(file, { fsync: true });
    await log.appendLine('acknowledged');
    const held = holdNextDatasync(prototype, ioError('EIO'));
    const doomed = Array.from({ length: 10 }, (_, i) => log.appendLine(`doomed-${i}`));
    await held.started;
    // The bytes of the failing flush are in the file now, past the acknowledged end.
    expect(await fs.readFile(file, 'utf8')).toMatch(/^acknowledged\ndoomed-0\n/);
    const queuedBehind = Array.from({ length: 5 }, (_, i) => log.appendLine(`behind-${i}`));
    held.release();
    const outcomes = await settled(doomed);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(AppendFailedError);
      expect(((outcome as PromiseRejectedResult).reason as AppendFailedError).mayHaveLanded).toBe(true);
    }
    // Appends queued behind the failed flush are written after the file was cut back.
    await Promise.all(queuedBehind);
    expect(await log.readLines()).toEqual(['acknowledged', ...Array.from({ length: 5 }, (_, i) => `behind-${i}`)]);
    await log.close();
    expect(await fs.readFile(file, 'utf8')).toBe(`acknowledged\n${Array.from({ length: 5 }, (_, i) => `behind-${i}\n`).join('')}`);
  });

  it('when the file cannot be cut back, the next flush fails saying nothing was written, and the one after repairs', async () => {
    const dir = await tempDir();
    const prototype = await fileHandlePrototype(dir);
    const file = path.join(dir, 'log');
    const { file: log } = await AppendOnlyFile.open(file, { fsync: true });
    await log.appendLine('one');
    vi.spyOn(prototype, 'datasync').mockRejectedValueOnce(ioError('EIO'));
    await expect(log.appendLine('lost')).rejects.toMatchObject({ mayHaveLanded: true });
    vi.spyOn(prototype, 'truncate').mockRejectedValueOnce(ioError('EIO'));
    const refused = await settled([log.appendLine('a'), log.appendLine('b')]);
    expect(refused.map((outcome) => (outcome as PromiseRejectedResult).reason?.mayHaveLanded)).toEqual([false, false]);
    await log.appendLine('two');
    await log.close();
    expect(await fs.readFile(file, 'utf8')).toBe('one\ntwo\n');
  });

  it('a line given as a function is made at flush time, knowing the line before it; if it throws only its append fails', async () => {
    const dir = await tempDir();
    const prototype = await fileHandlePrototype(dir);
    const file = path.join(dir, 'log');
    await fs.writeFile(file, 'zero\n');
    const { file: log } = await AppendOnlyFile.open(file, { fsync: true });
    const seen: string[] = [];
    const after = (name: string) => ({ previousLine, index }: { previousLine: string | undefined; index: number }) => {
      seen.push(`${name}<-${previousLine}@${index}`);
      return name;
    };
    const results = await settled([
      log.appendLine(after('a')),
      log.appendLine(() => {
        throw new RangeError('refused');
      }),
      log.appendLine(after('b')),
      log.appendLine('with\nnewline'),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(RangeError);
    expect(seen).toEqual(['a<-zero@1', 'b<-a@2']);
    // After a failed flush the next line is made against the last acknowledged line.
    vi.spyOn(prototype, 'datasync').mockRejectedValueOnce(ioError('EIO'));
    await expect(log.appendLine(after('failed'))).rejects.toBeInstanceOf(AppendFailedError);
    await log.appendLine(after('c'));
    expect(seen.slice(2)).toEqual(['failed<-b@3', 'c<-b@3']);
    await log.close();
    expect(await fs.readFile(file, 'utf8')).toBe('zero\na\nb\nc\n');
  });

  it('replaceWith waits for the flush in progress; its transform sees what is acknowledged; later appends go to the new file', async () => {
    const dir = await tempDir();
    const prototype = await fileHandlePrototype(dir);
    const file = path.join(dir, 'log');
    const { file: log } = await AppendOnlyFile.open(file, { fsync: true });
    await log.appendLine('old');
    const held = holdNextDatasync(prototype);
    const inFlight = log.appendLine('in-flight');
    await held.started;
    const queued = log.appendLine('queued-before');
    let sawAtRewrite: string[] = [];
    const replaced = log.replaceWith((acknowledged) => {
      sawAtRewrite = acknowledged;
      return acknowledged.filter((line) => line !== 'old');
    });
    const after = log.appendLine('after');
    held.release();
    await Promise.all([inFlight, queued, replaced, after]);
    expect(sawAtRewrite).toEqual(['old', 'in-flight', 'queued-before']);
    await log.close();
    expect(await fs.readFile(file, 'utf8')).toBe('in-flight\nqueued-before\nafter\n');
  });

  it('groupCommit: false writes one line per datasync (the behaviour before group commit)', async () => {
    const dir = await tempDir();
    const prototype = await fileHandlePrototype(dir);
    const { file: log } = await AppendOnlyFile.open(path.join(dir, 'log'), { fsync: true, groupCommit: false });
    const datasync = vi.spyOn(prototype, 'datasync');
    await Promise.all(Array.from({ length: 10 }, (_, i) => log.appendLine(`line-${i}`)));
    expect(datasync).toHaveBeenCalledTimes(10);
    expect(await log.readLines()).toEqual(Array.from({ length: 10 }, (_, i) => `line-${i}`));
    await log.close();
  });

  it('close writes the appends already called, then refuses new ones', async () => {
    const file = path.join(await tempDir(), 'log');
    const { file: log } = await AppendOnlyFile.open(file, { fsync: true });
    const called = Array.from({ length: 5 }, (_, i) => log.appendLine(`line-${i}`));
    const closed = log.close();
    await expect(log.appendLine('too late')).rejects.toMatchObject({ mayHaveLanded: false });
    await Promise.all([...called, closed]);
    expect(await fs.readFile(file, 'utf8')).toBe(Array.from({ length: 5 }, (_, i) => `line-${i}\n`).join(''));
    await expect(fs.access(`${file}.lock`)).rejects.toThrow(); // released
  });
});
