/**
 * Breaks INV-2: once the signature has verified, the Gate "normalises" the parameters' numbers to
 * six decimals (`parseFloat(n.toFixed(6))`, micro-units, as a money column would keep them) and
 * carries on with them: it asks the Control Plane about them, checks the envelope against them and
 * executes them — consistently, so every digest agrees — but 0.1 + 0.2 runs as 0.3 and 5e-324 as
 * 0: not what the client signed. Every number the harness used to send was a small integer.
 */
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import type { ClientRequest } from '../../model/profile/messages.ts';
import { Gate } from '../../reference-impl/gate/gate.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';

function rounded(value: JsonValue): JsonValue {
  if (typeof value === 'number') return Number.parseFloat(value.toFixed(6));
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(rounded);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rounded(v)]));
}

class RoundingGate extends Gate {
  protected override authenticate(request: ClientRequest): void {
    super.authenticate(request);
    (request as { parameters: JsonValue }).parameters = rounded(request.parameters);
  }
}

export const parametersRoundedTo6Decimals: Mutant = {
  id: 'parameters-rounded-to-6-decimals',
  breaks: 'after the signature verifies, the Gate rounds the parameters\' numbers to six decimals and goes on with them',
  expected: ['INV-2'],
  target: referenceTarget('mutant:parameters-rounded-to-6-decimals', { makeGate: (deps) => new RoundingGate(deps) }),
};
