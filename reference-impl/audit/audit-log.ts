/**
 * The Audit System's log: hash-chained AuditRecords (see model/profile/PROFILE.md).
 *
 * record_hash = digest of the canonical record without record_hash; prev_hash = the previous
 * record's record_hash; the genesis record's prev_hash is ZERO_DIGEST. Chain order is append
 * order, and `append` resolves only once the record is durable.
 */
import { randomBytes } from 'node:crypto';
import { canonicalize } from '../../model/profile/canonical-json.ts';
import type { Digest } from '../../model/profile/digest.ts';
import { digestJson, digestsEqual, ZERO_DIGEST } from '../../model/profile/digest.ts';
import type { AuditRecord } from '../../model/profile/messages.ts';
import { validateAuditRecord } from '../../model/profile/messages.ts';
import type { Clock } from '../clock.ts';
import { SerialQueue } from '../stores/serial-queue.ts';

/** What a writer supplies; the log fills in the id, the time and the chain. */
export type AuditEntry = Omit<AuditRecord, 'record_id' | 'timestamp_ms' | 'prev_hash' | 'record_hash'>;

export interface AuditLog {
  /** Resolves with the sealed record once it is durable; rejects with AuditLogError otherwise. */
  append(entry: AuditEntry): Promise<AuditRecord>;
  /** Every record, in chain order. */
  records(): Promise<AuditRecord[]>;
  close(): Promise<void>;
}

export class AuditLogError extends Error {
  override name = 'AuditLogError';
  /** corrupt: the 1-based line of the log file where verification failed */
  readonly line: number | undefined;

  constructor(
    /**
     * unavailable: the record was not (durably) written; invalid-entry: the entry does not make a
     * valid record, so it is refused; corrupt: the stored log fails verification
     */
    readonly kind: 'unavailable' | 'invalid-entry' | 'corrupt',
    message: string,
    options?: { cause?: unknown; line?: number },
  ) {
    super(message, { cause: options?.cause });
    this.line = options?.line;
  }
}

// ---------------------------------------------------------------- sealing

const SEALED_FIELDS: ReadonlySet<string> = new Set(['record_id', 'timestamp_ms', 'prev_hash', 'record_hash']);

/**
 * Random bytes are drawn a pool at a time: one randomBytes call per record cost more than sealing
 * it (a call into OpenSSL's generator each time). Same generator, same 4 bytes per id.
 */
const RANDOM_POOL_BYTES = 4096;
let randomPool = Buffer.alloc(0);
let randomPoolOffset = 0;

export function newRecordId(sequence: number): string {
  if (randomPoolOffset + 4 > randomPool.length) {
    randomPool = randomBytes(RANDOM_POOL_BYTES);
    randomPoolOffset = 0;
  }
  const suffix = randomPool.toString('hex', randomPoolOffset, randomPoolOffset + 4);
  randomPoolOffset += 4;
  return `rec-${sequence}-${suffix}`;
}

/**
 * Seals an entry into the record that follows `prevHash`. Undefined optional fields are dropped
 * (they are not JSON); anything else that does not make a valid record throws 'invalid-entry',
 * so that no invalid record ever enters a chain.
 */
export function sealRecord(
  entry: AuditEntry,
  seal: { recordId: string; timestampMs: number; prevHash: Digest },
): AuditRecord {
  const body: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(entry)) {
    // SEALED_FIELDS: a whole record passed as an entry must not smuggle in its old chain fields
    if (value !== undefined && !SEALED_FIELDS.has(name)) body[name] = value;
  }
  Object.assign(body, { record_id: seal.recordId, timestamp_ms: seal.timestampMs, prev_hash: seal.prevHash });
  let record: unknown;
  try {
    record = { ...body, record_hash: digestJson(body) };
  } catch (cause) {
    throw new AuditLogError('invalid-entry', 'audit entry is not JSON', { cause });
  }
  const checked = validateAuditRecord(record);
  if (!checked.ok) throw new AuditLogError('invalid-entry', `audit entry refused: ${describeProblems(checked.problems)}`);
  return Object.freeze(checked.value);
}

/**
 * Serializes appends onto one chain: each entry is sealed against the current head, handed to
 * `store`, and the head advances only once `store` resolved (the record is durable). The memory
 * log's writer; the file log group-commits instead, sealing each record when its flush takes it
 * (file-audit-log.ts).
 */
export class AuditChainWriter {
  private readonly queue = new SerialQueue();

  constructor(
    private readonly clock: Clock,
    private head: Digest = ZERO_DIGEST,
    private nextSequence = 0,
  ) {}

  append(entry: AuditEntry, store: (record: AuditRecord) => Promise<void>): Promise<AuditRecord> {
    return this.queue.run(async () => {
      const record = sealRecord(entry, {
        recordId: newRecordId(this.nextSequence),
        timestampMs: Math.floor(this.clock.nowMs()),
        prevHash: this.head,
      });
      await store(record);
      this.head = record.record_hash;
      this.nextSequence++;
      return record;
    });
  }

  /** Runs `task` between appends, so that it sees a whole chain. */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    return this.queue.run(task);
  }
}

// ---------------------------------------------------------------- verification

export type ChainVerdict = { ok: true } | { ok: false; index: number; problem: string };

/**
 * Checks a chain from genesis: every record valid, linked to its predecessor, its record_hash
 * recomputed, record ids unique. A chain cut short at its end still verifies: detecting that
 * needs the expected head (last record_hash) or length from somewhere else.
 */
/** `anchor`: the hash the first record links to — genesis, or the last record before a slice of the log. */
export function verifyChain(records: readonly unknown[], anchor: string = ZERO_DIGEST): ChainVerdict {
  let previousHash: string = anchor;
  const seenIds = new Set<string>();
  for (const [index, value] of records.entries()) {
    const fail = (problem: string): ChainVerdict => ({ ok: false, index, problem });
    const checked = validateAuditRecord(value);
    if (!checked.ok) return fail(`invalid record: ${describeProblems(checked.problems)}`);
    const { record_hash: recordHash, ...body } = checked.value;
    if (!digestsEqual(body.prev_hash, previousHash)) {
      return fail(index > 0 ? "prev_hash is not the previous record's record_hash" : anchor === ZERO_DIGEST ? 'the first record does not start at the genesis (zero) hash' : `the first record does not link to ${anchor}, the last record before it`);
    }
    if (!digestsEqual(digestJson(body), recordHash)) return fail('record_hash does not match the record');
    if (seenIds.has(body.record_id)) return fail(`record_id ${body.record_id} appears twice`);
    seenIds.add(body.record_id);
    previousHash = recordHash;
  }
  return { ok: true };
}

function describeProblems(problems: readonly { path: string; message: string }[]): string {
  return problems.map((problem) => `${problem.path} ${problem.message}`).join('; ');
}

// ---------------------------------------------------------------- export

/** A JSON array, one canonical record per line. */
export function exportJson(records: readonly AuditRecord[]): string {
  return `[${records.map((record) => canonicalize(record)).join(',\n')}]\n`;
}

/** NDJSON: one canonical record per line (exactly the bytes FileAuditLog stores). */
export function exportNdjson(records: readonly AuditRecord[]): string {
  return records.map((record) => `${canonicalize(record)}\n`).join('');
}
