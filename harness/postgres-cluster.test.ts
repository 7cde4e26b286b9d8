/**
 * The throw-away PostgreSQL cluster the harness starts: loopback only, survives an immediate
 * restart with what was committed, gone (process and directory) after close. Without server
 * binaries (and no FAILCLOSED_TEST_POSTGRES_URL) these tests print why and are skipped.
 */
import { existsSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresServer } from './postgres-cluster.ts';
import { postgresAvailability, startPostgres } from './postgres-cluster.ts';


const available = postgresAvailability();
if (!available.ok) console.log(`postgres-cluster.test.ts: WILL FAIL (the tool is missing; .ci/run installs it) — ${available.reason}`);

describe('a throw-away PostgreSQL cluster', () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  }, 30_000);

  const query = async (url: string, sql: string, values: unknown[] = []) => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      return (await client.query(sql, values)).rows;
    } finally {
      await client.end();
    }
  };

  it('serves fresh databases on loopback only, and keeps what was committed across an immediate restart', { timeout: 60_000 }, async () => {
    expect(new URL(server.adminUrl).hostname).toBe('127.0.0.1');
    const [settings] = await query(server.adminUrl, "SELECT current_setting('listen_addresses') AS listen, current_setting('unix_socket_directories') AS sockets");
    expect(settings).toEqual({ listen: '127.0.0.1', sockets: '' });
    const a = await server.createDatabase('cluster_test');
    const b = await server.createDatabase('cluster_test');
    expect(a).not.toBe(b);
    await query(a, 'CREATE TABLE t (v int)');
    await query(a, 'INSERT INTO t VALUES (1)');
    await expect(query(b, 'SELECT * FROM t')).rejects.toThrow(/does not exist/);
    if (!server.owned) return; // a server the user gave: the harness does not restart it
    await server.restart('immediate');
    expect(await query(a, 'SELECT v FROM t')).toEqual([{ v: 1 }]);
  });

  it('close stops the server and removes its directory', { timeout: 60_000 }, async () => {
    if (!server.owned) return;
    const other = await startPostgres();
    const url = await other.createDatabase();
    await query(url, 'SELECT 1');
    await other.close();
    await expect(query(url, 'SELECT 1')).rejects.toThrow();
    expect(other.dir && existsSync(other.dir)).toBe(false);
  });
});
