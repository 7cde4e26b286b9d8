// The Execution Layer's approval store: consumed approval ids, an append-only journal with fsync.
// An approval is consumed (durably) before its action runs; a second use is ENVELOPE_REPLAYED.
import { join } from 'node:path';
import { AppendFile, WriteQueue } from './append-file.js';
import { parseStrict } from '../profile/strict-json.js';
import { Denial } from '../profile/codes.js';
import { nowMs } from '../clock.js';

// Consumed approvals are kept one day past their expiry (an expired envelope is refused anyway).
const KEEP_AFTER_EXPIRY_MS = 24 * 3600 * 1000;
const WRITE_DEADLINE_MS = 2000;

export class ApprovalStore {
  static async open(dataDir) {
    const { file, lines } = await AppendFile.open(join(dataDir, 'execution-layer', 'approvals.journal'));
    const store = new ApprovalStore(file);
    const now = nowMs();
    const live = [];
    for (const line of lines) {
      let e;
      try {
        e = parseStrict(line);
      } catch {
        throw new Error(`approval journal ${file.path} has an unreadable line`);
      }
      if (typeof e.a !== 'string' || !Number.isSafeInteger(e.x)) throw new Error(`approval journal ${file.path} has an invalid entry`);
      if (e.x > now) {
        store.consumed.set(e.a, e.x);
        live.push(line);
      }
    }
    if (live.length < lines.length) await file.rewrite(live);
    return store;
  }

  constructor(file) {
    this.file = file;
    /** approval_id -> keep-until (unix ms) */
    this.consumed = new Map();
    this.queue = new WriteQueue((lines) => this.file.appendLines(lines));
  }

  /** Consume an approval durably; throws Denial ENVELOPE_REPLAYED, or EXECUTION_UNAVAILABLE when the store fails. */
  async consume(approvalId, expiresAtSec) {
    if (this.consumed.has(approvalId)) throw new Denial('ENVELOPE_REPLAYED', 'approval already consumed');
    const keep = expiresAtSec * 1000 + KEEP_AFTER_EXPIRY_MS;
    this.consumed.set(approvalId, keep); // taken now; stays taken even if the write fails
    let timer;
    const deadline = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('approval write deadline')), WRITE_DEADLINE_MS);
    });
    try {
      await Promise.race([this.queue.push(JSON.stringify({ a: approvalId, x: keep })), deadline]);
    } catch (err) {
      throw new Denial('EXECUTION_UNAVAILABLE', `approval could not be consumed durably: ${err.message}; nothing ran`);
    } finally {
      clearTimeout(timer);
    }
  }

  async close() {
    await this.file.close();
  }
}
