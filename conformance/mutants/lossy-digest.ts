/**
 * A binding digest that loses information, used everywhere the system computes one (a shared
 * library bug): the digest the Gate sends the Control Plane, and the binding checks of Gate and
 * Execution Layer. The harness plays the Control Plane and digests honestly, so against it such a
 * system refuses its own valid requests whenever the lost information is present.
 */
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import type { DenialCode } from '../../model/profile/denial-codes.ts';
import { digestJson } from '../../model/profile/digest.ts';
import type { ClientRequest } from '../../model/profile/messages.ts';
import { checkEnvelope } from '../../model/profile/request-checks.ts';
import { nowSec } from '../../reference-impl/clock.ts';
import type { ExecutionCall } from '../../reference-impl/execution-layer/execution-layer.ts';
import { ExecutionLayer } from '../../reference-impl/execution-layer/execution-layer.ts';
import type { GateDependencies } from '../../reference-impl/gate/gate.ts';
import { Gate } from '../../reference-impl/gate/gate.ts';
import type { ReferenceVariation } from '../../reference-impl/in-process-target.ts';

export type Projection = (parameters: JsonValue) => JsonValue;

export function lossyDigest(project: Projection): ReferenceVariation {
  class LossyGate extends Gate {
    constructor(deps: GateDependencies) {
      const controlPlane: GateDependencies['controlPlane'] = {
        ask: (question, signal) => deps.controlPlane.ask({ ...question, parameters_digest: digestJson(project(question.parameters)) }, signal),
      };
      super({ ...deps, controlPlane });
    }
    protected override envelopeFailures(envelope: unknown, request: ClientRequest): DenialCode[] {
      return checkEnvelope(envelope, { ...request, parameters: project(request.parameters) }, this.deps.trustedKeys(), nowSec(this.clock));
    }
  }
  class LossyExecutionLayer extends ExecutionLayer {
    protected override envelopeFailures(envelope: unknown, call: ExecutionCall): DenialCode[] {
      return checkEnvelope(envelope, { ...call, parameters: project(call.parameters) }, this.options.trustedKeys, nowSec(this.clock));
    }
  }
  return { makeGate: (deps) => new LossyGate(deps), makeExecutionLayer: (options) => new LossyExecutionLayer(options) };
}
