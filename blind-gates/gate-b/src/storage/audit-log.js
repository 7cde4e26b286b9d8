// The Gate's audit log: a hash-chained, append-only journal with fsync, fed by a write queue.
// - Records are chained at write time, in queue order; a batch is one write + one fsync.
// - An intent that cannot be written is refused (the caller denies AUDIT_UNAVAILABLE).
// - A final that cannot be written waits at the head of the queue and is retried; nothing newer
//   is written before it. The export flushes waiting records first and refuses (503) otherwise.
// - On start-up the whole chain is verified; a broken chain refuses to start.
import { join } from 'node:path';
import { AppendFile } from './append-file.js';
import { parseStrict } from '../profile/strict-json.js';
import { without } from '../profile/canonical.js';
import { digestValue } from '../profile/crypto.js';
import { validate, describeErrors } from '../profile/schemas.js';
import { defect } from '../defects.js';

export const GENESIS = 'sha256:' + '0'.repeat(64);
const RETRY_MS = 500;
const FINAL_WAIT_MS = 2000;
const OPTIONAL = ['request_id', 'action', 'code', 'approval_id', 'outcome'];

export class AuditLog {
  static async open(dataDir) {
    const { file, lines } = await AppendFile.open(join(dataDir, 'gate', 'audit.log'));
    const log = new AuditLog(file);
    const ids = new Set();
    for (const [n, line] of lines.entries()) {
      let rec;
      try {
        rec = parseStrict(line);
      } catch (err) {
        throw new Error(`audit log line ${n + 1} is unreadable: ${err.message}`);
      }
      const v = validate('audit-record', rec);
      if (!v.ok) throw new Error(`audit log line ${n + 1} is not an audit record: ${describeErrors(v.errors)}`);
      if (rec.prev_hash !== log.lastHash) throw new Error(`audit chain broken at line ${n + 1}: prev_hash`);
      if (digestValue(without(rec, 'record_hash')) !== rec.record_hash) throw new Error(`audit chain broken at line ${n + 1}: record_hash`);
      if (ids.has(rec.record_id)) throw new Error(`audit log line ${n + 1}: duplicate record_id`);
      ids.add(rec.record_id);
      log.lastHash = rec.record_hash;
      log.records.push(rec);
    }
    return log;
  }

  constructor(file) {
    this.file = file;
    this.records = [];
    this.lastHash = GENESIS;
    /** [{ body, kind: 'intent'|'final', resolve, reject, settled }] in append order */
    this.pending = [];
    this.writing = false;
    this.retryTimer = null;
  }

  /** Build a record body (without chain fields) from the request's attribution. */
  static body(fields) {
    const rec = {
      timestamp_ms: fields.timestamp_ms,
      identity: fields.identity ?? 'unknown',
      decision: fields.decision,
      stage: fields.stage,
      request_hash: fields.request_hash,
      trace_id: fields.trace_id,
      data_hash: fields.data_hash,
    };
    for (const k of OPTIONAL) if (fields[k] !== undefined) rec[k] = fields[k];
    return rec;
  }

  /** Write an intent durably; rejects when the log cannot take it (nothing may be dispatched). */
  appendIntent(body) {
    return new Promise((resolve, reject) => {
      this.pending.push({ body, kind: 'intent', resolve, reject });
      this.kick();
    });
  }

  /**
   * Queue a final record. Resolves true once durable, or false when it could not be written in
   * time: it then waits in the queue and is written before any newer record.
   */
  appendFinal(body) {
    // DEFECT audit-drop-busy: under back-pressure, denial records are "best effort" and dropped.
    if (defect('audit-drop-busy') && this.writing && this.pending.length >= 1 && body.decision === 'deny') {
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const entry = { body, kind: 'final', resolve, reject: null };
      this.pending.push(entry);
      const t = setTimeout(() => resolve(false), FINAL_WAIT_MS);
      entry.resolve = (ok) => {
        clearTimeout(t);
        resolve(ok);
      };
      this.kick();
    });
  }

  get waiting() {
    return this.pending.length;
  }

  kick() {
    if (!this.writing) void this.drain();
  }

  async drain() {
    this.writing = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.slice();
        let count = this.records.length;
        let prev = this.lastHash;
        const chained = batch.map((e) => {
          const rec = { record_id: `rec-${count++}`, ...e.body, prev_hash: prev };
          rec.record_hash = digestValue(rec);
          prev = rec.record_hash;
          return rec;
        });
        try {
          await this.file.appendLines(chained.map((r) => JSON.stringify(r)));
        } catch (err) {
          // Intents are refused; finals stay queued, in order, and are retried.
          this.pending = this.pending.filter((e) => {
            if (e.kind === 'intent' && batch.includes(e)) {
              e.reject(err);
              return false;
            }
            return true;
          });
          this.scheduleRetry();
          return;
        }
        this.pending.splice(0, batch.length);
        this.records.push(...chained);
        this.lastHash = prev;
        for (const e of batch) e.resolve(true);
      }
    } finally {
      this.writing = false;
    }
  }

  scheduleRetry() {
    if (this.retryTimer || this.pending.length === 0) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.kick();
    }, RETRY_MS);
    this.retryTimer.unref();
  }

  /** Write everything waiting; true when nothing is left waiting. */
  async flush() {
    for (let attempt = 0; attempt < 3 && this.pending.length > 0; attempt++) {
      while (this.writing) await new Promise((r) => setTimeout(r, 5));
      await this.drain();
      if (this.pending.length > 0) await new Promise((r) => setTimeout(r, 50));
    }
    return this.pending.length === 0;
  }

  async close() {
    await this.flush();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.file.close();
  }
}
