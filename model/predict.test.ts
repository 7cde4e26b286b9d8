import { describe, expect, it } from 'vitest';
import { describeChart } from './describe.ts';
import { gateMachine } from './gate-machine.ts';
import { shortestTerminalPaths, terminalKey } from './paths.ts';
import { EMPTY_MEMORY } from './system-memory.ts';
import { MODEL_REQUEST, enumerateGateScenarios, memoryFor, predictDirectCall, predictRequest } from './predict.ts';
import { runScenario } from './simulate.ts';

describe('predictions come from running the chart', () => {
  it('a healthy request executes once, audited before and after', () => {
    const { terminal, outcome } = predictRequest({});
    expect(terminal).toBe('executed');
    expect(outcome.effects).toEqual([{ approvalId: MODEL_REQUEST.approvalId, requestId: MODEL_REQUEST.requestId }]);
    expect(outcome.audit.map((r) => `${r.stage}:${r.decision}`)).toEqual(['intent:allow', 'final:allow']);
    expect(outcome.gatewayEvents).toEqual(['accepted', 'completed']);
  });

  it('request faults deny before the Control Plane is asked', () => {
    const run = predictRequest({ signature: 'invalid', controlPlane: 'timeout' });
    expect(run.outcome.acceptableCodes).toEqual(['SIGNATURE_INVALID']);
    expect(run.steps.map((s) => s.question)).not.toContain('controlPlane');
  });

  it('coinciding faults whose check order is implementation-defined give a set of codes', () => {
    expect(new Set(predictRequest({ identityKey: 'revoked', timestamp: 'stale' }).outcome.acceptableCodes)).toEqual(
      new Set(['KEY_REVOKED', 'TIMESTAMP_STALE']),
    );
    expect(new Set(predictRequest({ envelopeWindow: 'expired', envelopeBinding: 'otherParameters' }).outcome.acceptableCodes)).toEqual(
      new Set(['ENVELOPE_EXPIRED', 'ENVELOPE_BINDING_MISMATCH']),
    );
    // An unknown key leaves nothing to verify a signature with.
    expect(predictRequest({ identityKey: 'unknown', signature: 'invalid' }).outcome.acceptableCodes).toEqual(['KEY_UNKNOWN']);
  });

  it('memory makes replays and single use meaningful, across a restart', () => {
    const first = predictRequest({});
    const replay = predictRequest({}, first.outcome.memory);
    expect(replay.outcome.acceptableCodes).toEqual(['REPLAY_DETECTED']);
    expect(replay.outcome.effects).toEqual([]);
    const otherIdentity = predictRequest({}, first.outcome.memory, { ...MODEL_REQUEST, identity: 'bob', approvalId: 'approval-2' });
    expect(otherIdentity.terminal).toBe('executed');
    const unconfirmedWrite = predictRequest({ nonceStore: 'writeUnconfirmed' });
    expect(predictRequest({}, unconfirmedWrite.outcome.memory).outcome.acceptableCodes).toEqual(['REPLAY_DETECTED']);
  });

  it('a replay while the nonce store fails fails two checks: either code is acceptable', () => {
    const claimed = memoryFor('nonceClaimed');
    expect(predictRequest({ nonceStore: 'writeUnconfirmed' }, claimed).outcome.acceptableCodes.sort()).toEqual(['NONCE_WRITE_UNCONFIRMED', 'REPLAY_DETECTED']);
    expect(predictRequest({ nonceStore: 'unavailable' }, claimed).outcome.acceptableCodes.sort()).toEqual(['NONCE_STORE_UNAVAILABLE', 'REPLAY_DETECTED']);
    // A fresh nonce fails only the store's check.
    expect(predictRequest({ nonceStore: 'unavailable' }).outcome.acceptableCodes).toEqual(['NONCE_STORE_UNAVAILABLE']);
  });

  it('an unconfirmed execution is a denial, with its effect and an "unknown" outcome record', () => {
    const { outcome } = predictRequest({ executionOutcome: 'unconfirmed' });
    expect(outcome.acceptableCodes).toEqual(['EXECUTION_UNCONFIRMED']);
    expect(outcome.effects).toHaveLength(1);
    expect(outcome.audit.at(-1)).toMatchObject({ stage: 'final', decision: 'deny', outcome: 'unknown' });
  });

  it('direct calls to the Execution Layer execute only under a valid, unused envelope', () => {
    expect(predictDirectCall({}).terminal).toBe('executed');
    expect(predictDirectCall({ presentedEnvelope: 'absent' }).outcome.acceptableCodes).toEqual(['ENVELOPE_MISSING']);
    expect(predictDirectCall({}, memoryFor('approvalConsumed')).outcome.acceptableCodes).toEqual(['ENVELOPE_REPLAYED']);
    expect(predictDirectCall({ envelopeSignature: 'untrusted', callBinding: 'mismatched' }).outcome.effects).toEqual([]);
  });

});

describe('two independent traversals agree', () => {
  it('@xstate/graph shortest paths reach exactly the terminal outcomes of the enumeration', () => {
    const enumerated = new Set(enumerateGateScenarios().map((r) => terminalKey(r.outcome.decision, r.outcome.acceptableCodes)));
    const shortest = shortestTerminalPaths();
    expect(new Set(shortest.map((p) => p.terminal))).toEqual(enumerated);
    for (const path of shortest) {
      const scenario = Object.fromEntries(path.steps.map((s) => s.split('.') as [string, string]));
      const run = predictRequest(scenario, memoryFor(path.prior));
      expect(terminalKey(run.outcome.decision, run.outcome.acceptableCodes)).toBe(path.terminal);
    }
  });

  it('every waiting state asks a question and every answer has a transition', () => {
    const chart = describeChart(gateMachine);
    const atomic = chart.states.filter((s) => s.type === 'atomic');
    for (const state of atomic) {
      const leaving = chart.transitions.filter((t) => t.source === state.path);
      expect(state.asks !== undefined || leaving.some((t) => t.event === 'always'), state.path).toBe(true);
    }
  });
});
