/**
 * Breaks INV-6: the Gate marks its Execution Layer calls with `x-gate-verified: 1`, and the
 * Execution Layer skips the envelope's signature and validity window on calls so marked ("the Gate
 * checked them already") — it still checks the binding and single use, so a call tampered with in
 * flight is still refused. The suite's own bypass probes carry no such header and are refused too:
 * only the Gate's call replayed in its own shape (`GateShapedProbe`, issue 10, class 5) catches it.
 * (Blind gate B's `el-trusts-header` skips every check on such calls.)
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { DenialCode } from '../../model/profile/denial-codes.ts';
import type { CallContext, ExecutionCall, ExecutionResult } from '../../reference-impl/execution-layer/execution-layer.ts';
import { ExecutionLayer } from '../../reference-impl/execution-layer/execution-layer.ts';
import { Gate } from '../../reference-impl/gate/gate.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';

export const GATE_MARK = 'x-gate-verified';

class MarkingGate extends Gate {
  protected override executionHeaders(): Readonly<Record<string, string>> {
    return { [GATE_MARK]: '1' };
  }
}

class MarkTrustingExecutionLayer extends ExecutionLayer {
  private readonly fromGate = new AsyncLocalStorage<boolean>();

  override execute(call: unknown, context: CallContext = {}): Promise<ExecutionResult> {
    return this.fromGate.run(context.headers?.[GATE_MARK] === '1', () => super.execute(call, context));
  }

  protected override envelopeFailures(envelope: unknown, call: ExecutionCall): DenialCode[] {
    const codes = super.envelopeFailures(envelope, call);
    if (!this.fromGate.getStore()) return codes;
    // Signature and window were the Gate's job; binding is cheap, so it stays.
    return codes.filter((code) => code === 'ENVELOPE_MISSING' || code === 'ENVELOPE_BINDING_MISMATCH');
  }
}

export const executionLayerTrustsGateHeader: Mutant = {
  id: 'execution-layer-trusts-gate-header',
  breaks: "the Execution Layer skips the envelope's signature and window on calls carrying the Gate's header",
  expected: ['INV-6'],
  target: referenceTarget('mutant:execution-layer-trusts-gate-header', {
    makeGate: (deps) => new MarkingGate(deps),
    makeExecutionLayer: (options) => new MarkTrustingExecutionLayer(options),
  }),
};
