/**
 * Breaks INV-3: the replay stage only looks the nonce up; the claim itself is made after the
 * Control Plane allowed, "so that denied requests can be retried" (blind gate B, defect
 * `claim-after-policy`). A replay of a claimed request is still denied before the Control Plane —
 * the look-up knows it, across a restart too — but concurrent copies of one request all pass the
 * look-up and reach the Control Plane; the claim still lets exactly one of them execute.
 */
import type { ApprovalEnvelope, ClientRequest } from '../../model/profile/messages.ts';
import { Denial, Gate } from '../../reference-impl/gate/gate.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';

/**
 * What the look-up reads: the claims made in one nonce store (the environment's durable store
 * in-process, so it outlives a restart as gate B's read of its store does).
 */
const claimsIn = new WeakMap<object, Set<string>>();

class ClaimAfterPolicyGate extends Gate {
  private get claimed(): Set<string> {
    let set = claimsIn.get(this.deps.nonces);
    if (!set) claimsIn.set(this.deps.nonces, (set = new Set()));
    return set;
  }

  protected override async claimNonce(request: ClientRequest): Promise<void> {
    if (this.claimed.has(this.nonceKeyOf(request))) throw new Denial('REPLAY_DETECTED', 'nonce already accepted');
  }

  protected override async askControlPlane(request: ClientRequest): Promise<ApprovalEnvelope> {
    const envelope = await super.askControlPlane(request);
    await super.claimNonce(request);
    this.claimed.add(this.nonceKeyOf(request));
    return envelope;
  }
}

export const nonceClaimedAfterPolicy: Mutant = {
  id: 'nonce-claimed-after-policy',
  breaks: 'the nonce is only looked up before the Control Plane and claimed after its allow, so duplicates reach the Control Plane',
  expected: ['INV-3'],
  target: referenceTarget('mutant:nonce-claimed-after-policy', { makeGate: (deps) => new ClaimAfterPolicyGate(deps) }),
};
