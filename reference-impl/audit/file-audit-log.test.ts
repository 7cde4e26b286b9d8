import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseStrictJson } from '../../model/profile/canonical-json.ts';
import { LockHeldError } from '../stores/lock-file.ts';
import { failNextWriteHalfway, fileHandlePrototype, ioError, ManualClock, useTempDirs } from '../stores/test-support.ts';
import { AuditLogError, exportJson, exportNdjson, verifyChain } from './audit-log.ts';
import { denialEntry } from './audit-test-entries.ts';
import { FileAuditLog } from './file-audit-log.ts';

const tempDir = useTempDirs();
afterEach(() => {
  vi.restoreAllMocks();
});

async function logPath(dir?: string): Promise<string> {
  return path.join(dir ?? (await tempDir()), 'audit.ndjson');
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

/** A closed log file holding `count` records. */
async function writtenLog(file: string, count: number): Promise<void> {
  const log = await FileAuditLog.open(file, { clock: new ManualClock() });
  for (let i = 0; i < count; i++) await log.append(denialEntry(i));
  await log.close();
}

describe('FileAuditLog', () => {
  it('keeps a valid chain over many appends, stored as canonical NDJSON', async () => {
    const file = await logPath();
    const log = await FileAuditLog.open(file, { clock: new ManualClock() });
    const appended = [];
    for (let i = 0; i < 100; i++) appended.push(await log.append(denialEntry(i)));
    const records = await log.records();
    await log.close();
    expect(records).toEqual(appended);
    expect(verifyChain(records)).toEqual({ ok: true });
    expect(await fs.readFile(file, 'utf8')).toBe(exportNdjson(records));
  });

  it('chains concurrent appends in call order', async () => {
    const log = await FileAuditLog.open(await logPath());
    const appended = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(denialEntry(i))));
    const records = await log.records();
    await log.close();
    expect(verifyChain(records)).toEqual({ ok: true });
    expect(records.map((record) => record.record_id)).toEqual(appended.map((record) => record.record_id));
  });

  it('keeps its records across reopen and continues the chain', async () => {
    const file = await logPath();
    await writtenLog(file, 3);
    const log = await FileAuditLog.open(file);
    const before = await log.records();
    expect(before).toHaveLength(3);
    const next = await log.append(denialEntry(3));
    expect(next.prev_hash).toBe(before[2]!.record_hash);
    expect(next.record_id).toMatch(/^rec-3-/);
    const after = await log.records();
    await log.close();
    expect(after).toHaveLength(4);
    expect(verifyChain(after)).toEqual({ ok: true });
  });

  it('refuses to open a log with an edited middle line, naming the line', async () => {
    const file = await logPath();
    await writtenLog(file, 5);
    const lines = (await fs.readFile(file, 'utf8')).split('\n');
    lines[2] = lines[2]!.replace('"identity":"alice"', '"identity":"mallory"');
    await fs.writeFile(file, lines.join('\n'));
    const error = await rejection(FileAuditLog.open(file));
    expect(error).toBeInstanceOf(AuditLogError);
    expect(error).toMatchObject({ kind: 'corrupt', line: 3 });
    expect((error as Error).message).toContain('line 3');
    await expect(fs.access(`${file}.lock`)).rejects.toThrow(); // not left locked
  });

  it('refuses to open a log with a deleted middle line or a line that is not JSON', async () => {
    const file = await logPath();
    await writtenLog(file, 4);
    const lines = (await fs.readFile(file, 'utf8')).split('\n');
    await fs.writeFile(file, lines.filter((_, i) => i !== 1).join('\n'));
    expect(await rejection(FileAuditLog.open(file))).toMatchObject({ kind: 'corrupt', line: 2 });
    await fs.writeFile(file, [lines[0], '{"half":', lines[1], ''].join('\n'));
    expect(await rejection(FileAuditLog.open(file))).toMatchObject({ kind: 'corrupt', line: 2 });
  });

  it('drops a torn last line, truncates it, and continues the chain', async () => {
    const file = await logPath();
    await writtenLog(file, 3);
    const intact = await fs.readFile(file, 'utf8');
    const lastLine = intact.trimEnd().split('\n').at(-1)!;
    await fs.appendFile(file, lastLine.slice(0, 40));
    const log = await FileAuditLog.open(file);
    expect(await fs.readFile(file, 'utf8')).toBe(intact);
    expect(await log.records()).toHaveLength(3);
    await log.append(denialEntry(3));
    const records = await log.records();
    await log.close();
    expect(verifyChain(records)).toEqual({ ok: true });
  });

  it('a failed append is not in the chain, and the log keeps working', async () => {
    const dir = await tempDir();
    const prototype = await fileHandlePrototype(dir);
    const file = await logPath(dir);
    const log = await FileAuditLog.open(file);
    await log.append(denialEntry(0));
    vi.spyOn(prototype, 'datasync').mockRejectedValueOnce(ioError('EIO'));
    expect(await rejection(log.append(denialEntry(1)))).toMatchObject({ kind: 'unavailable' });
    failNextWriteHalfway(prototype);
    expect(await rejection(log.append(denialEntry(2)))).toMatchObject({ kind: 'unavailable' });
    await log.append(denialEntry(3));
    await log.close();
    const reopened = await FileAuditLog.open(file);
    const records = await reopened.records();
    await reopened.close();
    expect(records.map((record) => record.request_id)).toEqual(['req-0', 'req-3']);
    expect(verifyChain(records)).toEqual({ ok: true });
  });

  it('exports that parse back and verify', async () => {
    const file = await logPath();
    await writtenLog(file, 6);
    const log = await FileAuditLog.open(file);
    const records = await log.records();
    await log.close();
    expect(verifyChain(parseStrictJson(exportJson(records)) as unknown[])).toEqual({ ok: true });
    const ndjson = exportNdjson(records).trimEnd().split('\n').map((line) => parseStrictJson(line));
    expect(ndjson).toEqual(records);
    expect(verifyChain(ndjson)).toEqual({ ok: true });
  });

  it('has one owner at a time', async () => {
    const file = await logPath();
    const log = await FileAuditLog.open(file);
    expect(await rejection(FileAuditLog.open(file))).toBeInstanceOf(LockHeldError);
    await log.close();
    await (await FileAuditLog.open(file)).close();
  });

  it('refuses appends and reads once closed', async () => {
    const log = await FileAuditLog.open(await logPath());
    await log.close();
    await log.close(); // idempotent
    expect(await rejection(log.append(denialEntry(0)))).toMatchObject({ kind: 'unavailable' });
    expect(await rejection(log.records())).toMatchObject({ kind: 'unavailable' });
  });
});

/** Holds the next datasync until released, then lets it run (or fail with `error`). */
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

describe('FileAuditLog: group commit', () => {
  it('concurrent appends share one datasync and are chained in call order', async () => {
    const dir = await tempDir();
    const prototype = await fileHandlePrototype(dir);
    const file = await logPath(dir);
    const log = await FileAuditLog.open(file, { clock: new ManualClock() });
    const datasync = vi.spyOn(prototype, 'datasync');
    const appended = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(denialEntry(i))));
    expect(datasync).toHaveBeenCalledTimes(1);
    expect(appended.map((record) => record.request_id)).toEqual(Array.from({ length: 50 }, (_, i) => `req-${i}`));
    const records = await log.records();
    await log.close();
    expect(records).toEqual(appended);
    expect(verifyChain(records)).toEqual({ ok: true });
    expect(records.map((record) => record.record_id.split('-')[1])).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
  });

  it('a flush that fails in the middle of a pipeline fails all its records; the next chains to the last durable one', async () => {
    const dir = await tempDir();
    const prototype = await fileHandlePrototype(dir);
    const file = await logPath(dir);
    const log = await FileAuditLog.open(file, { clock: new ManualClock() });
    const first = holdNextDatasync(prototype);
    const failing = holdNextDatasync(prototype, ioError('EIO'));
    // Flush 1: record 0, held in its datasync while records 1–5 queue up behind it.
    const durable = log.append(denialEntry(0));
    await first.started;
    const doomed = Array.from({ length: 5 }, (_, i) => log.append(denialEntry(1 + i)));
    first.release();
    // Flush 2: records 1–5, chained to 0 and to each other, held while records 6–8 queue up; then it fails.
    await failing.started;
    const written = await fs.readFile(file, 'utf8');
    expect(written.trimEnd().split('\n')).toHaveLength(6); // 1–5 are in the file, not yet durable
    const after = Array.from({ length: 3 }, (_, i) => log.append(denialEntry(6 + i)));
    failing.release();
    const zero = await durable;
    for (const outcome of await Promise.allSettled(doomed)) {
      expect(outcome).toMatchObject({ status: 'rejected', reason: { kind: 'unavailable' } });
    }
    // Flush 3: the head went back to record 0; 6–8 follow it, with no gap.
    const [six, seven, eight] = await Promise.all(after);
    expect(six!.prev_hash).toBe(zero.record_hash);
    expect(seven!.prev_hash).toBe(six!.record_hash);
    expect(eight!.prev_hash).toBe(seven!.record_hash);
    const next = await log.append(denialEntry(9));
    expect(next.prev_hash).toBe(eight!.record_hash);
    await log.close();
    const reopened = await FileAuditLog.open(file);
    const records = await reopened.records();
    await reopened.close();
    expect(verifyChain(records)).toEqual({ ok: true });
    expect(records.map((record) => record.request_id)).toEqual(['req-0', 'req-6', 'req-7', 'req-8', 'req-9']);
  });

  it('an entry that makes no valid record fails alone; the records around it chain past it', async () => {
    const log = await FileAuditLog.open(await logPath());
    const { code: _code, ...withoutCode } = denialEntry(1);
    const outcomes = await Promise.allSettled([log.append(denialEntry(0)), log.append(withoutCode), log.append(denialEntry(2))]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ kind: 'invalid-entry' });
    const records = await log.records();
    await log.close();
    expect(records.map((record) => record.request_id)).toEqual(['req-0', 'req-2']);
    expect(verifyChain(records)).toEqual({ ok: true });
  });
});
