// The Gate's nonce store and the Execution Layer's approval store: durable (fdatasync before a
// claim is confirmed), linearizable within the process (check-and-insert happens synchronously,
// before any await, so concurrent duplicates cannot both win).
import path from 'node:path';
import { AppendFile } from './durable-file.mjs';
import { DenialError } from './errors.mjs';
import { defect } from './defects.mjs';

const PRUNE_GRACE_MS = 24 * 3600 * 1000; // entries are dropped at open only long after they expired

export class NonceStore {
  static async open(dir, clock, faults) {
    const { file, lines } = await AppendFile.open(path.join(dir, 'nonces.log'));
    const store = new NonceStore(file, clock, faults);
    const now = Date.now();
    for (const line of defect('forget-nonces-after-restart') ? [] : lines) { // DEFECT when switched on
      const [key, expiresMs] = JSON.parse(line);
      if (expiresMs + PRUNE_GRACE_MS > now) store.claims.set(key, Math.max(expiresMs, store.claims.get(key) ?? 0));
    }
    if (store.claims.size !== lines.length && !defect('forget-nonces-after-restart')) await file.rewrite([...store.claims].map((e) => JSON.stringify(e)));
    return store;
  }

  constructor(file, clock, faults) {
    this.file = file;
    this.clock = clock;
    this.faults = faults;
    this.claims = new Map(); // JSON [identity, action, nonce] -> remembered until (ms, system clock)
  }

  /**
   * Claim (identity, action, nonce) until `untilMs`. Resolves when durably claimed; throws a
   * DenialError REPLAY_DETECTED / NONCE_STORE_UNAVAILABLE / NONCE_WRITE_UNCONFIRMED otherwise.
   */
  async claim(identity, action, nonce, untilMs) {
    if (this.faults.has('nonce-store-down')) throw new DenialError('NONCE_STORE_UNAVAILABLE', 'nonce store is down');
    if (this.file.closed) throw new DenialError('NONCE_STORE_UNAVAILABLE', 'nonce store closed');
    const key = JSON.stringify([identity, action, nonce]);
    const held = this.claims.get(key);
    if (held !== undefined && held > this.clock.nowMs()) throw new DenialError('REPLAY_DETECTED', 'nonce already used');
    this.claims.set(key, untilMs); // counts as used from here on, even if the write is never confirmed
    try {
      await this.file.append([JSON.stringify([key, untilMs])]);
    } catch {
      throw new DenialError('NONCE_WRITE_UNCONFIRMED', 'nonce claim could not be confirmed');
    }
    if (this.faults.has('nonce-store-unconfirmed')) throw new DenialError('NONCE_WRITE_UNCONFIRMED', 'nonce claim confirmation lost');
  }

  close() { return this.file.close(); }
}

export class ApprovalStore {
  static async open(dir) {
    const { file, lines } = await AppendFile.open(path.join(dir, 'approvals.log'));
    const store = new ApprovalStore(file);
    const now = Date.now();
    for (const line of lines) {
      const [id, expiresAtSec] = JSON.parse(line);
      if (expiresAtSec * 1000 + PRUNE_GRACE_MS > now) store.used.set(id, expiresAtSec);
    }
    if (store.used.size !== lines.length) await file.rewrite([...store.used].map((e) => JSON.stringify(e)));
    return store;
  }

  constructor(file) {
    this.file = file;
    this.used = new Map(); // approval_id -> expires_at (s)
  }

  /** Consume an approval once, durably. Throws DenialError ENVELOPE_REPLAYED on the second use. */
  async consume(approvalId, expiresAtSec) {
    if (this.used.has(approvalId)) throw new DenialError('ENVELOPE_REPLAYED', 'approval already consumed');
    this.used.set(approvalId, expiresAtSec); // consumed from here on, even if the write fails
    await this.file.append([JSON.stringify([approvalId, expiresAtSec])]);
  }

  close() { return this.file.close(); }
}
