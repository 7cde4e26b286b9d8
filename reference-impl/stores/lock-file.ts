/**
 * Single-owner lock for a file that one process appends to (the claim journal, the audit log).
 * Two writers appending to one journal would each believe it decides alone, so a second owner is
 * refused rather than tolerated.
 *
 * The lock is `<file>.lock`, created exclusively ('wx') and holding the owner's pid and a token
 * unique to the owning process. A lock whose pid is no longer alive is stale (its owner crashed)
 * and is taken over. So is one naming our own pid with another token: a restarted container runs
 * as pid 1 again, and the lock it finds is its dead predecessor's. Not handled: two processes
 * taking over the same stale lock at the same instant, and a dead owner's pid reused by an
 * unrelated live process (that one fails closed: the lock looks held).
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs/promises';

/** Distinguishes this process from an earlier one that had the same pid. */
const PROCESS_TOKEN = randomUUID();

export class LockHeldError extends Error {
  override name = 'LockHeldError';
  constructor(
    readonly lockPath: string,
    /** undefined when the lock file does not hold a pid (its owner died while creating it) */
    readonly ownerPid: number | undefined,
  ) {
    super(
      ownerPid === undefined
        ? `${lockPath} exists but holds no pid; if no process owns it, remove it`
        : `${lockPath} is held by live process ${ownerPid}; only one process may own this file`,
    );
  }
}

export interface FileLock {
  readonly path: string;
  release(): Promise<void>;
}

export async function acquireLock(lockPath: string): Promise<FileLock> {
  // Bounded: each round either takes the lock, refuses, or removes one stale lock.
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await createExclusive(lockPath, `${process.pid} ${PROCESS_TOKEN}\n`)) {
      return { path: lockPath, release: () => fs.rm(lockPath, { force: true }) };
    }
    const owner = await readOwner(lockPath);
    if (owner === 'gone') continue;
    const predecessor = owner !== undefined && owner.pid === process.pid && owner.token !== PROCESS_TOKEN;
    if (!predecessor && (owner === undefined || isAlive(owner.pid))) throw new LockHeldError(lockPath, owner?.pid);
    await fs.rm(lockPath, { force: true });
  }
  throw new Error(`${lockPath}: could not take the lock (it kept reappearing)`);
}

/** false when the file already exists. */
async function createExclusive(path: string, content: string): Promise<boolean> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, 'wx');
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(content);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await fs.rm(path, { force: true });
    throw error;
  }
  await handle.close();
  return true;
}

async function readOwner(lockPath: string): Promise<{ pid: number; token: string | undefined } | undefined | 'gone'> {
  let text: string;
  try {
    text = await fs.readFile(lockPath, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return 'gone';
    throw error;
  }
  const [pidText, token] = text.trim().split(/\s+/);
  const pid = Number(pidText);
  return Number.isSafeInteger(pid) && pid > 0 ? { pid, token } : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0 checks existence without signalling
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM'; // exists, but belongs to another user
  }
}

export function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}
