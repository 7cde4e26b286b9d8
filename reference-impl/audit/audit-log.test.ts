import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize, parseStrictJson } from '../../model/profile/canonical-json.ts';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { digestJson, ZERO_DIGEST } from '../../model/profile/digest.ts';
import { ID_PATTERN, validateAuditRecord } from '../../model/profile/messages.ts';
import type { AuditRecord } from '../../model/profile/messages.ts';
import { AuditLogError, exportJson, exportNdjson, newRecordId, sealRecord, verifyChain } from './audit-log.ts';
import type { AuditEntry } from './audit-log.ts';
import { denialEntry, entryArbitrary } from './audit-test-entries.ts';

/** A valid chain of `entries`, sealed the way the logs seal them. */
function chainOf(entries: readonly AuditEntry[]): AuditRecord[] {
  const records: AuditRecord[] = [];
  for (const [index, entry] of entries.entries()) {
    records.push(sealRecord(entry, { recordId: newRecordId(index), timestampMs: 1_700_000_000_000 + index, prevHash: records.at(-1)?.record_hash ?? ZERO_DIGEST }));
  }
  return records;
}

const copy = (records: readonly AuditRecord[]): Record<string, JsonValue>[] =>
  records.map((record) => ({ ...record }) as unknown as Record<string, JsonValue>);

describe('sealRecord', () => {
  it('fills the chain fields as the profile defines them', () => {
    const record = sealRecord(denialEntry(1), { recordId: 'rec-0-x', timestampMs: 5, prevHash: ZERO_DIGEST });
    const { record_hash, ...body } = record;
    expect(body).toEqual({ ...denialEntry(1), record_id: 'rec-0-x', timestamp_ms: 5, prev_hash: ZERO_DIGEST });
    expect(record_hash).toBe(digestJson(body));
    expect(validateAuditRecord(record).ok).toBe(true);
  });

  it('drops undefined optional fields and the chain fields of a record passed as an entry', () => {
    const first = sealRecord(denialEntry(1), { recordId: 'rec-0-x', timestampMs: 5, prevHash: ZERO_DIGEST });
    const resealed = sealRecord({ ...first, approval_id: undefined } as AuditEntry, { recordId: 'rec-1-x', timestampMs: 6, prevHash: first.record_hash });
    expect(resealed.prev_hash).toBe(first.record_hash);
    expect(Object.hasOwn(resealed, 'approval_id')).toBe(false);
    expect(verifyChain([first, resealed])).toEqual({ ok: true });
  });

  it('refuses an entry that would make an invalid record', () => {
    const { code: _code, ...withoutCode } = denialEntry(1);
    expect(() => sealRecord(withoutCode, { recordId: 'rec-0-x', timestampMs: 5, prevHash: ZERO_DIGEST })).toThrow(AuditLogError);
    expect(() => sealRecord({ ...denialEntry(1), extra: 1 } as AuditEntry, { recordId: 'r', timestampMs: 5, prevHash: ZERO_DIGEST })).toThrow(/not a field/);
  });

  it('makes record ids that fit the ID pattern and differ', () => {
    const ids = Array.from({ length: 100 }, (_, i) => newRecordId(i));
    for (const id of ids) expect(id).toMatch(ID_PATTERN);
    expect(new Set(ids).size).toBe(100);
  });
});

describe('verifyChain', () => {
  const records = chainOf(Array.from({ length: 5 }, (_, i) => denialEntry(i)));

  it('accepts a valid chain and the empty chain', () => {
    expect(verifyChain(records)).toEqual({ ok: true });
    expect(verifyChain([])).toEqual({ ok: true });
  });

  it('names each kind of break', () => {
    const edited = copy(records);
    edited[2]!.identity = 'mallory';
    expect(verifyChain(edited)).toMatchObject({ ok: false, index: 2, problem: expect.stringMatching(/record_hash/) });

    const relinked = copy(records);
    relinked[0]!.prev_hash = relinked[1]!.record_hash!;
    expect(verifyChain(relinked)).toMatchObject({ ok: false, index: 0, problem: expect.stringMatching(/genesis/) });

    expect(verifyChain(records.filter((_, i) => i !== 1))).toMatchObject({ ok: false, index: 1, problem: expect.stringMatching(/prev_hash/) });

    const invalid = copy(records);
    delete invalid[3]!.trace_id;
    expect(verifyChain(invalid)).toMatchObject({ ok: false, index: 3, problem: expect.stringMatching(/trace_id is missing/) });

    expect(verifyChain([records[0], 'not a record'])).toMatchObject({ ok: false, index: 1 });
  });

  it('catches a repeated record id even when every link and hash is right', () => {
    const first = sealRecord(denialEntry(0), { recordId: 'rec-same', timestampMs: 1, prevHash: ZERO_DIGEST });
    const second = sealRecord(denialEntry(1), { recordId: 'rec-same', timestampMs: 2, prevHash: first.record_hash });
    expect(verifyChain([first, second])).toMatchObject({ ok: false, index: 1, problem: expect.stringMatching(/twice/) });
  });

  const chainArbitrary = fc.array(entryArbitrary, { minLength: 2, maxLength: 12 }).map(chainOf);
  const fieldNames = ['record_id', 'timestamp_ms', 'identity', 'decision', 'stage', 'request_hash', 'trace_id', 'data_hash', 'request_id', 'action', 'code', 'approval_id', 'outcome', 'prev_hash', 'record_hash', 'extra'];
  const valueArbitrary: fc.Arbitrary<JsonValue | undefined> = fc.oneof(
    fc.constant(undefined), // deletes the field
    fc.string({ maxLength: 12 }),
    fc.integer(),
    fc.constantFrom(ZERO_DIGEST, 'allow', 'deny', 'intent', 'final', 'executed', 'POLICY_DENIED', null, true),
  );

  it('detects any single edit of a field, at that record (property)', () => {
    fc.assert(
      fc.property(chainArbitrary, fc.nat(), fc.constantFrom(...fieldNames), valueArbitrary, (chain, at, field, value) => {
        const index = at % chain.length;
        const edited = copy(chain);
        const record = edited[index]!;
        const before = Object.hasOwn(record, field) ? canonicalize(record[field]) : undefined;
        const after = value === undefined ? undefined : canonicalize(value);
        fc.pre(before !== after); // an edit that changes nothing is not an edit
        if (value === undefined) delete record[field];
        else record[field] = value;
        expect(verifyChain(edited)).toMatchObject({ ok: false, index });
      }),
      { numRuns: 500 },
    );
  });

  it('detects deleting any record but the last, at that position (property)', () => {
    // Cutting the tail off leaves a valid shorter chain: only an anchored head can reveal that.
    fc.assert(
      fc.property(chainArbitrary, fc.nat(), (chain, at) => {
        const index = at % (chain.length - 1);
        expect(verifyChain(chain.filter((_, i) => i !== index))).toMatchObject({ ok: false, index });
      }),
    );
  });

  it('detects swapping any two records, at the first of them (property)', () => {
    fc.assert(
      fc.property(chainArbitrary, fc.nat(), fc.nat(), (chain, a, b) => {
        const [i, j] = [a % chain.length, b % chain.length].sort((x, y) => x - y) as [number, number];
        fc.pre(i !== j);
        const swapped = [...chain];
        [swapped[i], swapped[j]] = [swapped[j]!, swapped[i]!];
        expect(verifyChain(swapped)).toMatchObject({ ok: false, index: i });
      }),
    );
  });

  it('detects a record inserted again anywhere (property)', () => {
    fc.assert(
      fc.property(chainArbitrary, fc.nat(), fc.nat(), (chain, a, b) => {
        const duplicated = [...chain];
        duplicated.splice(b % (chain.length + 1), 0, chain[a % chain.length]!);
        expect(verifyChain(duplicated).ok).toBe(false);
      }),
    );
  });
});

describe('export', () => {
  const records = chainOf(Array.from({ length: 4 }, (_, i) => denialEntry(i)));

  it('JSON: an array that parses back strictly and verifies', () => {
    const parsed = parseStrictJson(exportJson(records));
    expect(parsed).toEqual(records);
    expect(verifyChain(parsed as unknown[])).toEqual({ ok: true });
    expect(parseStrictJson(exportJson([]))).toEqual([]);
  });

  it('NDJSON: one canonical record per line, parsing back and verifying', () => {
    const lines = exportNdjson(records).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(4);
    const parsed = lines.map((line) => parseStrictJson(line));
    lines.forEach((line, i) => expect(line).toBe(canonicalize(parsed[i])));
    expect(verifyChain(parsed)).toEqual({ ok: true });
    expect(exportNdjson([])).toBe('');
  });
});
