/** Breaks INV-4 (and INV-1): on an unreachable Control Plane or a garbage (5xx) answer the Gate dispatches without an envelope. */
import type { Mutant } from './mutant.ts';
import { failOpenGate } from './fail-open-gate.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';

export const failOpenOnControlPlaneError: Mutant = {
  id: 'fail-open-on-control-plane-error',
  breaks: 'on an unreachable Control Plane or a 5xx answer the Gate proceeds to dispatch',
  expected: ['INV-4', 'INV-1'],
  target: referenceTarget('mutant:fail-open-on-control-plane-error', {
    makeGate: failOpenGate(['CONTROL_PLANE_UNAVAILABLE', 'CONTROL_PLANE_MALFORMED']),
  }),
};
