/** Breaks INV-1: the Gate dispatches whatever the Control Plane answered — a deny, garbage, an unsigned or refused envelope — with that envelope or none. */
import type { Mutant } from './mutant.ts';
import { failOpenGate } from './fail-open-gate.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';

export const executesWithoutEnvelope: Mutant = {
  id: 'executes-without-envelope',
  breaks: 'the Gate dispatches when the Control Plane answer is not a valid allow',
  expected: ['INV-1', 'INV-4'],
  target: referenceTarget('mutant:executes-without-envelope', {
    makeGate: failOpenGate([
      'POLICY_DENIED',
      'CONTROL_PLANE_MALFORMED',
      'ENVELOPE_MISSING',
      'ENVELOPE_SIGNATURE_INVALID',
      'ENVELOPE_EXPIRED',
      'ENVELOPE_NOT_YET_VALID',
      'ENVELOPE_BINDING_MISMATCH',
    ]),
  }),
};
