/**
 * Breaks INV-4 (and INV-3: an allow that came after the restart executes): the Gate's restart
 * starts a new generation on the durable state but leaves the old one's requests running — their
 * open exchanges, their stores. A request that was waiting for the Control Plane when the gate
 * restarted acts on the allow that arrives afterwards: it writes its intent and dispatches, an
 * effect of a crashed process. Caught by `CrashAwaitingApproval`, which holds the Control Plane's
 * answer across the restart (CONTRACT.md section 9.1: once `restart` has answered, nothing of the
 * crashed instance acts any more).
 *
 * In-process only: over HTTP, `failclosed serve` waits for the old generation's requests and then
 * closes its stores before it starts the next, whatever the Gate's own halt does.
 */
import { Gate } from '../../reference-impl/gate/gate.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';

class RestartLeavesRequestsRunningGate extends Gate {
  /** a restart that only starts anew: the requests already here carry on */
  override halt(): void {}
}

export const restartLeavesRequestsRunning: Mutant = {
  id: 'restart-leaves-requests-running',
  breaks: "a restart leaves the crashed generation's requests running: one waiting for the Control Plane acts on an allow that arrives after the restart",
  expected: ['INV-3'],
  target: referenceTarget('mutant:restart-leaves-requests-running', {
    makeGate: (deps) => new RestartLeavesRequestsRunningGate(deps),
    onlyInProcess: 'changes only what a restart of the in-process system does (`failclosed serve` drains the crashed generation and closes its stores itself)',
  }),
};
