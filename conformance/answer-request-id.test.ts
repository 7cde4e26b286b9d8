/**
 * CONTRACT.md section 3: an executed answer carries the request's request_id, and so does a denial
 * once the structure check passed. A gate that leaves it out is non-compliant (a contract finding);
 * the reference, which keeps it, is compliant.
 */
import { describe, expect, it } from 'vitest';
import type { GateAnswer } from '../reference-impl/gate/gate.ts';
import { Gate } from '../reference-impl/gate/gate.ts';
import { referenceTarget } from '../reference-impl/in-process-target.ts';
import { InProcessDriver } from '../harness/drivers/in-process.ts';
import { PROFILES } from './profiles.ts';
import { runSuite } from './runner.ts';
import { missingRequestId } from './run-context.ts';
import { predictRequest } from '../model/predict.ts';

/** Answers without request_id when it executed (the client has to guess which request ran). */
class AnonymousAnswersGate extends Gate {
  override async handle(body: Uint8Array, context?: Parameters<Gate['handle']>[1]): Promise<GateAnswer> {
    const answer = await super.handle(body, context);
    if (answer.status !== 'executed') return answer;
    const { request_id: _left, ...rest } = answer as GateAnswer & { request_id?: string };
    return rest as GateAnswer;
  }
}

describe('answers carry the request_id', () => {
  it('a gate whose executed answers leave it out is non-compliant, with a contract finding that says so', { timeout: 60_000 }, async () => {
    const report = await runSuite((h) => new InProcessDriver(referenceTarget('anonymous-answers', { makeGate: (deps) => new AnonymousAnswersGate(deps) }), h), { profile: PROFILES.quick, seed: 41, runs: 0 });
    expect(report.verdict).toBe('non-compliant');
    expect(report.contractFindings[0]?.message).toMatch(/^answer without its request_id: .*the answer has none/);
  });

  it('what counts: executed always; a denial only once the structure check passed', () => {
    const request = { requestId: 'req-1', identity: 'alice', action: 'a', nonce: 'n', approvalId: 'ap' };
    const executed = predictRequest({}, undefined, request);
    expect(missingRequestId(executed, { status: 'executed' })).toMatch(/the answer has none/);
    expect(missingRequestId(executed, { status: 'executed', request_id: 'req-2' })).toMatch(/says "req-2"/);
    expect(missingRequestId(executed, { status: 'executed', request_id: 'req-1' })).toBeUndefined();
    const malformed = predictRequest({ requestShape: 'malformed' }, undefined, request);
    expect(missingRequestId(malformed, { status: 'denied', code: 'REQUEST_MALFORMED' })).toBeUndefined();
    const replayed = predictRequest({ signature: 'invalid' }, undefined, request);
    expect(missingRequestId(replayed, { status: 'denied', code: 'SIGNATURE_INVALID' })).toMatch(/the answer has none/);
    expect(missingRequestId(executed, { status: 'indeterminate' })).toBeUndefined();
  });
});
