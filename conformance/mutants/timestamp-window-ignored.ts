/** Breaks INV-3 (and INV-4): the Gate does not check timestamp freshness. */
import type { DenialCode } from '../../model/profile/denial-codes.ts';
import type { ClientRequest } from '../../model/profile/messages.ts';
import { Gate } from '../../reference-impl/gate/gate.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';

class TimelessGate extends Gate {
  protected override authenticationFailures(request: ClientRequest): DenialCode[] {
    return super.authenticationFailures(request).filter((code) => code !== 'TIMESTAMP_STALE' && code !== 'TIMESTAMP_FUTURE');
  }
}

export const timestampWindowIgnored: Mutant = {
  id: 'timestamp-window-ignored',
  breaks: 'timestamp freshness is not checked',
  expected: ['INV-3', 'INV-4'],
  target: referenceTarget('mutant:timestamp-window-ignored', { makeGate: (deps) => new TimelessGate(deps) }),
};
