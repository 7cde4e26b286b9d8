/** Breaks INV-3: the nonce store checks, yields, then sets — concurrent copies of one request all pass the check. Caught by ConcurrentDuplicates. */
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Clock } from '../../reference-impl/clock.ts';
import type { ClaimResult, ClaimStore } from '../../reference-impl/stores/claim-store.ts';
import { ClaimTable } from '../../reference-impl/stores/claim-table.ts';
import type { InProcessEnvironment } from '../in-process-target.ts';
import type { Mutant } from './mutant.ts';
import { nonceStoreFault } from './support.ts';

class CheckThenSetStore implements ClaimStore {
  constructor(
    private readonly table: ClaimTable,
    private readonly env: InProcessEnvironment,
    private readonly clock: Clock,
  ) {}

  async claim(key: string, expiresAtMs: number): Promise<ClaimResult> {
    // Injected faults come from the environment's store, as they would for the reference (an
    // unconfirmed write lands all the same).
    const fault = nonceStoreFault(this.env);
    if (fault === 'unconfirmed') this.table.record(key, expiresAtMs, this.clock.nowMs());
    if (fault !== 'healthy') return this.env.nonces.claim(key, expiresAtMs);
    if (this.table.isLive(key, this.clock.nowMs())) return 'duplicate';
    // The bug: another claim of the same key can run here, between the check and the set.
    await new Promise(setImmediate);
    this.table.record(key, expiresAtMs, this.clock.nowMs());
    return 'claimed';
  }

  async close(): Promise<void> {}
}

// One table per environment, so that it survives a crash-restart as a durable store would.
const tables = new WeakMap<InProcessEnvironment, ClaimTable>();

export const nonceCheckThenSetRace: Mutant = {
  id: 'nonce-check-then-set-race',
  breaks: 'the nonce claim is check-then-set, not atomic',
  expected: ['INV-3'],
  target: referenceTarget('mutant:nonce-check-then-set-race', {
    nonces: (env) => {
      const table = tables.get(env) ?? new ClaimTable();
      tables.set(env, table);
      return new CheckThenSetStore(table, env, env.clock);
    },
  }),
};
