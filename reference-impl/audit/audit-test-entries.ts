/** Valid audit entries for the audit tests (not a test file itself). */
import fc from 'fast-check';
import type { Digest } from '../../model/profile/digest.ts';
import { sha256Digest } from '../../model/profile/digest.ts';
import type { AuditEntry } from './audit-log.ts';

export const digestArbitrary: fc.Arbitrary<Digest> = fc
  .string({ maxLength: 8 })
  .map((seed) => sha256Digest(seed));

const attribution = {
  identity: fc.constantFrom('alice', 'bob', 'unknown'),
  request_hash: digestArbitrary,
  trace_id: fc.stringMatching(/^trace-[a-z0-9]{1,8}$/),
  data_hash: digestArbitrary,
  request_id: fc.stringMatching(/^req-[0-9]{1,4}$/),
  action: fc.constantFrom('transfer', 'delete-user'),
};

/** The three kinds of record the Gate writes: a denial, an intent, and an execution's final. */
export const entryArbitrary: fc.Arbitrary<AuditEntry> = fc.oneof(
  fc.record({ ...attribution, decision: fc.constant('deny' as const), stage: fc.constant('final' as const), code: fc.constantFrom('POLICY_DENIED' as const, 'REPLAY_DETECTED' as const) }),
  fc.record({ ...attribution, decision: fc.constant('allow' as const), stage: fc.constant('intent' as const), approval_id: fc.stringMatching(/^apr-[0-9]{1,4}$/) }),
  fc.record({ ...attribution, decision: fc.constant('allow' as const), stage: fc.constant('final' as const), approval_id: fc.stringMatching(/^apr-[0-9]{1,4}$/), outcome: fc.constant('executed' as const) }),
);

/** A fixed denial entry; `n` varies it. */
export function denialEntry(n: number): AuditEntry {
  return {
    identity: 'alice',
    decision: 'deny',
    stage: 'final',
    request_hash: sha256Digest(`request ${n}`),
    trace_id: `trace-${n}`,
    data_hash: sha256Digest(''),
    request_id: `req-${n}`,
    action: 'transfer',
    code: 'POLICY_DENIED',
  };
}
