/**
 * Breaks INV-3 and INV-4: the Gate and the Execution Layer read the clock as Math.round(ms / 1000)
 * instead of floor, so in the second half of every second they already read the next one: a
 * request one second past the future edge, or an envelope issued the next second, is accepted;
 * one exactly at the stale edge is refused. Caught by the time-edge probes sent after the middle
 * of a second (TimestampAtEdge, EnvelopeAtEdge).
 */
import type { DenialCode } from '../../model/profile/denial-codes.ts';
import type { ClientRequest } from '../../model/profile/messages.ts';
import { authenticateRequest, checkEnvelope } from '../../model/profile/request-checks.ts';
import type { ExecutionCall } from '../../reference-impl/execution-layer/execution-layer.ts';
import { ExecutionLayer } from '../../reference-impl/execution-layer/execution-layer.ts';
import { Gate } from '../../reference-impl/gate/gate.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';

const roundedSec = (ms: number) => Math.round(ms / 1000);

class RoundingGate extends Gate {
  protected override authenticationFailures(request: ClientRequest): DenialCode[] {
    return authenticateRequest(request, this.deps.identityKeys(), roundedSec(this.clock.nowMs()), this.settings.acceptanceWindowSec);
  }
  protected override envelopeFailures(envelope: unknown, request: ClientRequest): DenialCode[] {
    return checkEnvelope(envelope, request, this.deps.trustedKeys(), roundedSec(this.clock.nowMs()));
  }
}

class RoundingExecutionLayer extends ExecutionLayer {
  protected override envelopeFailures(envelope: unknown, call: ExecutionCall): DenialCode[] {
    return checkEnvelope(envelope, call, this.options.trustedKeys, roundedSec(this.clock.nowMs()));
  }
}

export const clockRounded: Mutant = {
  id: 'clock-rounded',
  breaks: 'the clock is read as Math.round(ms / 1000), not floored: half of every second it reads the next one',
  expected: ['INV-3', 'INV-4'],
  target: referenceTarget('mutant:clock-rounded', {
    makeGate: (deps) => new RoundingGate(deps),
    makeExecutionLayer: (options) => new RoundingExecutionLayer(options),
  }),
};
