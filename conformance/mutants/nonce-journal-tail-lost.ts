/**
 * Breaks INV-3: the Gate's nonce journal is written behind: a claim is answered at once and reaches
 * the durable journal only with the next batch of four. A crash loses the unflushed tail — the
 * last claims — so their replays execute after the restart. Caught by ReplayAfterClockJump with a
 * restart (the claim just made is replayed across it) and by CrashRestartThenReplay when it picks
 * a recent request. A store replacement: in-process only.
 */
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { ClaimResult, ClaimStore } from '../../reference-impl/stores/claim-store.ts';
import { ClaimTable } from '../../reference-impl/stores/claim-table.ts';
import type { InProcessEnvironment } from '../in-process-target.ts';
import type { Mutant } from './mutant.ts';
import { nonceStoreFault } from './support.ts';

const BATCH = 4;

interface JournalLine {
  key: string;
  expiresAtMs: number;
}

class WriteBehindNonceJournal implements ClaimStore {
  private readonly table = new ClaimTable();
  private readonly tail: JournalLine[] = [];

  /** `journal` lives on the target's disk: it survives a crash, the tail and the table do not. */
  constructor(
    private readonly journal: JournalLine[],
    private readonly env: InProcessEnvironment,
  ) {
    const nowMs = env.clock.nowMs();
    for (const line of journal) this.table.record(line.key, line.expiresAtMs, nowMs);
  }

  async claim(key: string, expiresAtMs: number): Promise<ClaimResult> {
    // Injected faults still come from the environment's store, so only durability differs.
    const fault = nonceStoreFault(this.env);
    if (fault !== 'healthy') {
      if (fault === 'unconfirmed') this.table.record(key, expiresAtMs, this.env.clock.nowMs());
      return this.env.nonces.claim(key, expiresAtMs);
    }
    const nowMs = this.env.clock.nowMs();
    if (this.table.isLive(key, nowMs)) return 'duplicate';
    this.table.record(key, expiresAtMs, nowMs);
    this.tail.push({ key, expiresAtMs });
    if (this.tail.length >= BATCH) this.journal.push(...this.tail.splice(0));
    return 'claimed';
  }

  async close(): Promise<void> {}
}

export const nonceJournalTailLost: Mutant = {
  id: 'nonce-journal-tail-lost',
  breaks: 'nonce claims are journalled in batches of 4 after they are answered: a crash loses the last ones',
  expected: ['INV-3'],
  target: referenceTarget('mutant:nonce-journal-tail-lost', {
    nonces: (env) => {
      const journal = (env.disk.get('nonce-journal') as JournalLine[] | undefined) ?? [];
      env.disk.set('nonce-journal', journal);
      return new WriteBehindNonceJournal(journal, env);
    },
  }),
};
