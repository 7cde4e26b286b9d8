/**
 * Breaks INV-5: the Gate derives a request's trace_id from the digest of its bytes ("a stable,
 * reproducible trace"), so identical bytes sent twice share one trace: the replay's records and
 * events join the original's, and no trace identifies one request any more. CONTRACT.md section 3:
 * a trace_id is fresh for every HTTP request received, identical bytes included.
 */
import { sha256Digest } from '../../model/profile/digest.ts';
import { Gate } from '../../reference-impl/gate/gate.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';

class DigestTraceGate extends Gate {
  protected override newTraceId(body: Uint8Array): string {
    return `trace-${sha256Digest(body).slice('sha256:'.length, 'sha256:'.length + 32)}`;
  }
}

export const traceIdReusedForIdenticalBytes: Mutant = {
  id: 'trace-id-reused-for-identical-bytes',
  breaks: 'the trace_id is derived from the request bytes: identical bytes sent twice share one trace',
  expected: ['INV-5'],
  target: referenceTarget('mutant:trace-id-reused-for-identical-bytes', { makeGate: (deps) => new DigestTraceGate(deps) }),
};
