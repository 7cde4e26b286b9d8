/**
 * The oracle: one request's path through a compliant Gate, as an XState v5 statechart.
 *
 * Read it top to bottom; it is the pipeline of the spec:
 *   structure → authenticate (identity ∥ freshness) → replay → policy → envelope (window ∥ binding)
 *   → auditIntent → dispatch (link → Execution Layer re-validation → outcome) → executed | denied
 *
 * Every waiting state asks the environment one question (see questions.ts) and each answer is an
 * event. Checks whose order the spec leaves to the implementation are *parallel regions*: each
 * region records the codes of the checks that failed, and when all regions are done the Gate
 * denies with any one of them — so the prediction is a set of acceptable codes.
 *
 * `passed` records every check passed on the way, so the model check can prove that `executed`
 * is reached only through all of them; `memory` is the system's durable memory of claimed nonces
 * and consumed approvals.
 */
import { and, assign, setup } from 'xstate';
import type { DenialCode } from './profile/denial-codes.ts';
import type { AnswerEvent } from './questions.ts';
import { ask } from './questions.ts';
import type { Consumption, ModelAuditRecord, ModelEffect, ModelRequest, SystemMemory } from './system-memory.ts';
import { hasClaimedNonce, hasConsumedApproval, nonceKeyOf } from './system-memory.ts';

/** Every check a request must pass before it may execute, in pipeline order. */
export const GATE_CHECKS = [
  'structure',
  'nonceFormat',
  'keyKnown',
  'keyActive',
  'signature',
  'freshness',
  'nonceUnused',
  'nonceClaimConfirmed',
  'policyAnswered',
  'policyAllowed',
  'envelopePresent',
  'envelopeSigned',
  'envelopeCurrent',
  'envelopeBound',
  'intentAudited',
  'linkUp',
  'approvalUnused',
] as const;
export type GateCheck = (typeof GATE_CHECKS)[number];

export interface GateInput {
  request: ModelRequest;
  memory: SystemMemory;
}

export interface GateContext {
  request: ModelRequest;
  memory: SystemMemory;
  passed: GateCheck[];
  /** codes of failed checks; any one of them is an acceptable denial code */
  failures: DenialCode[];
  audit: ModelAuditRecord[];
  effects: ModelEffect[];
  consumed: Consumption;
  /** gateway events keyed by request id: accepted / completed / failed */
  gatewayEvents: ('accepted' | 'completed' | 'failed')[];
}

export interface GateOutcome {
  decision: 'executed' | 'denied';
  /** empty when executed */
  acceptableCodes: DenialCode[];
  passed: GateCheck[];
  audit: ModelAuditRecord[];
  effects: ModelEffect[];
  consumed: Consumption;
  memory: SystemMemory;
  gatewayEvents: GateContext['gatewayEvents'];
}

const deny = (code: DenialCode) =>
  ({ target: '#gate.denied', actions: { type: 'fail', params: { code } } }) as const;
const failRegion = (code: DenialCode, target: string) =>
  ({ target, actions: { type: 'fail', params: { code } } }) as const;
const pass = (check: GateCheck, target: string) =>
  ({ target, actions: { type: 'pass', params: { check } } }) as const;

export const gateMachine = setup({
  types: {
    context: {} as GateContext,
    events: {} as AnswerEvent,
    input: {} as GateInput,
    output: {} as GateOutcome,
  },
  actions: {
    pass: assign(({ context }, params: { check: GateCheck }) => ({ passed: [...context.passed, params.check] })),
    passAll: assign(({ context }, params: { checks: GateCheck[] }) => ({ passed: [...context.passed, ...params.checks] })),
    fail: assign(({ context }, params: { code: DenialCode }) => ({ failures: [...context.failures, params.code] })),
    emitAccepted: assign(({ context }) => ({ gatewayEvents: [...context.gatewayEvents, 'accepted' as const] })),
    // A claim inserts into a set: an unconfirmed write of an already-claimed nonce consumes nothing new.
    claimNonce: assign(({ context }) => {
      const key = nonceKeyOf(context.request);
      if (context.memory.claimedNonces.includes(key)) return {};
      return {
        memory: { ...context.memory, claimedNonces: [...context.memory.claimedNonces, key] },
        consumed: { ...context.consumed, nonces: [...context.consumed.nonces, key] },
      };
    }),
    writeIntentRecord: assign(({ context }) => ({
      audit: [
        ...context.audit,
        { stage: 'intent', decision: 'allow', approvalId: context.request.approvalId, identityKnown: true } as const,
      ],
    })),
    /** The Execution Layer consumes the approval and the action happens. */
    executeAtExecutionLayer: assign(({ context }) => {
      const { approvalId, requestId } = context.request;
      return {
        memory: { ...context.memory, consumedApprovals: [...context.memory.consumedApprovals, approvalId] },
        consumed: { ...context.consumed, approvals: [...context.consumed.approvals, approvalId] },
        effects: [...context.effects, { approvalId, requestId }],
      };
    }),
    writeExecutedRecord: assign(({ context }) => ({
      audit: [
        ...context.audit,
        { stage: 'final', decision: 'allow', approvalId: context.request.approvalId, outcome: 'executed', identityKnown: true } as const,
      ],
      gatewayEvents: [...context.gatewayEvents, 'completed' as const],
    })),
    writeDenialRecord: assign(({ context }) => {
      const dispatched = context.passed.includes('intentAudited');
      const record: ModelAuditRecord = {
        stage: 'final',
        decision: 'deny',
        codes: context.failures,
        identityKnown: context.passed.includes('structure'),
        // Dispatched: the Execution Layer refused (failed) or nobody can tell (unknown).
        ...(dispatched
          ? { approvalId: context.request.approvalId, outcome: context.failures.includes('EXECUTION_UNCONFIRMED') ? ('unknown' as const) : ('failed' as const) }
          : {}),
      };
      const accepted = context.gatewayEvents.includes('accepted');
      return {
        audit: [...context.audit, record],
        gatewayEvents: accepted ? [...context.gatewayEvents, 'failed' as const] : context.gatewayEvents,
      };
    }),
  },
  guards: {
    anyCheckFailed: ({ context }) => context.failures.length > 0,
    onlyFreshnessFailed: ({ context }) =>
      context.failures.length > 0 && context.failures.every((code) => code === 'TIMESTAMP_STALE' || code === 'TIMESTAMP_FUTURE'),
    nonceAlreadyClaimed: ({ context }) => hasClaimedNonce(context.memory, context.request),
    approvalAlreadyConsumed: ({ context }) => hasConsumedApproval(context.memory, context.request.approvalId),
  },
}).createMachine({
  id: 'gate',
  context: ({ input }) => ({
    request: input.request,
    memory: input.memory,
    passed: [],
    failures: [],
    audit: [],
    effects: [],
    consumed: { nonces: [], approvals: [] },
    gatewayEvents: [],
  }),
  initial: 'structure',
  states: {
    structure: {
      meta: ask('requestShape', 'strict JSON, every field present and typed, nonce format'),
      on: {
        'requestShape.wellFormed': {
          target: 'authenticate',
          actions: [{ type: 'passAll', params: { checks: ['structure', 'nonceFormat'] } }, 'emitAccepted'],
        },
        'requestShape.malformed': deny('REQUEST_MALFORMED'),
        'requestShape.nonceMalformed': {
          target: '#gate.denied',
          actions: [{ type: 'pass', params: { check: 'structure' } }, 'emitAccepted', { type: 'fail', params: { code: 'NONCE_MALFORMED' } }],
        },
      },
    },

    // Identity and freshness are independent; a Gate may check them in either order.
    authenticate: {
      type: 'parallel',
      states: {
        identity: {
          initial: 'lookUpKey',
          states: {
            lookUpKey: {
              meta: ask('identityKey', 'key_id registered for this identity, and not revoked'),
              on: {
                'identityKey.active': { target: 'verifySignature', actions: { type: 'passAll', params: { checks: ['keyKnown', 'keyActive'] } } },
                // A revoked key's signature may still be checked: either code is acceptable.
                'identityKey.revoked': { target: 'verifySignature', actions: [{ type: 'pass', params: { check: 'keyKnown' } }, { type: 'fail', params: { code: 'KEY_REVOKED' } }] },
                // Without a key there is nothing to verify the signature with.
                'identityKey.unknown': failRegion('KEY_UNKNOWN', 'checked'),
              },
            },
            verifySignature: {
              meta: ask('signature', 'Ed25519 over the canonical signed fields'),
              on: {
                'signature.valid': pass('signature', 'checked'),
                'signature.invalid': failRegion('SIGNATURE_INVALID', 'checked'),
              },
            },
            checked: { type: 'final' },
          },
        },
        freshness: {
          initial: 'checkTimestamp',
          states: {
            checkTimestamp: {
              meta: ask('timestamp', '|now − timestamp| within the acceptance window'),
              on: {
                'timestamp.inWindow': pass('freshness', 'checked'),
                'timestamp.stale': failRegion('TIMESTAMP_STALE', 'checked'),
                'timestamp.future': failRegion('TIMESTAMP_FUTURE', 'checked'),
              },
            },
            checked: { type: 'final' },
          },
        },
      },
      onDone: [
        // An authentic request replayed after its timestamp left the window fails two checks, freshness
        // and replay: either code is correct (CONTRACT.md section 10), whatever the Gate checks first.
        { guard: and(['onlyFreshnessFailed', 'nonceAlreadyClaimed']), target: 'denied', actions: { type: 'fail', params: { code: 'REPLAY_DETECTED' } } },
        { guard: 'anyCheckFailed', target: 'denied' },
        { target: 'replay' },
      ],
    },

    // Only an authentic, fresh request may claim its nonce (else anyone could burn nonces, and the
    // store would need to remember forever instead of for the replay window).
    replay: {
      meta: ask('nonceStore', 'atomic, linearizable claim of (identity, action, nonce)'),
      on: {
        'nonceStore.available': [
          { guard: 'nonceAlreadyClaimed', ...deny('REPLAY_DETECTED') },
          {
            target: 'policy',
            actions: ['claimNonce', { type: 'passAll', params: { checks: ['nonceUnused', 'nonceClaimConfirmed'] } }],
          },
        ],
        // A nonce already claimed fails the replay check too: a Gate that knows it (a cache of claims,
        // a read before the write) may answer REPLAY_DETECTED — any code of a failing check is correct.
        'nonceStore.unavailable': [
          { guard: 'nonceAlreadyClaimed', target: '#gate.denied', actions: [{ type: 'fail', params: { code: 'NONCE_STORE_UNAVAILABLE' } }, { type: 'fail', params: { code: 'REPLAY_DETECTED' } }] },
          deny('NONCE_STORE_UNAVAILABLE'),
        ],
        // The claim may have landed: the nonce is burnt for good, and the request is still denied.
        'nonceStore.writeUnconfirmed': [
          { guard: 'nonceAlreadyClaimed', target: '#gate.denied', actions: [{ type: 'fail', params: { code: 'NONCE_WRITE_UNCONFIRMED' } }, { type: 'fail', params: { code: 'REPLAY_DETECTED' } }] },
          { target: '#gate.denied', actions: ['claimNonce', { type: 'fail', params: { code: 'NONCE_WRITE_UNCONFIRMED' } }] },
        ],
      },
    },

    policy: {
      meta: ask('controlPlane', 'policy evaluated by the Control Plane, answer within the deadline'),
      on: {
        'controlPlane.allow': {
          target: 'envelope',
          actions: { type: 'passAll', params: { checks: ['policyAnswered', 'policyAllowed', 'envelopePresent', 'envelopeSigned'] } },
        },
        'controlPlane.deny': deny('POLICY_DENIED'),
        'controlPlane.unreachable': deny('CONTROL_PLANE_UNAVAILABLE'),
        'controlPlane.timeout': deny('CONTROL_PLANE_TIMEOUT'),
        'controlPlane.malformed': deny('CONTROL_PLANE_MALFORMED'),
        'controlPlane.unsignedAllow': deny('ENVELOPE_MISSING'),
        'controlPlane.forged': deny('ENVELOPE_SIGNATURE_INVALID'),
        // The allow came after the deadline: the Gate has already answered, and it never acts on it.
        'controlPlane.lateAllow': deny('CONTROL_PLANE_TIMEOUT'),
      },
    },

    // The envelope's window and binding are independent checks, in either order.
    envelope: {
      type: 'parallel',
      states: {
        window: {
          initial: 'checkWindow',
          states: {
            checkWindow: {
              meta: ask('envelopeWindow', 'issued_at ≤ now < expires_at'),
              on: {
                'envelopeWindow.current': pass('envelopeCurrent', 'checked'),
                'envelopeWindow.expired': failRegion('ENVELOPE_EXPIRED', 'checked'),
                'envelopeWindow.notYetValid': failRegion('ENVELOPE_NOT_YET_VALID', 'checked'),
              },
            },
            checked: { type: 'final' },
          },
        },
        binding: {
          initial: 'checkBinding',
          states: {
            checkBinding: {
              meta: ask('envelopeBinding', 'request_id, identity, action and parameter digest are this request\'s'),
              on: {
                'envelopeBinding.exact': pass('envelopeBound', 'checked'),
                'envelopeBinding.otherRequest': failRegion('ENVELOPE_BINDING_MISMATCH', 'checked'),
                'envelopeBinding.otherIdentity': failRegion('ENVELOPE_BINDING_MISMATCH', 'checked'),
                'envelopeBinding.otherAction': failRegion('ENVELOPE_BINDING_MISMATCH', 'checked'),
                'envelopeBinding.otherParameters': failRegion('ENVELOPE_BINDING_MISMATCH', 'checked'),
              },
            },
            checked: { type: 'final' },
          },
        },
      },
      onDone: [{ guard: 'anyCheckFailed', target: 'denied' }, { target: 'auditIntent' }],
    },

    // Audit before effect: no intent record, no dispatch.
    auditIntent: {
      meta: ask('auditStore', 'intent record written durably before dispatch'),
      on: {
        'auditStore.available': { target: 'dispatch', actions: ['writeIntentRecord', { type: 'pass', params: { check: 'intentAudited' } }] },
        'auditStore.failing': deny('AUDIT_UNAVAILABLE'),
      },
    },

    dispatch: {
      initial: 'link',
      states: {
        link: {
          meta: ask('executionLink', 'the Execution Layer is reachable now; nothing is queued for later'),
          on: {
            'executionLink.up': pass('linkUp', 'executionLayer'),
            'executionLink.partitioned': deny('EXECUTION_UNAVAILABLE'),
            // The Execution Layer recomputes the binding from what arrives, and refuses.
            'executionLink.tampered': { ...deny('ENVELOPE_BINDING_MISMATCH'), actions: [{ type: 'pass', params: { check: 'linkUp' } }, { type: 'fail', params: { code: 'ENVELOPE_BINDING_MISMATCH' } }] },
            // Sent, but it arrives only after the Gate gave up on it: the Gate cannot say it did not run.
            'executionLink.delayed': { target: 'deliveredLate', actions: { type: 'pass', params: { check: 'linkUp' } } },
          },
        },
        // The call reaches the Execution Layer after the Gate answered EXECUTION_UNCONFIRMED; the
        // Execution Layer re-validates it as any call, so an unused approval runs — late.
        deliveredLate: {
          always: [
            { guard: 'approvalAlreadyConsumed', ...deny('EXECUTION_UNCONFIRMED') },
            { target: '#gate.denied', actions: ['executeAtExecutionLayer', { type: 'fail', params: { code: 'EXECUTION_UNCONFIRMED' } }] },
          ],
        },
        // The Execution Layer re-validates on its own (see execution-layer-machine.ts); the one
        // check a valid envelope can still fail there is single use of the approval.
        executionLayer: {
          always: [
            { guard: 'approvalAlreadyConsumed', ...deny('ENVELOPE_REPLAYED') },
            { target: 'awaitOutcome', actions: [{ type: 'pass', params: { check: 'approvalUnused' } }, 'executeAtExecutionLayer'] },
          ],
        },
        awaitOutcome: {
          meta: ask('executionOutcome', 'the Execution Layer confirms what it executed'),
          on: {
            'executionOutcome.confirmed': '#gate.executed',
            // It executed, but the Gate cannot prove it: never report success.
            'executionOutcome.unconfirmed': deny('EXECUTION_UNCONFIRMED'),
          },
        },
      },
    },

    executed: { type: 'final', entry: 'writeExecutedRecord' },
    denied: { type: 'final', entry: 'writeDenialRecord' },
  },
  output: ({ context }) => ({
    decision: context.effects.length > 0 && context.failures.length === 0 ? 'executed' : 'denied',
    acceptableCodes: [...new Set(context.failures)],
    passed: context.passed,
    audit: context.audit,
    effects: context.effects,
    consumed: context.consumed,
    memory: context.memory,
    gatewayEvents: context.gatewayEvents,
  }),
});
