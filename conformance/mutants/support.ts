/**
 * Small pieces several mutants share: a Gate and Execution Layer that use one (broken) envelope
 * check — a bug in a library both link — and the environment's nonce-store fault, for stores that
 * replace the environment's but must keep its injected faults (so they break one thing only).
 */
import type { DenialCode } from '../../model/profile/denial-codes.ts';
import type { ClientRequest, TrustedKey } from '../../model/profile/messages.ts';
import type { EnvelopeBinding } from '../../model/profile/request-checks.ts';
import { nowSec } from '../../reference-impl/clock.ts';
import type { ExecutionCall } from '../../reference-impl/execution-layer/execution-layer.ts';
import { ExecutionLayer } from '../../reference-impl/execution-layer/execution-layer.ts';
import { Gate } from '../../reference-impl/gate/gate.ts';
import type { ReferenceVariation } from '../../reference-impl/in-process-target.ts';
import type { ClaimStoreFaultMode } from '../../reference-impl/stores/faulty-claim-store.ts';
import { FaultyClaimStore } from '../../reference-impl/stores/faulty-claim-store.ts';
import type { InProcessEnvironment } from '../in-process-target.ts';

export type EnvelopeCheck = (envelope: unknown, bound: EnvelopeBinding, trustedKeys: readonly TrustedKey[], nowSec: number) => DenialCode[];

/** Gate and Execution Layer both validate envelopes with `check` instead of the profile's. */
export function sharedEnvelopeCheck(check: EnvelopeCheck): ReferenceVariation {
  class SharedCheckGate extends Gate {
    protected override envelopeFailures(envelope: unknown, request: ClientRequest): DenialCode[] {
      return check(envelope, request, this.deps.trustedKeys(), nowSec(this.clock));
    }
  }
  class SharedCheckExecutionLayer extends ExecutionLayer {
    protected override envelopeFailures(envelope: unknown, call: ExecutionCall): DenialCode[] {
      return check(envelope, call, this.options.trustedKeys, nowSec(this.clock));
    }
  }
  return { makeGate: (deps) => new SharedCheckGate(deps), makeExecutionLayer: (options) => new SharedCheckExecutionLayer(options) };
}

/** The fault the driver has injected into the environment's nonce store ('healthy' if it cannot). */
export function nonceStoreFault(env: InProcessEnvironment): ClaimStoreFaultMode {
  return env.nonces instanceof FaultyClaimStore ? env.nonces.mode : 'healthy';
}
