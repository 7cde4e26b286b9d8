/** Breaks INV-3: the Gate keeps nonce claims in its own process memory, so a crash-restart forgets them and a replay executes. Caught by CrashRestart then ReplayEarlier. */
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { ClaimResult, ClaimStore } from '../../reference-impl/stores/claim-store.ts';
import { MemoryClaimStore } from '../../reference-impl/stores/memory-claim-store.ts';
import type { InProcessEnvironment } from '../in-process-target.ts';
import type { Mutant } from './mutant.ts';
import { nonceStoreFault } from './support.ts';

class VolatileNonceStore implements ClaimStore {
  constructor(
    private readonly local: MemoryClaimStore,
    private readonly env: InProcessEnvironment,
  ) {}

  async claim(key: string, expiresAtMs: number): Promise<ClaimResult> {
    // Injected faults still come from the environment's store, so only durability differs.
    const fault = nonceStoreFault(this.env);
    if (fault === 'unconfirmed') await this.local.claim(key, expiresAtMs);
    if (fault !== 'healthy') return this.env.nonces.claim(key, expiresAtMs);
    return this.local.claim(key, expiresAtMs);
  }

  close(): Promise<void> {
    return this.local.close();
  }
}

export const nonceStoreMemoryOnly: Mutant = {
  id: 'nonce-store-memory-only',
  breaks: "the Gate's nonce store is volatile: a crash-restart forgets every claim",
  expected: ['INV-3'],
  // start() runs again on every restart: a new, empty store each time.
  target: referenceTarget('mutant:nonce-store-memory-only', { nonces: (env) => new VolatileNonceStore(new MemoryClaimStore(env.clock), env) }),
};
