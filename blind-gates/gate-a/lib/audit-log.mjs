// Hash-chained, append-only audit log (CONTRACT.md §7) with a durable outbox.
//
// audit.ndjson        committed records, canonical JSON, one per line, fdatasync'ed per batch.
// audit-outbox.ndjson final records the log refused (audit down): they wait, durably, and are
//                     chained — before any newer record — as soon as the log takes writes again.
// An intent record is never put in the outbox: it must be in the log before dispatch.
import path from 'node:path';
import { AppendFile } from './durable-file.mjs';
import { canonicalize, digestValue, GENESIS_HASH, without } from './canonical.mjs';
import { parseStrict } from './strict-json.mjs';
import { DenialError } from './errors.mjs';

export class AuditChainError extends Error {}
export class AuditUnavailableError extends DenialError {
  constructor(reason) { super('AUDIT_UNAVAILABLE', reason); }
}

const keyOf = (r) => `${r.trace_id}|${r.stage}`;

/** Verify a list of records as a chain from genesis. Throws AuditChainError. */
export function verifyChain(records) {
  let prev = GENESIS_HASH;
  const ids = new Set();
  records.forEach((r, i) => {
    if (r.prev_hash !== prev) throw new AuditChainError(`record ${i}: prev_hash does not link`);
    if (digestValue(without(r, 'record_hash')) !== r.record_hash) throw new AuditChainError(`record ${i}: record_hash mismatch`);
    if (ids.has(r.record_id)) throw new AuditChainError(`record ${i}: duplicate record_id`);
    ids.add(r.record_id);
    prev = r.record_hash;
  });
  return prev;
}

export class AuditLog {
  static async open(dir, faults) {
    const log = await AppendFile.open(path.join(dir, 'audit.ndjson'));
    const outbox = await AppendFile.open(path.join(dir, 'audit-outbox.ndjson'));
    const records = log.lines.map((l, i) => {
      try { return parseStrict(Buffer.from(l, 'utf8')); } catch { throw new AuditChainError(`record ${i}: unreadable`); }
    });
    const a = new AuditLog(log.file, outbox.file, faults);
    a.lastHash = verifyChain(records);
    a.records = records;
    a.keys = new Set(records.map(keyOf));
    // outbox entries already chained (crash between commit and outbox truncation) are dropped
    a.waiting = outbox.lines.map((l) => JSON.parse(l)).filter((e) => !a.keys.has(keyOf(e)));
    return a;
  }

  constructor(logFile, outboxFile, faults) {
    this.log = logFile;
    this.outbox = outboxFile;
    this.faults = faults;
    this.records = [];
    this.waiting = [];
    this.keys = new Set();
    this.lastHash = GENESIS_HASH;
    this.lane = Promise.resolve(); // audit operations run one at a time, in order
  }

  #serial(fn) {
    const run = this.lane.then(fn);
    this.lane = run.catch(() => {});
    return run;
  }

  #down() {
    return this.faults.has('audit-down') || this.log.closed;
  }

  /** Chain and durably append entries (records without record_id/prev_hash/record_hash). */
  async #commit(entries) {
    if (this.#down()) throw new AuditUnavailableError('audit log refuses writes');
    let prev = this.lastHash;
    const recs = entries.map((e, i) => {
      const r = { ...e, record_id: `rec-${this.records.length + i}`, prev_hash: prev };
      r.record_hash = digestValue(r);
      prev = r.record_hash;
      return r;
    });
    await this.log.append(recs.map(canonicalize));
    this.records.push(...recs);
    for (const r of recs) this.keys.add(keyOf(r));
    this.lastHash = prev;
  }

  async #flushWaiting() {
    if (!this.waiting.length) return;
    await this.#commit(this.waiting);
    this.waiting = [];
    await this.outbox.truncate().catch(() => {}); // leftovers are de-duplicated at open
  }

  /** Intent record: durable in the log, or AuditUnavailableError. Nothing waits. */
  appendIntent(entry) {
    return this.#serial(async () => {
      await this.#flushWaiting();
      await this.#commit([entry]);
    });
  }

  /**
   * Final record: in the log if it takes writes, else durably in the outbox (it waits).
   * Resolves { waiting } — never rejects unless even the outbox is gone (system closed).
   */
  appendFinal(entry) {
    return this.#serial(async () => {
      try {
        await this.#flushWaiting();
        await this.#commit([entry]);
        return { waiting: false };
      } catch (err) {
        if (this.log.closed) throw err;
        this.waiting.push(entry);
        await this.outbox.append([JSON.stringify(entry)]).catch(() => {}); // best effort if the disk fails too
        return { waiting: true };
      }
    });
  }

  /** Try to write what waits (audit back up). */
  flush() {
    return this.#serial(() => this.#flushWaiting()).catch(() => {});
  }

  /** Every committed record, after writing what waits. Throws if records still wait. */
  export() {
    return this.#serial(async () => {
      await this.#flushWaiting();
      return this.records.slice();
    });
  }

  async close() {
    await this.log.close();
    await this.outbox.close();
  }
}
