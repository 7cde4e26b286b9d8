/**
 * A throw-away PostgreSQL cluster the harness starts itself, for tests and runs of the reference
 * over PostgreSQL: initdb in a temporary directory, the server on a free loopback port (no Unix
 * socket, no other address), stopped and removed afterwards. As root it runs as the `postgres`
 * user (the server refuses root). Or, when the user gives a URL (FAILCLOSED_TEST_POSTGRES_URL, or
 * `--store postgres://…`), that server: the harness only creates and drops its own databases there.
 *
 * Server binaries: FAILCLOSED_PG_BIN, else the newest of /usr/lib/postgresql/<version>/bin (Debian's
 * `postgresql` package), else `initdb` on the PATH.
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './http-harness.ts';

export interface PostgresServer {
  /** a URL of the server's `postgres` database (for administration: creating databases) */
  readonly adminUrl: string;
  readonly port: number;
  /** true when the harness started the server (and can restart it) */
  readonly owned: boolean;
  /** the directory of a cluster the harness started (removed by close) */
  readonly dir?: string;
  /** A fresh, empty database on this server; dropped by `close`. */
  createDatabase(prefix?: string): Promise<string>;
  /** Stops the server (`immediate`: as after a crash, no checkpoint) and starts it again on the same port and data. */
  restart(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Stops the server and removes its directory (or drops the databases it created on a given server). */
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

/** Where initdb and postgres are, or why there are none. */
export function findPostgresBin(env: NodeJS.ProcessEnv = process.env): { ok: true; bin: string } | { ok: false; reason: string } {
  if (env.FAILCLOSED_PG_BIN) {
    return existsSync(join(env.FAILCLOSED_PG_BIN, 'initdb')) ? { ok: true, bin: env.FAILCLOSED_PG_BIN } : { ok: false, reason: `FAILCLOSED_PG_BIN=${env.FAILCLOSED_PG_BIN} holds no initdb` };
  }
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return { ok: true, bin: join(root, versions[0]!, 'bin') };
  }
  try {
    const initdb = execFileSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).trim();
    if (initdb) return { ok: true, bin: join(initdb, '..') };
  } catch {
    // not on the PATH
  }
  return { ok: false, reason: 'no PostgreSQL server binaries (install Debian\'s "postgresql" package, or set FAILCLOSED_PG_BIN, or give FAILCLOSED_TEST_POSTGRES_URL)' };
}

/** uid/gid to run the server as: ours, unless we are root (then the `postgres` user's). */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    if (Number.isInteger(uid) && Number.isInteger(gid) && uid > 0) return { uid, gid };
  } catch {
    // no such user
  }
  throw new Error('running as root, and there is no "postgres" user to run the server as (the server refuses root)');
}

/** Whether a server can be had here: a URL given, or binaries to start one. */
export function postgresAvailability(env: NodeJS.ProcessEnv = process.env): { ok: true } | { ok: false; reason: string } {
  if (env.FAILCLOSED_TEST_POSTGRES_URL) return { ok: true };
  const bin = findPostgresBin(env);
  if (!bin.ok) return bin;
  try {
    serverUser();
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  return { ok: true };
}

/** Waits (bounded) until the server accepts a query. */
async function waitReady(url: string, child: ChildProcess | undefined, output: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last: unknown;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`postgres exited with ${child.exitCode} before it was ready:\n${output().slice(-2000)}`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch (error) {
      last = error;
      await client.end().catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`postgres was not ready within ${READY_TIMEOUT_MS} ms: ${(last as Error)?.message}\n${output().slice(-2000)}`);
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Processes still running at exit are stopped, so that no server outlives the harness. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGQUIT');
});

/** Creates databases on `adminUrl`, and drops them again. */
function databases(adminUrl: string) {
  const created: string[] = [];
  return {
    async create(prefix = 'failclosed'): Promise<string> {
      const name = `${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      created.push(name);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return url.href;
    },
    async dropAll(): Promise<void> {
      if (created.length === 0) return;
      const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
      await admin.connect();
      try {
        for (const name of created.splice(0)) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}

/**
 * A PostgreSQL server for a test or a run: the one at `url` (or FAILCLOSED_TEST_POSTGRES_URL), or a
 * throw-away cluster started here.
 */
export async function startPostgres(options: { url?: string; env?: NodeJS.ProcessEnv; /** fsync on (a cluster started here; default off) */ fsync?: boolean } = {}): Promise<PostgresServer> {
  const env = options.env ?? process.env;
  const given = options.url ?? env.FAILCLOSED_TEST_POSTGRES_URL;
  if (given) {
    const dbs = databases(given);
    const port = Number(new URL(given).port || 5432);
    return {
      adminUrl: given,
      port,
      owned: false,
      createDatabase: (prefix) => dbs.create(prefix),
      restart: async () => {
        throw new Error('the harness did not start this PostgreSQL server: it cannot restart it');
      },
      close: () => dbs.dropAll(),
    };
  }
  return startThrowAwayCluster(env, options.fsync ?? false);
}

async function startThrowAwayCluster(env: NodeJS.ProcessEnv, fsync: boolean): Promise<PostgresServer> {
  const found = findPostgresBin(env);
  if (!found.ok) throw new Error(found.reason);
  const user = serverUser();
  const dir = mkdtempSync(join(tmpdir(), 'failclosed-pg-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const dataDir = join(dir, 'data');
  const spawnAs = user ? { uid: user.uid, gid: user.gid } : {};
  try {
    execFileSync(join(found.bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'], {
      ...spawnAs,
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`initdb failed: ${(error as Error).message}\n${stderr.slice(-2000)}`);
  }
  const port = await freePort();
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let child: ChildProcess | undefined;
  let log = '';
  const start = async () => {
    log = '';
    // Loopback TCP only, no Unix socket. fsync off (unless asked): a throw-away cluster, whose only
    // crashes are of the server process (immediate shutdown), never of the machine: the OS keeps
    // what was written.
    child = spawn(
      join(found.bin, 'postgres'),
      ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', `fsync=${fsync ? 'on' : 'off'}`, '-c', `full_page_writes=${fsync ? 'on' : 'off'}`, '-c', 'max_connections=200', '-c', 'shared_buffers=32MB'],
      { ...spawnAs, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    running.add(child);
    const current = child;
    current.once('exit', () => running.delete(current));
    const append = (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-20_000);
    };
    current.stdout!.on('data', append);
    current.stderr!.on('data', append);
    await waitReady(adminUrl, current, () => log);
  };
  const stop = async (signal: NodeJS.Signals) => {
    const current = child;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    current.kill(signal);
    if (!(await waitExit(current, STOP_TIMEOUT_MS))) {
      current.kill('SIGKILL');
      await waitExit(current, STOP_TIMEOUT_MS);
    }
  };
  try {
    await start();
  } catch (error) {
    await stop('SIGQUIT');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const dbs = databases(adminUrl);
  return {
    adminUrl,
    port,
    owned: true,
    dir,
    createDatabase: (prefix) => dbs.create(prefix),
    // SIGINT: fast shutdown (connections ended, checkpoint); SIGQUIT: immediate (as after a crash).
    async restart(mode = 'immediate') {
      await stop(mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
      await start();
    },
    async close() {
      await stop('SIGINT');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
