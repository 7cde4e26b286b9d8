/**
 * The Execution Layer's own re-validation, for calls that do not come through the Gate (INV-6):
 * an internal service, a queue worker, a compromised or impersonated Gate. It trusts nobody, so
 * it executes only under a present, trusted, current, exactly bound and unused envelope.
 *
 * Signature, window and binding are independent checks (parallel regions); single use comes last
 * because consuming the approval must be the final, atomic step before the effect.
 */
import { assign, setup } from 'xstate';
import type { DenialCode } from './profile/denial-codes.ts';
import type { AnswerEvent } from './questions.ts';
import { ask } from './questions.ts';
import type { Consumption, ModelEffect, SystemMemory } from './system-memory.ts';
import { hasConsumedApproval } from './system-memory.ts';

export interface DirectCallInput {
  /** the approval id carried by the presented envelope (if one is presented) */
  approvalId: string;
  /** the request id the envelope names */
  requestId: string;
  memory: SystemMemory;
}

export interface DirectCallContext extends DirectCallInput {
  failures: DenialCode[];
  effects: ModelEffect[];
  consumed: Consumption;
}

export interface DirectCallOutcome {
  decision: 'executed' | 'denied';
  acceptableCodes: DenialCode[];
  effects: ModelEffect[];
  consumed: Consumption;
  memory: SystemMemory;
}

const reject = (code: DenialCode, target: string) => ({ target, actions: { type: 'fail', params: { code } } }) as const;

export const executionLayerMachine = setup({
  types: {
    context: {} as DirectCallContext,
    events: {} as AnswerEvent,
    input: {} as DirectCallInput,
    output: {} as DirectCallOutcome,
  },
  actions: {
    fail: assign(({ context }, params: { code: DenialCode }) => ({ failures: [...context.failures, params.code] })),
    consumeApprovalAndExecute: assign(({ context }) => ({
      memory: { ...context.memory, consumedApprovals: [...context.memory.consumedApprovals, context.approvalId] },
      consumed: { ...context.consumed, approvals: [...context.consumed.approvals, context.approvalId] },
      effects: [...context.effects, { approvalId: context.approvalId, requestId: context.requestId }],
    })),
  },
  guards: {
    anyCheckFailed: ({ context }) => context.failures.length > 0,
    approvalAlreadyConsumed: ({ context }) => hasConsumedApproval(context.memory, context.approvalId),
  },
}).createMachine({
  id: 'executionLayer',
  context: ({ input }) => ({ ...input, failures: [], effects: [], consumed: { nonces: [], approvals: [] } }),
  initial: 'receive',
  states: {
    receive: {
      meta: ask('presentedEnvelope', 'an approval envelope accompanies the call'),
      on: {
        'presentedEnvelope.present': 'validate',
        'presentedEnvelope.absent': reject('ENVELOPE_MISSING', '#executionLayer.denied'),
      },
    },
    validate: {
      type: 'parallel',
      states: {
        signature: {
          initial: 'verify',
          states: {
            verify: {
              meta: ask('envelopeSignature', 'signed by a trusted Control Plane key'),
              on: {
                'envelopeSignature.trusted': 'checked',
                'envelopeSignature.untrusted': reject('ENVELOPE_SIGNATURE_INVALID', 'checked'),
              },
            },
            checked: { type: 'final' },
          },
        },
        window: {
          initial: 'checkWindow',
          states: {
            checkWindow: {
              meta: ask('envelopeWindow', 'issued_at ≤ now < expires_at'),
              on: {
                'envelopeWindow.current': 'checked',
                'envelopeWindow.expired': reject('ENVELOPE_EXPIRED', 'checked'),
                'envelopeWindow.notYetValid': reject('ENVELOPE_NOT_YET_VALID', 'checked'),
              },
            },
            checked: { type: 'final' },
          },
        },
        binding: {
          initial: 'checkBinding',
          states: {
            checkBinding: {
              meta: ask('callBinding', 'identity, action and parameter digest recomputed from what is to execute'),
              on: {
                'callBinding.exact': 'checked',
                'callBinding.mismatched': reject('ENVELOPE_BINDING_MISMATCH', 'checked'),
              },
            },
            checked: { type: 'final' },
          },
        },
      },
      onDone: [{ guard: 'anyCheckFailed', target: 'denied' }, { target: 'consume' }],
    },
    consume: {
      always: [
        { guard: 'approvalAlreadyConsumed', ...reject('ENVELOPE_REPLAYED', 'denied') },
        { target: 'executed', actions: 'consumeApprovalAndExecute' },
      ],
    },
    executed: { type: 'final' },
    denied: { type: 'final' },
  },
  output: ({ context }) => ({
    decision: context.failures.length === 0 ? 'executed' : 'denied',
    acceptableCodes: [...new Set(context.failures)],
    effects: context.effects,
    consumed: context.consumed,
    memory: context.memory,
  }),
});
