import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireLock, LockHeldError } from './lock-file.ts';
import { useTempDirs } from './test-support.ts';

const tempDir = useTempDirs();

/** The pid of a process that has already exited (and been reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  if (child.pid === undefined) throw new Error('could not spawn');
  return child.pid;
}

describe('acquireLock', () => {
  it('creates the lock file with our pid and removes it on release', async () => {
    const lockPath = path.join(await tempDir(), 'journal.lock');
    const lock = await acquireLock(lockPath);
    expect((await fs.readFile(lockPath, 'utf8')).trim().split(' ')[0]).toBe(String(process.pid));
    await lock.release();
    await expect(fs.access(lockPath)).rejects.toThrow();
  });

  it('refuses a lock held by a live process, naming it', async () => {
    const lockPath = path.join(await tempDir(), 'journal.lock');
    const lock = await acquireLock(lockPath);
    const refused = await acquireLock(lockPath).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(LockHeldError);
    expect((refused as LockHeldError).ownerPid).toBe(process.pid);
    expect((refused as LockHeldError).message).toContain(String(process.pid));
    await lock.release();
    await (await acquireLock(lockPath)).release(); // free again once released
  });

  it('takes over a stale lock whose owner is dead', async () => {
    const lockPath = path.join(await tempDir(), 'journal.lock');
    await fs.writeFile(lockPath, `${deadPid()}\n`);
    const lock = await acquireLock(lockPath);
    expect((await fs.readFile(lockPath, 'utf8')).trim().split(' ')[0]).toBe(String(process.pid));
    await lock.release();
  });

  it('takes over a lock left by an earlier process with our own pid (a restarted container is pid 1 again)', async () => {
    const lockPath = path.join(await tempDir(), 'journal.lock');
    await fs.writeFile(lockPath, `${process.pid} token-of-a-dead-predecessor\n`);
    const lock = await acquireLock(lockPath);
    await expect(acquireLock(lockPath)).rejects.toBeInstanceOf(LockHeldError); // but not our own live lock
    await lock.release();
  });

  it('refuses a lock file that holds no pid rather than guessing', async () => {
    const lockPath = path.join(await tempDir(), 'journal.lock');
    await fs.writeFile(lockPath, '');
    const refused = await acquireLock(lockPath).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(LockHeldError);
    expect((refused as LockHeldError).ownerPid).toBeUndefined();
  });
});
