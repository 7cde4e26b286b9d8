/**
 * Breaks INV-3 across replicas only: each replica keeps the nonce claims it made in a cache of its
 * own process, decides replays by that cache, and writes a triple it has not seen to the shared
 * store as an upsert — a triple claimed through another replica is claimed again. On one replica
 * it is correct (the cache outlives the Gate's restarts, as the process does; store faults pass
 * through), so it exists only over HTTP with two replicas: the kill matrix over HTTP runs it so,
 * and duplicates spread over replicas (`SpreadDuplicates`, `ReplayThroughOtherReplica`, issue 10,
 * class 7) catch it.
 */
import type { ClientRequest } from '../../model/profile/messages.ts';
import { Denial, Gate } from '../../reference-impl/gate/gate.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';

/**
 * One cache per system: over HTTP per process (the registry lookup lives as long as the process),
 * in-process per environment (a reset starts a new one, a crash keeps it).
 */
const caches = new WeakMap<object, Set<string>>();

class ReplicaCachingGate extends Gate {
  private get cache(): Set<string> {
    let cache = caches.get(this.deps.identityKeys);
    if (!cache) caches.set(this.deps.identityKeys, (cache = new Set()));
    return cache;
  }

  protected override async claimNonce(request: ClientRequest): Promise<void> {
    const key = this.nonceKeyOf(request);
    if (this.cache.has(key)) throw new Denial('REPLAY_DETECTED', 'claimed through this replica');
    this.cache.add(key);
    try {
      await super.claimNonce(request);
    } catch (error) {
      // The shared store is written through; its "already claimed" is taken for an idempotent write.
      if (error instanceof Denial && error.code === 'REPLAY_DETECTED') return;
      if (!(error instanceof Denial && error.code === 'NONCE_WRITE_UNCONFIRMED')) this.cache.delete(key);
      throw error;
    }
  }
}

export const replicaClaimCache: Mutant = {
  id: 'replica-claim-cache',
  breaks: "each replica decides replays by its own cache and upserts the shared store: a triple claimed through another replica executes again",
  expected: ['INV-3'],
  target: referenceTarget('mutant:replica-claim-cache', { makeGate: (deps) => new ReplicaCachingGate(deps) }),
  onlyOver: 'http',
  replicas: 2,
};
