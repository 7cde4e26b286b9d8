/**
 * Child process of the concurrent crash test (crash-safety.test.ts): the durable stores under
 * load, with group commit and fsync on, until it is SIGKILLed.
 *
 * `concurrency` workers each claim a fresh key in a claim journal, then append an audit record for
 * it, over and over. Every acknowledgement is printed the moment it happens, one line each (stdout
 * to a pipe is synchronous on Linux, so a printed line has left the process before the next step):
 *   claimed <key>
 *   record <record_id> <record_hash>
 *   datasync <n>          (the n-th fdatasync began: fewer than acknowledgements means shared flushes)
 * Usage: node --import tsx crash-fixture.ts <data dir> <concurrency>
 */
import type { FileHandle } from 'node:fs/promises';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Digest } from '../model/profile/digest.ts';
import { FileAuditLog } from './audit/file-audit-log.ts';
import { FileJournalClaimStore } from './stores/file-journal-claim-store.ts';

const [dataDir, concurrencyText] = process.argv.slice(2);
if (dataDir === undefined || concurrencyText === undefined) throw new Error('usage: crash-fixture.ts <data dir> <concurrency>');
const concurrency = Number(concurrencyText);

// Count the fdatasyncs of every file this process writes.
const probe = await fs.open(join(dataDir, 'probe'), 'w');
const prototype = Object.getPrototypeOf(probe) as FileHandle;
await probe.close();
const realDatasync = prototype.datasync;
let datasyncs = 0;
prototype.datasync = function (this: FileHandle) {
  process.stdout.write(`datasync ${++datasyncs}\n`);
  return realDatasync.call(this);
};

const nonces = await FileJournalClaimStore.open(join(dataDir, 'nonces.journal'), { fsync: true, compactAfterLines: 1_000_000_000 });
const audit = await FileAuditLog.open(join(dataDir, 'audit.ndjson'), { fsync: true });
process.stdout.write('ready\n');

const LIMIT = 200_000; // bounded: the test kills us long before this
let next = 0;
async function worker(): Promise<void> {
  while (next < LIMIT) {
    const i = next++;
    const key = `key-${i}`;
    if ((await nonces.claim(key, Date.now() + 3_600_000)) !== 'claimed') throw new Error(`${key} was not claimed`);
    process.stdout.write(`claimed ${key}\n`);
    const record = await audit.append({
      identity: 'load',
      decision: 'deny',
      stage: 'final',
      code: 'POLICY_DENIED',
      request_hash: sha256Digest(key),
      trace_id: `trace-${i}`,
      data_hash: sha256Digest(''),
      request_id: `req-${i}`,
    });
    process.stdout.write(`record ${record.record_id} ${record.record_hash}\n`);
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
