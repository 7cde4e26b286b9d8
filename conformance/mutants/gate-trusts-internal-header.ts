/**
 * Breaks INV-3: the Gate takes `x-gateway-authenticated: <identity>` — meant to be set by an
 * internal API gateway that already authenticated the caller — as proof, and skips the key,
 * signature and timestamp checks of a request claiming that identity. The suite never sent extra
 * headers before; `TrustHeaders` (issue 10, class 5) sends requests the Gate must deny with headers
 * like this one. (Blind gate A's `trust-gateway-header`.)
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { DenialCode } from '../../model/profile/denial-codes.ts';
import type { ClientRequest } from '../../model/profile/messages.ts';
import type { GateAnswer, RequestContext } from '../../reference-impl/gate/gate.ts';
import { Gate } from '../../reference-impl/gate/gate.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';

class GatewayTrustingGate extends Gate {
  private readonly vouchedFor = new AsyncLocalStorage<string | undefined>();

  override handle(body: Uint8Array, context: RequestContext = {}): Promise<GateAnswer> {
    return this.vouchedFor.run(context.headers?.['x-gateway-authenticated'], () => super.handle(body, context));
  }

  protected override authenticationFailures(request: ClientRequest): DenialCode[] {
    if (this.vouchedFor.getStore() === request.identity) return [];
    return super.authenticationFailures(request);
  }
}

export const gateTrustsInternalHeader: Mutant = {
  id: 'gate-trusts-internal-header',
  breaks: 'the Gate skips authentication for requests carrying x-gateway-authenticated with their identity',
  expected: ['INV-3'],
  target: referenceTarget('mutant:gate-trusts-internal-header', { makeGate: (deps) => new GatewayTrustingGate(deps) }),
};
