// The Gate's nonce store: claims of (identity, action, nonce), an append-only journal with
// fsync under the data directory. Claims are linearized by the in-memory index (the process is
// single-threaded), made durable before the claim is confirmed, and remembered across restarts
// for at least twice the acceptance window past max(request timestamp, claim time).
import { join } from 'node:path';
import { AppendFile, WriteQueue } from './append-file.js';
import { parseStrict } from '../profile/strict-json.js';
import { Denial } from '../profile/codes.js';
import { nowMs } from '../clock.js';
import { defect } from '../defects.js';

const WRITE_DEADLINE_MS = 2000;

export class NonceStore {
  static async open(dataDir, windowSec) {
    const { file, lines } = await AppendFile.open(join(dataDir, 'gate', 'nonces.journal'));
    const store = new NonceStore(file, windowSec);
    const now = nowMs();
    const live = [];
    for (const line of lines) {
      let e;
      try {
        e = parseStrict(line);
      } catch {
        throw new Error(`nonce journal ${file.path} has an unreadable line`);
      }
      if (typeof e.k !== 'string' || !Number.isSafeInteger(e.x)) throw new Error(`nonce journal ${file.path} has an invalid entry`);
      if (e.x > now) {
        store.index.set(e.k, Math.max(store.index.get(e.k) ?? 0, e.x));
        live.push(line);
      }
    }
    if (live.length < lines.length) await file.rewrite(live); // compaction of expired claims
    return store;
  }

  constructor(file, windowSec) {
    this.file = file;
    this.windowSec = windowSec;
    /** key -> expiry (unix ms) */
    this.index = new Map();
    this.queue = new WriteQueue((lines) => this.file.appendLines(lines));
    this.pruneTimer = setInterval(() => this.prune(), 60_000).unref();
  }

  static key(identity, action, nonce) {
    // An unambiguous key: identity and action names may contain ':' and '/'.
    return JSON.stringify([identity, action, nonce]);
  }

  retentionMs() {
    // DEFECT nonce-ttl-ms: the retention is computed in the wrong unit (seconds used as ms).
    if (defect('nonce-ttl-ms')) return 2 * this.windowSec;
    return 2 * this.windowSec * 1000;
  }

  /** True when the triple is claimed and still remembered. */
  isClaimed(identity, action, nonce) {
    const exp = this.index.get(NonceStore.key(identity, action, nonce));
    return exp !== undefined && exp > nowMs();
  }

  /**
   * Claim the triple. Resolves when the claim is durable; throws a Denial:
   * REPLAY_DETECTED, NONCE_STORE_UNAVAILABLE, NONCE_WRITE_UNCONFIRMED.
   */
  async claim(identity, action, nonce, timestampSec) {
    const key = NonceStore.key(identity, action, nonce);
    const now = nowMs();
    const known = this.index.get(key);
    if (known !== undefined && known > now) throw new Denial('REPLAY_DETECTED', 'nonce already used');
    if (!this.file) throw new Denial('NONCE_STORE_UNAVAILABLE', 'nonce store is not open');
    const expiry = Math.max(timestampSec * 1000, now) + this.retentionMs();
    // The claim takes effect now (a concurrent duplicate sees it), then is made durable.
    // If durability cannot be confirmed, the nonce stays used: fail closed.
    this.index.set(key, expiry);
    const line = JSON.stringify({ k: key, x: expiry });
    let timer;
    const deadline = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('nonce write deadline')), WRITE_DEADLINE_MS);
    });
    try {
      await Promise.race([this.queue.push(line), deadline]);
    } catch (err) {
      throw new Denial('NONCE_WRITE_UNCONFIRMED', `nonce claim not confirmed: ${err.message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Undo nothing: claims are never released. Drops expired entries from memory. */
  prune() {
    const now = nowMs();
    for (const [k, exp] of this.index) if (exp <= now) this.index.delete(k);
  }

  async close() {
    clearInterval(this.pruneTimer);
    await this.file.close();
  }
}
