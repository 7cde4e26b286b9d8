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
