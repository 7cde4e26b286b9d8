/**
 * Child process of the crash test (file-journal-claim-store.test.ts): claims keys in a journal
 * and prints "claimed <key>" only after each claim was acknowledged, until it is SIGKILLed.
 * Usage: node --import tsx crash-fixture.ts <journal path>
 */
import { FileJournalClaimStore } from './file-journal-claim-store.ts';

const journalPath = process.argv[2];
if (journalPath === undefined) throw new Error('usage: crash-fixture.ts <journal path>');

const store = await FileJournalClaimStore.open(journalPath);
process.stdout.write('ready\n');
// Bounded: the test kills us long before this ends.
for (let i = 0; i < 1_000_000; i++) {
  const key = `key-${i}`;
  if ((await store.claim(key, Date.now() + 3_600_000)) === 'claimed') process.stdout.write(`claimed ${key}\n`);
}
await store.close();
