/**
 * Crash safety: the reference runs as a real process with durable stores; it is killed hard
 * (SIGKILL, no chance to flush) right after a nonce was claimed and right after an approval was
 * consumed, restarted on the same data, and then every replay must be denied. Then the same under
 * concurrency, where group commit shares fsyncs: the stores under 64 concurrent claims and
 * records, and `failclosed serve` under 64 concurrent requests, each killed mid-stream — nothing
 * acknowledged before the kill may be missing afterwards.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalBytes, parseStrictJson } from '../model/profile/canonical-json.ts';
import { digestJson } from '../model/profile/digest.ts';
import { fromHex } from '../model/profile/encoding.ts';
import type { ClientRequest } from '../model/profile/messages.ts';
import { signRequest } from '../model/profile/messages.ts';
import { keyPairFromSeed } from '../model/profile/signing.ts';
import { verifyChain } from './audit/audit-log.ts';
import { FileAuditLog } from './audit/file-audit-log.ts';
import { FileJournalClaimStore } from './stores/file-journal-claim-store.ts';
import type { ServeProcess } from '../harness/serve-process.ts';
import { startServeProcess } from '../harness/serve-process.ts';

async function post(url: string, body: Uint8Array | string): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', body, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe('crash safety of the durable stores', () => {
  const dir = mkdtempSync(join(tmpdir(), 'failclosed-crash-'));
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify({ ports: { gate: 0, controlPlane: 0, executionLayer: 0 }, dataDir: join(dir, 'data') }));
  const children: ServeProcess[] = [];
  afterAll(async () => {
    for (const served of children) await served.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  const serve = (config: string) => startServeProcess({ config });

  it('a claimed nonce and a consumed approval survive SIGKILL and a restart', { timeout: 90_000 }, async () => {
    const first = await serve(configPath);
    children.push(first);
    const stored = JSON.parse(readFileSync(join(dir, 'data', 'demo-client-key.json'), 'utf8')) as { key_id: `ed25519/${string}`; seed_hex: string };
    const key = keyPairFromSeed(stored.key_id, fromHex(stored.seed_hex)!);
    const now = Math.floor(Date.now() / 1000);
    const sign = (fields: Partial<ClientRequest>): Uint8Array =>
      canonicalBytes(
        signRequest(
          { request_id: `req-${fields.nonce}`, identity: 'demo', action: 'demo.echo', parameters: { n: 1 }, timestamp: now, nonce: 'crash-nonce-0000000001', key_id: key.keyId, ...fields },
          key,
        ),
      );
    const executed = sign({ nonce: 'crash-nonce-executed-01' });
    const denied = sign({ nonce: 'crash-nonce-denied-0001', action: 'demo.forbidden' });
    expect((await post(`${first.gate}/v1/requests`, executed)).json).toMatchObject({ status: 'executed' });
    // Denied by policy after its nonce was claimed: the nonce is spent all the same.
    expect((await post(`${first.gate}/v1/requests`, denied)).json).toMatchObject({ status: 'denied', code: 'POLICY_DENIED' });

    // An approval consumed by a direct call, then the process dies at once.
    const parameters = { direct: true };
    const question = { request_id: 'direct-1', identity: 'demo', action: 'demo.echo', parameters, parameters_digest: digestJson(parameters) };
    const decision = await post(`${first.controlPlane}/v1/decide`, JSON.stringify(question));
    expect(decision.json.decision).toBe('allow');
    const call = JSON.stringify({ envelope: decision.json.envelope, request_id: 'direct-1', identity: 'demo', action: 'demo.echo', parameters });
    expect((await post(`${first.executionLayer}/v1/execute`, call)).json).toMatchObject({ status: 'executed' });
    await first.kill(); // SIGKILL: no chance to flush anything

    const second = await serve(configPath);
    children.push(second);
    expect((await post(`${second.gate}/v1/requests`, executed)).json).toMatchObject({ status: 'denied', code: 'REPLAY_DETECTED' });
    expect((await post(`${second.gate}/v1/requests`, denied)).json).toMatchObject({ status: 'denied', code: 'REPLAY_DETECTED' });
    expect((await post(`${second.executionLayer}/v1/execute`, call)).json).toMatchObject({ status: 'denied', code: 'ENVELOPE_REPLAYED' });

    // Exactly the two effects from before the crash; the audit chain survived intact: three records
    // before the crash (intent and final of the execution, the policy denial), two replays after.
    const effects = readFileSync(join(dir, 'data', 'effects.ndjson'), 'utf8').trim().split('\n');
    expect(effects).toHaveLength(2);
    const audit = parseStrictJson(await (await fetch(`${second.gate}/v1/audit`)).text());
    expect(Array.isArray(audit) && audit.length).toBe(5);
    expect(verifyChain(audit as unknown[])).toEqual({ ok: true });
    await second.kill();
  });
});

interface AuditRecordLike {
  request_id?: string;
  stage: string;
  decision: string;
  outcome?: string;
  code?: string;
}

describe('crash safety under concurrency (group commit)', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('the claim journal and the audit log under 64 concurrent writers: SIGKILL mid-stream loses nothing acknowledged', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'failclosed-crash-load-'));
    dirs.push(dir);
    const fixture = fileURLToPath(new URL('./crash-fixture.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir, '64'], {
      cwd: fileURLToPath(new URL('../', import.meta.url)),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // Only complete lines count: a line still being received is not an acknowledgement.
    const lines = (): string[] => stdout.split('\n').slice(0, -1);
    const acknowledgedRecords = (): number => lines().filter((line) => line.startsWith('record ')).length;
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the child made too little progress: ${stderr}`)), 60_000);
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          if (acknowledgedRecords() >= 400) {
            clearTimeout(timer);
            resolve();
          }
        });
        void exited.then(() => reject(new Error(`the child exited early: ${stderr}`)));
      });
    } finally {
      child.kill('SIGKILL'); // mid-stream: 64 claims and records are in flight
    }
    expect(await exited).toBe('SIGKILL');

    const claimed = lines().filter((line) => line.startsWith('claimed ')).map((line) => line.slice('claimed '.length));
    const records = lines().filter((line) => line.startsWith('record ')).map((line) => line.split(' ').slice(1) as [string, string]);
    const datasyncs = lines().filter((line) => line.startsWith('datasync ')).length;
    expect(records.length).toBeGreaterThanOrEqual(400);
    expect(claimed.length).toBeGreaterThanOrEqual(records.length);
    // It ran under group commit: far fewer fsyncs than acknowledgements.
    expect(datasyncs).toBeLessThan((claimed.length + records.length) / 2);

    // Reopening cuts a torn tail, if the kill left one, and verifies the whole chain.
    const audit = await FileAuditLog.open(join(dir, 'audit.ndjson'));
    const stored = await audit.records();
    await audit.close();
    expect(verifyChain(stored)).toEqual({ ok: true });
    // Every acknowledged record is there, in the order it was acknowledged: a prefix of the log
    // (what follows it was written but not yet acknowledged when the process died).
    expect(stored.slice(0, records.length).map((record) => [record.record_id, record.record_hash])).toEqual(records);
    const auditText = readFileSync(join(dir, 'audit.ndjson'), 'utf8');
    expect(auditText === '' || auditText.endsWith('\n')).toBe(true);

    const nonces = await FileJournalClaimStore.open(join(dir, 'nonces.journal'));
    const journalKeys = readFileSync(join(dir, 'nonces.journal'), 'utf8').split('\n').slice(0, -1).map((line) => (JSON.parse(line) as { key: string }).key);
    expect(journalKeys.slice(0, claimed.length)).toEqual(claimed);
    const answers = await Promise.all(claimed.map((key) => nonces.claim(key, Date.now() + 3_600_000)));
    await nonces.close();
    expect(answers.filter((answer) => answer !== 'duplicate')).toEqual([]);
  });

  it('failclosed serve (fsync on) under 64 concurrent requests: SIGKILL mid-stream loses no acknowledged nonce, approval, audit record or effect', { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'failclosed-crash-serve-load-'));
    dirs.push(dir);
    const configPath = join(dir, 'config.json');
    writeFileSync(configPath, JSON.stringify({ ports: { gate: 0, controlPlane: 0, executionLayer: 0 }, dataDir: join(dir, 'data') }));
    const first = await startServeProcess({ config: configPath });
    let second: ServeProcess | undefined;
    try {
      const stored = JSON.parse(readFileSync(join(dir, 'data', 'demo-client-key.json'), 'utf8')) as { key_id: `ed25519/${string}`; seed_hex: string };
      const key = keyPairFromSeed(stored.key_id, fromHex(stored.seed_hex)!);
      const now = Math.floor(Date.now() / 1000);
      const body = (i: number): Uint8Array =>
        canonicalBytes(signRequest({ request_id: `load-${i}`, identity: 'demo', action: 'demo.echo', parameters: { i }, timestamp: now, nonce: `load-nonce-${String(i).padStart(6, '0')}`, key_id: key.keyId }, key));

      // 64 clients send fresh requests; the 200th answer kills the process at once (SIGKILL, up to
      // 63 requests in flight). An answer counts only if it came before the kill.
      const acknowledged: { i: number; json: Record<string, unknown> }[] = [];
      let killed = false;
      let next = 0;
      const failures: string[] = [];
      const kill = () => {
        killed = true;
        first.child.kill('SIGKILL');
      };
      const deadline = setTimeout(kill, 90_000); // bounded, whatever happens
      const client = async (): Promise<void> => {
        while (!killed && next < 5000) {
          const i = next++;
          try {
            const { json } = await post(`${first.gate}/v1/requests`, body(i));
            if (killed) return;
            acknowledged.push({ i, json });
            if (acknowledged.length >= 200) kill();
          } catch (error) {
            if (!killed) failures.push((error as Error).message);
          }
        }
      };
      await Promise.all(Array.from({ length: 64 }, client));
      clearTimeout(deadline);
      await first.kill();
      expect(failures).toEqual([]);
      expect(acknowledged.length).toBeGreaterThanOrEqual(200);
      const executed = acknowledged.filter(({ json }) => json.status === 'executed');
      // Under this load a few may be denied (a deadline); most must be executed for the test to mean something.
      expect(executed.length).toBeGreaterThanOrEqual(150);

      second = await startServeProcess({ config: configPath }); // reopening verifies the audit chain and cuts torn tails
      const audit = parseStrictJson(await (await fetch(`${second.gate}/v1/audit`)).text()) as unknown as AuditRecordLike[];
      expect(verifyChain(audit)).toEqual({ ok: true });
      const effectLines = readFileSync(join(dir, 'data', 'effects.ndjson'), 'utf8').split('\n').slice(0, -1);
      const effects = effectLines.map((line) => JSON.parse(line) as { request_id: string; approval_id: string });
      const approvals = new Set(readFileSync(join(dir, 'data', 'approvals.journal'), 'utf8').split('\n').slice(0, -1).map((line) => (JSON.parse(line) as { key: string }).key));
      for (const { i, json } of acknowledged) {
        const records = audit.filter((record) => record.request_id === `load-${i}`);
        const final = records.filter((record) => record.stage === 'final');
        expect(final, `load-${i}`).toHaveLength(1);
        if (json.status === 'executed') {
          expect(final[0]).toMatchObject({ decision: 'allow', outcome: 'executed' });
          expect(records.filter((record) => record.stage === 'intent'), `load-${i}`).toHaveLength(1);
          const effect = effects.filter((e) => e.request_id === `load-${i}`);
          expect(effect, `load-${i}`).toHaveLength(1);
          expect(approvals.has(effect[0]!.approval_id), `approval of load-${i}`).toBe(true);
        } else {
          expect(final[0]).toMatchObject({ decision: 'deny', code: json.code });
        }
      }
      // Every acknowledged nonce is spent: its replay is denied (in waves of 64).
      const replays = executed.map(({ i }) => i);
      for (let start = 0; start < replays.length; start += 64) {
        const answers = await Promise.all(replays.slice(start, start + 64).map(async (i) => (await post(`${second!.gate}/v1/requests`, body(i))).json));
        for (const answer of answers) expect(answer).toMatchObject({ status: 'denied', code: 'REPLAY_DETECTED' });
      }
    } finally {
      await first.kill();
      await second?.kill();
    }
  });
});

