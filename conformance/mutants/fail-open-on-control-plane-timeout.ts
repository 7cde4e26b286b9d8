/** Breaks INV-4 (and INV-1): on a Control Plane timeout the Gate dispatches without an envelope. */
import type { Mutant } from './mutant.ts';
import { failOpenGate } from './fail-open-gate.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';

export const failOpenOnControlPlaneTimeout: Mutant = {
  id: 'fail-open-on-control-plane-timeout',
  breaks: 'on a Control Plane timeout the Gate proceeds to dispatch',
  expected: ['INV-4', 'INV-1'],
  target: referenceTarget('mutant:fail-open-on-control-plane-timeout', { makeGate: failOpenGate(['CONTROL_PLANE_TIMEOUT']) }),
};
